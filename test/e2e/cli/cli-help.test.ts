import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { INTERNAL_COMMANDS, SHIP_COMMANDS } from '../../../src/commands/command-list.js';
import { commandHelp, wantsHelp } from '../../../src/commands/help.js';
import { initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The CLI (CLI_ARGS are absolute, so it also runs from a directory outside the repository), as a user runs it: no ship running, a data dir with no control socket. */
function cli(args: readonly string[], cwd = ROOT): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...CLI_ARGS, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, STARPHLEET_DATA: join(tmpDir('sp-clihelp-'), 'no-ship') },
    timeout: 300_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every subcommand a user can type (the ship's commands, the local ones), as --help lists them. */
const LOCAL = ['ship', 'hq check', 'version', 'install', 'uninstall', 'stop'];

describe('the CLI helps', { timeout: 900_000 }, () => {
  test('--version and -V print the version and the commit of the checkout', () => {
    const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
    for (const flag of ['--version', '-V']) {
      const r = cli([flag]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out.trim(), `starphleet 0.1.0 (commit ${head})`);
    }
  });

  test('--help lists every command; each command (and subcommand) answers --help with usage and an example, without a ship', () => {
    const top = cli(['--help']);
    assert.equal(top.code, 0, top.err);
    for (const c of [...SHIP_COMMANDS.map((s) => s.name), ...LOCAL]) assert.match(top.out, new RegExp(`^  ${c.split(' ')[0]}\\b`, 'm'), `${c} in --help`);
    for (const hidden of INTERNAL_COMMANDS) assert.doesNotMatch(top.out, new RegExp(`^  ${hidden.name}\\b`, 'm'));
    assert.match(top.out, /examples:/);
    // Every command --help lists, and the subcommands of groups (hq check, ...): all of them, whoever added them.
    const listed = (help: string): string[] => {
      const section = help.split(/^Commands:\n/m)[1]?.split(/\n\n/)[0] ?? '';
      return section.split('\n').map((l) => /^ {2}([a-z][a-z-]*)/.exec(l)?.[1]).filter((n): n is string => n !== undefined && n !== 'help');
    };
    const all: string[] = [];
    for (const name of listed(top.out)) {
      const sub = listed(cli([name, '--help']).out);
      all.push(...(sub.length > 0 ? sub.map((x) => `${name} ${x}`) : [name]));
    }
    for (const c of [...SHIP_COMMANDS.map((s) => s.name), ...LOCAL]) assert.ok(all.includes(c), `${c} among ${all.join(', ')}`);
    for (const c of all) {
      for (const flag of c === 'logs' || c === 'ship' ? ['--help', '-h'] : ['--help']) {
        const r = cli([...c.split(' '), flag]);
        assert.equal(r.code, 0, `${c} ${flag}: ${r.err}`);
        assert.match(r.out, new RegExp(`^usage: starphleet ${c}`, 'im'), `${c} ${flag}:\n${r.out}`);
        assert.match(r.out, /^examples:\n {2}\S/m, `${c} ${flag}:\n${r.out}`);
        assert.equal(r.err, '', `${c} ${flag}`);
      }
    }
  });

  test('a ship command with --help after other arguments still shows help, and runs nothing', () => {
    const r = cli(['logs', 'hello', '-f', '--help']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^usage: starphleet logs <service> \[-f\] \[-n LINES\]/);
  });

  test('every ship command, internal ones too, carries an example; help text is built from its fields', () => {
    for (const c of [...SHIP_COMMANDS, ...INTERNAL_COMMANDS]) {
      assert.ok(c.examples.length > 0, c.name);
      const h = commandHelp(c);
      assert.ok(h.startsWith(`usage: starphleet ${c.name}`), h);
      assert.ok(h.includes(c.summary));
    }
    assert.equal(wantsHelp(['x', '-h']), true);
    assert.equal(wantsHelp(['--', '-h']), false);
    assert.equal(wantsHelp(['--helpful']), false);
  });

  test('hq check with no argument checks the current directory', () => {
    const hq = join(tmpDir('sp-clihelp-'), 'hq');
    initRepo(hq, { 'web/orders': 'autodeploy https://example.com/web.git\n' });
    const ok = cli(['hq', 'check'], hq);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /^ {2}\/web -> https:\/\/example\.com\/web\.git$/m);
    const bad = join(tmpDir('sp-clihelp-'), 'bad');
    initRepo(bad, { orders: 'autodeploy\n' });
    const r = cli(['hq', 'check'], bad);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^orders:1: /m);
  });

  test('a ship command with no ship running says so and fails', () => {
    const r = cli(['status']);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /no-ship/);
  });
});
