import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sandboxEtc } from '../../../src/agent/sandbox/etc-files.js';
import { etcMounts, hiddenPlaceholders, systemMounts } from '../../../src/agent/sandbox/mounts.js';
import { tmpDir } from '../../helpers/tmp.js';

const OWN = ['resolv.conf', 'hosts', 'passwd', 'group', 'hostname'];

/** A host /etc of a few entries: plain files and folders, hidden and not. */
function fakeEtc(): string {
  const etc = join(tmpDir(), 'etc');
  mkdirSync(join(etc, 'ssh'), { recursive: true });
  mkdirSync(join(etc, 'apt'));
  mkdirSync(join(etc, 'sudoers.d'));
  for (const n of [...OWN, 'shadow', 'gshadow', 'starphleet.env', 'os-release', 'motd']) writeFileSync(join(etc, n), `${n} of the host\n`);
  symlinkSync('/usr/share/zoneinfo/UTC', join(etc, 'localtime'));
  return etc;
}

/** The pairs `--flag src dest` of bwrap arguments, as `flag src dest` strings. */
function triples(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; ) {
    if (args[i] === '--dir') {
      out.push(`--dir ${args[i + 1]}`);
      i += 2;
    } else {
      out.push(`${args[i]} ${args[i + 1]} ${args[i + 2]}`);
      i += 3;
    }
  }
  return out;
}

describe("a sandbox's /etc", () => {
  test('one bind of the whole /etc, an unreadable placeholder over each hidden entry, none over the own copies', () => {
    const etc = fakeEtc();
    const ph = hiddenPlaceholders(join(tmpDir(), 'sandbox'));
    const args = triples(etcMounts(OWN, ph, etc));
    assert.deepEqual(args, [
      `--ro-bind ${etc} /etc`,
      `--ro-bind ${ph.file} /etc/gshadow`,
      `--ro-bind ${ph.file} /etc/shadow`,
      `--ro-bind ${ph.dir} /etc/ssh`,
      `--ro-bind ${ph.file} /etc/starphleet.env`,
      `--ro-bind ${ph.dir} /etc/sudoers.d`,
    ]);
    assert.equal(statSync(ph.file).mode & 0o7777, 0);
    assert.equal(statSync(ph.dir).mode & 0o7777, 0);
  });

  test('entry by entry, the hidden ones left out, when an own copy has nothing to cover or a hidden entry is a link', () => {
    const missing = fakeEtc();
    spawnSync('rm', [join(missing, 'hostname')]);
    const linked = fakeEtc();
    symlinkSync('/etc/passwd', join(linked, 'shadow-'));
    const ph = hiddenPlaceholders(join(tmpDir(), 'sandbox'));
    for (const etc of [missing, linked]) {
      const args = triples(etcMounts(OWN, ph, etc));
      assert.equal(args[0], '--dir /etc');
      assert.ok(args.includes(`--ro-bind ${join(etc, 'apt')} /etc/apt`), args.join('\n'));
      assert.ok(args.includes(`--ro-bind ${join(etc, 'motd')} /etc/motd`));
      assert.ok(args.includes('--symlink /usr/share/zoneinfo/UTC /etc/localtime'));
      for (const hidden of ['shadow', 'shadow-', 'gshadow', 'ssh', 'sudoers.d', 'starphleet.env', ...OWN]) {
        assert.ok(!args.some((a) => a.endsWith(` /etc/${hidden}`)), `${hidden} is in: ${args.join('\n')}`);
      }
    }
  });

  test('a placeholder someone changed (content, mode, a folder for the file) is made again', () => {
    const dir = join(tmpDir(), 'sandbox');
    const ph = hiddenPlaceholders(dir);
    chmodSync(ph.file, 0o644);
    writeFileSync(ph.file, 'not empty');
    chmodSync(ph.dir, 0o755);
    mkdirSync(join(ph.dir, 'inside'));
    const again = hiddenPlaceholders(dir);
    assert.equal(statSync(again.file).size, 0);
    assert.equal(statSync(again.file).mode & 0o7777, 0);
    assert.equal(statSync(again.dir).mode & 0o7777, 0);
    assert.equal(existsSync(join(again.dir, 'inside')), false);
  });

  test("in a real sandbox of this host: /etc/shadow and the host's ssh folder unreadable, /etc read-only, the own copies shown", () => {
    const run = tmpDir();
    const ph = hiddenPlaceholders(join(run, 'sandbox'));
    const own = sandboxEtc({ kind: 'none' }, { name: 'app', uid: 65534, gid: 65534 }, 'svc-host');
    const binds: string[] = [];
    for (const [name, content] of Object.entries(own)) {
      writeFileSync(join(run, `etc-${name}`), content, { mode: 0o644 });
      binds.push('--ro-bind', join(run, `etc-${name}`), `/etc/${name}`);
    }
    const drop = process.getuid?.() === 0 ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'] : [];
    const script = [
      'for f in /etc/shadow /etc/gshadow; do if [ -e $f ]; then cat $f >/dev/null 2>&1 && echo "READ $f" || echo "denied $f"; fi; done',
      'if [ -d /etc/ssh ]; then ls /etc/ssh >/dev/null 2>&1 && echo "LISTED ssh" || echo "denied ssh"; fi',
      'echo x > /etc/motd 2>/dev/null && echo WROTE || echo "read-only"',
      "cat /etc/hostname; grep -c . /etc/passwd; grep -m1 '^ID=' /etc/os-release",
    ].join('\n');
    const argv = [...drop, 'bwrap', '--unshare-all', '--cap-drop', 'ALL', '--as-pid-1', '--hostname', 'svc-host', ...systemMounts(etcMounts(Object.keys(own), ph)), ...binds, '--', 'bash', '-c', script];
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = r.stdout;
    assert.doesNotMatch(out, /READ|LISTED|WROTE/, out);
    if (existsSync('/etc/shadow')) assert.match(out, /^denied \/etc\/shadow$/m);
    assert.match(out, /^read-only$/m);
    assert.match(out, /^svc-host\n3\n/m, 'the own hostname and passwd (root, app, nobody)');
    const id = /^ID=.*$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[0] ?? 'no ID line';
    assert.match(out, new RegExp(`^${id}$`, 'm'), 'the rest of the host\'s /etc is there');
  });
});
