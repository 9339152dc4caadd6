import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { remoteArgv } from '../../../src/admiral/register.js';
import { formatTarget, parseTarget, readRemotes } from '../../../src/admiral/remotes.js';
import { configDir } from '../../../src/admiral/config-dir.js';
import { admiral, makeLaptop } from '../../helpers/admiral.js';
import { makeKey } from '../../helpers/keys.js';
import { freePort } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('admiral targets and arguments', () => {
  it('parses admiral@host[:port], IPv6 in brackets, port 2222 by default', () => {
    assert.deepEqual(parseTarget('admiral@ship.example.com:2200'), { host: 'ship.example.com', port: 2200 });
    assert.deepEqual(parseTarget('ship'), { host: 'ship', port: 2222 });
    assert.deepEqual(parseTarget('admiral@[::1]:22'), { host: '::1', port: 22 });
    assert.equal(formatTarget({ host: '::1', port: 22 }), 'admiral@[::1]:22');
    for (const bad of ['git@ship', 'admiral@-oProxyCommand=x', 'admiral@ship:0', 'admiral@ship:99999', 'admiral@ship:22x', 'admiral@[nothex]:22', 'admiral@a b']) {
      assert.throws(() => parseTarget(bad), (e: Error) => e.message.startsWith(JSON.stringify(bad)), bad);
    }
  });

  it('sends the ship everything but -s (in any of its spellings) and keeps what follows --', () => {
    assert.deepEqual(remoteArgv(['-s', 'prod', 'logs', 'web', '-f']), ['logs', 'web', '-f']);
    assert.deepEqual(remoteArgv(['status', '--ship', 'prod', '--json']), ['status', '--json']);
    assert.deepEqual(remoteArgv(['--ship=prod', '-sprod', 'status']), ['status']);
    assert.deepEqual(remoteArgv(['-s', 'prod', 'run', 'web', '--', 'ls', '-s', 'x']), ['run', 'web', '--', 'ls', '-s', 'x']);
  });

  it('keeps its config in $XDG_CONFIG_HOME/starphleet, else ~/.config/starphleet (a relative XDG is ignored)', () => {
    assert.equal(configDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/h' }), '/x/cfg/starphleet');
    assert.equal(configDir({ XDG_CONFIG_HOME: 'rel', HOME: '/h' }), '/h/.config/starphleet');
    assert.equal(configDir({ HOME: '/h' }), '/h/.config/starphleet');
  });

  it('reads back what it writes and names file:line for a bad line', () => {
    const dir = tmpDir('sp-admiral-cfg-');
    writeFileSync(join(dir, 'remotes'), `# c\nprod admiral@h:22 SHA256:${'a'.repeat(43)}\nprod admiral@h:23 SHA256:${'b'.repeat(43)}\n`);
    assert.throws(() => readRemotes(dir), new RegExp(`${join(dir, 'remotes')}:3: remote prod given twice`));
  });
});

describe('starphleet remote add without a ship', () => {
  it('says why it got no host key, and adds nothing', async () => {
    const laptop = makeLaptop(makeKey(tmpDir('sp-admiral-noship-'), 'k'));
    const port = await freePort();
    const r = await admiral(laptop, ['remote', 'add', 'gone', `admiral@127.0.0.1:${port}`, '--fingerprint', `SHA256:${'A'.repeat(43)}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`could not get the host key of admiral@127\\.0\\.0\\.1:${port} \\(ssh exited 255\\):\\n.*Connection refused`));
    assert.equal((await admiral(laptop, ['remote', 'list', '--names'])).stdout, '');
  });
});

describe('starphleet completion', () => {
  const laptop = makeLaptop(makeKey(tmpDir('sp-admiral-comp-'), 'k'));

  const scripts = new Map<string, string>();

  /** Completes `line` (words; the last one is being typed) with the real shell and the generated script. */
  async function complete(shell: 'bash' | 'zsh', words: string[]): Promise<string[]> {
    let script = scripts.get(shell);
    if (script === undefined) {
      script = join(tmpDir('sp-admiral-comp-'), `starphleet.${shell}`);
      const gen = await admiral(laptop, ['completion', shell]);
      assert.equal(gen.code, 0, gen.stderr);
      writeFileSync(script, gen.stdout);
      scripts.set(shell, script);
    }
    // `starphleet remote list --names` inside the script: a stand-in on PATH that answers like the real one.
    const bin = tmpDir('sp-admiral-bin-');
    writeFileSync(join(bin, 'starphleet'), '#!/bin/sh\n[ "$*" = "remote list --names" ] && printf "prod\\nstaging\\n"\n', { mode: 0o755 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const all = ['starphleet', ...words];
    if (shell === 'bash') {
      const code = `source ${script}; COMP_WORDS=(${all.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${all.length - 1}; _starphleet; printf '%s\\n' "\${COMPREPLY[@]}"`;
      return execFileSync('bash', ['--norc', '--noprofile', '-c', code], { env, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
    }
    // zsh: the real function with compadd/_files recording what they would offer, as compsys would call it.
    const code = `compadd() { [[ $1 == -- ]] && shift; print -l -- "$@" }; _files() { print -- '<files>' }; source ${script}; words=(${all.map((w) => `'${w}'`).join(' ')}); CURRENT=${all.length}; _starphleet`;
    const cur = words[words.length - 1] ?? '';
    return execFileSync('zsh', ['-f', '-c', code], { env, encoding: 'utf8' }).split('\n').filter((w) => w !== '' && w.startsWith(cur)).sort();
  }

  for (const shell of ['bash', 'zsh'] as const) {
    it(`${shell}: commands, subcommands, remote names after -s and remote remove`, async () => {
      const top = await complete(shell, ['']);
      for (const c of ['status', 'logs', 'remote', 'push', 'hq', 'completion', 'ship', '-s']) assert.ok(top.includes(c), `${c} in ${top.join(' ')}`);
      const re = await complete(shell, ['re']);
      assert.ok(re.includes('redeploy') && re.includes('remote') && re.every((w) => w.startsWith('re')), re.join(' '));
      assert.deepEqual(await complete(shell, ['rem']), ['remote']);
      assert.deepEqual(await complete(shell, ['remote', '']).then((w) => w.filter((x) => !x.startsWith('-'))), ['add', 'list', 'remove']);
      assert.deepEqual(await complete(shell, ['-s', '']), ['prod', 'staging']);
      assert.deepEqual(await complete(shell, ['-s', 'prod', 'sta']), ['status']);
      assert.deepEqual(await complete(shell, ['remote', 'remove', 'st']), ['staging']);
      assert.deepEqual(await complete(shell, ['completion', '']).then((w) => w.filter((x) => !x.startsWith('-'))), ['bash', 'zsh']);
      assert.ok((await complete(shell, ['remote', 'add', 'x', 'y', '--f'])).includes('--fingerprint'));
    });
  }

  it('refuses another shell', async () => {
    const r = await admiral(laptop, ['completion', 'fish']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown shell "fish" \(bash or zsh\)/);
  });
});
