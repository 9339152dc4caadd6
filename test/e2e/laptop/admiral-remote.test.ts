import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pty from 'node-pty';
import { admiral, cliArgv, makeLaptop, shipFingerprint, type Laptop } from '../../helpers/admiral.js';
import { startShip } from '../../helpers/ship.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * The admiral's own CLI against a real ship on loopback, from a temp HOME with the real OpenSSH client:
 * `remote add` pins the host key, `-s <ship>` runs ship commands there with their exit codes, a changed host key
 * is refused.
 */
let s: SshShip;
let laptop: Laptop;
let fp: string;
let target: string;

before(async () => {
  s = await startSshShip();
  laptop = makeLaptop(s.admiral);
  fp = shipFingerprint(s.ship.dataDir);
  target = `admiral@shipalias:${s.port}`;
});

after(async () => {
  await s?.ship.stop();
});

/** Types into the CLI on a real terminal (node-pty) and returns what it showed and its exit code. */
function onTerminal(args: readonly string[], answer: string): Promise<{ code: number; screen: string }> {
  const [file, argv] = cliArgv(args);
  const term = pty.spawn(file, argv, { cwd: laptop.home, env: laptop.env as Record<string, string>, cols: 200, rows: 40 });
  let screen = '';
  let answered = false;
  term.onData((d) => {
    screen += d;
    if (!answered && /\(yes\/no\)/.test(screen)) {
      answered = true;
      term.write(`${answer}\r`);
    }
  });
  return new Promise((resolve) => term.onExit(({ exitCode }) => resolve({ code: exitCode, screen })));
}

describe('starphleet remote', () => {
  it('without a terminal and without --fingerprint shows the key and adds nothing', async () => {
    const r = await admiral(laptop, ['remote', 'add', 'prod', target]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`ssh-ed25519 ${fp.replace(/[+/]/g, '\\$&')}`));
    assert.match(r.stderr, /no terminal to confirm it on: pass --fingerprint/);
    assert.match(r.stderr, /remote prod not added/);
    assert.equal(existsSync(join(laptop.configDir, 'remotes')), false);
    assert.equal(existsSync(join(laptop.configDir, 'known_hosts')), false);
  });

  it('refuses a fingerprint that is not the ship\'s, and a malformed one', async () => {
    const other = `SHA256:${'A'.repeat(43)}`;
    const r = await admiral(laptop, ['remote', 'add', 'prod', target, '--fingerprint', other]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`refused: admiral@shipalias:${s.port} presented host key ssh-ed25519 .*not the expected ${other}`));
    const bad = await admiral(laptop, ['remote', 'add', 'prod', target, '--fingerprint', 'md5:aa:bb']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /fingerprint "md5:aa:bb": expected SHA256:/);
    const user = await admiral(laptop, ['remote', 'add', 'prod', `git@shipalias:${s.port}`, '--fingerprint', fp]);
    assert.equal(user.code, 1);
    assert.match(user.stderr, /the user must be admiral/);
    assert.equal(existsSync(join(laptop.configDir, 'remotes')), false);
  });

  it('pins the key given with --fingerprint (through ~/.ssh/config: shipalias is a Host entry there)', async () => {
    const r = await admiral(laptop, ['remote', 'add', 'prod', target, '--fingerprint', fp]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`added remote prod: admiral@shipalias:${s.port}, host key ssh-ed25519 .* pinned`));
    assert.equal(r.stderr, '', 'the first login with the pinned key works, so no warning');
    const remotes = readFileSync(join(laptop.configDir, 'remotes'), 'utf8');
    assert.match(remotes, new RegExp(`^prod admiral@shipalias:${s.port} ${fp.replace(/[+/]/g, '\\$&')}$`, 'm'));
    const pinned = readFileSync(join(laptop.configDir, 'known_hosts'), 'utf8');
    const hostPub = readFileSync(join(s.ship.dataDir, 'host_keys', 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    assert.equal(pinned, `starphleet-remote.prod ${hostPub}\n`);
    for (const f of ['remotes', 'known_hosts']) assert.equal(statSync(join(laptop.configDir, f)).mode & 0o777, 0o600, f);
    assert.equal(existsSync(join(laptop.home, '.ssh', 'known_hosts')), false, "the user's own known_hosts is not touched");

    const again = await admiral(laptop, ['remote', 'add', 'prod', target, '--fingerprint', fp]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /remote prod already exists/);

    const list = await admiral(laptop, ['remote', 'list']);
    assert.equal(list.code, 0);
    assert.match(list.stdout, new RegExp(`^prod  admiral@shipalias:${s.port}  ${fp.replace(/[+/]/g, '\\$&')}$`, 'm'));
  });

  it('asks on a terminal: yes pins the key, no adds nothing', async () => {
    const no = await onTerminal(['remote', 'add', 'tty-no', `admiral@127.0.0.1:${s.port}`], 'no');
    assert.equal(no.code, 1, no.screen);
    assert.match(no.screen, /presents the host key/);
    assert.match(no.screen, /not confirmed: remote tty-no not added/);
    const yes = await onTerminal(['remote', 'add', 'tty', `admiral@127.0.0.1:${s.port}`], 'yes');
    assert.equal(yes.code, 0, yes.screen);
    assert.ok(yes.screen.includes(fp), yes.screen);
    const names = await admiral(laptop, ['remote', 'list', '--names']);
    assert.equal(names.stdout, 'prod\ntty\n');
    const gone = await admiral(laptop, ['remote', 'remove', 'tty']);
    assert.equal(gone.code, 0, gone.stderr);
    assert.equal((await admiral(laptop, ['remote', 'list', '--names'])).stdout, 'prod\n');
    assert.doesNotMatch(readFileSync(join(laptop.configDir, 'known_hosts'), 'utf8'), /starphleet-remote\.tty /);
    const unknown = await admiral(laptop, ['remote', 'remove', 'tty']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no remote named "tty" \(known: prod\)/);
  });

  it('a broken remotes file is an error naming file:line, not a silent skip', async () => {
    const home = makeLaptop(s.admiral);
    const file = join(home.configDir, 'remotes');
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(home.configDir, { recursive: true });
    writeFileSync(file, '# ok\nprod admiral@h:99999 SHA256:x\n');
    const r = await admiral(home, ['-s', 'prod', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:2: `));
  });
});

describe('starphleet -s <ship> <command>', () => {
  /** What the same command gives over plain ssh: -s must give exactly this. */
  async function direct(args: string[]): Promise<{ code: number | null; stdout: string }> {
    const r = await s.ssh(['starphleet', ...args]);
    return { code: r.code, stdout: r.stdout.toString('utf8') };
  }

  it('runs status on the ship, with its output and exit code', async () => {
    const r = await admiral(laptop, ['-s', 'prod', 'status']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ship testship/);
    // The same report, but for the HQ check's moment (a pulse may check HQ between the two calls).
    const moment = (t: string): string => t.replace(/last contact \S+ \(\d+ (s|min|h) ago\)/, 'last contact <t>');
    assert.equal(moment(r.stdout), moment((await direct(['status'])).stdout));
    const json = await admiral(laptop, ['status', '--json', '-s', 'prod']);
    assert.equal(json.code, 0, json.stderr);
    assert.equal((JSON.parse(json.stdout) as { ship: { name: string } }).ship.name, 'testship');
  });

  it('runs logs and releases there and returns their exit codes', async () => {
    for (const args of [['logs', 'nosuch'], ['logs'], ['releases', 'nosuch']]) {
      const r = await admiral(laptop, ['-s', 'prod', ...args]);
      const d = await direct(args);
      assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.notEqual(r.code, 255, `${args.join(' ')} reached the ship: ${r.stderr}`);
      assert.equal(r.code, d.code, `${args.join(' ')}: same exit code as over plain ssh`);
      assert.equal(r.stdout, d.stdout);
      assert.ok(r.stderr.trim().length > 0, `${args.join(' ')} says why on stderr`);
    }
    // What the ship answers today (releases came with another issue): the code and message come back as they are.
    const rel = await admiral(laptop, ['-s', 'prod', 'releases', 'nosuch']);
    assert.equal(rel.code, 1);
    assert.match(rel.stderr, /releases: no service named nosuch/);
    const usage = await admiral(laptop, ['-s', 'prod', 'logs']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: starphleet logs <service>/);
  });

  it('STARPHLEET_TARGET picks the ship too', async () => {
    const r = await admiral(laptop, ['status'], { env: { STARPHLEET_TARGET: 'prod' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ship testship/);
  });

  it('passes arguments as they are: nothing in them is run by the ship\'s shell', async () => {
    const marker = join(tmpDir('sp-admiral-marker-'), 'ran');
    const r = await admiral(laptop, ['-s', 'prod', 'logs', `$(touch ${marker})`, "it's; touch " + marker]);
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.includes(`$(touch ${marker})`) || r.stderr.includes('usage'), r.stderr);
    assert.equal(existsSync(marker), false, 'the argument reached the command as text');
  });

  it('names the known ships for an unknown one', async () => {
    const r = await admiral(laptop, ['-s', 'nosuch', 'status']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no remote named "nosuch" \(known: prod\); add it with: starphleet remote add nosuch admiral@<host>\[:port\]/);
  });

  it('with no -s and no ship here, says how to pick one', async () => {
    const r = await admiral(laptop, ['status', '--data', join(laptop.home, 'no-ship-here')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no ship is running with data dir/);
    assert.match(r.stderr, /pick one: starphleet -s <ship> status \(or export STARPHLEET_TARGET=<ship>\); known: prod/);
  });

  it('refuses a ship whose host key changed, with a clear message, and runs nothing', async () => {
    await s.ship.stop();
    rmSync(join(s.ship.dataDir, 'host_keys'), { recursive: true, force: true });
    const again = await startShip({ headquarters: s.hq, dataDir: s.ship.dataDir, sshPort: s.port });
    s = { ...s, ship: again };
    await again.waitForLog(/ssh listening on/);
    await again.waitForLog(/\d+ admirals/);
    const newFp = shipFingerprint(again.dataDir);
    assert.notEqual(newFp, fp);
    const statusRuns = async (): Promise<number> => {
      const a = await s.ssh(['starphleet', 'audit', '-n', '10000', '--json']);
      assert.equal(a.code, 0, a.stderr);
      return (a.stdout.toString().match(/"starphleet status"/g) ?? []).length;
    };
    const before = await statusRuns();
    assert.ok(before > 0, 'the runs of the tests above are in the audit');
    const r = await admiral(laptop, ['-s', 'prod', 'status']);
    assert.equal(r.code, 255);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /refused: the host key of ship prod \(admiral@shipalias:\d+\) has changed/);
    assert.ok(r.stderr.includes(`Pinned: ${fp}; the ship sent: ${newFp}`), r.stderr);
    assert.ok(r.stderr.includes(`starphleet remote remove prod && starphleet remote add prod admiral@shipalias:${s.port} --fingerprint ${newFp}`), r.stderr);
    await waitFor(async () => (await s.ssh(['true'])).code === 0, 'ssh still works with the new key');
    assert.equal(await statusRuns(), before, 'the refused connection ran no command');

    const add = await admiral(laptop, ['remote', 'add', 'prod2', target, '--fingerprint', fp]);
    assert.equal(add.code, 1, 'adding with the old fingerprint is refused too');
    assert.match(add.stderr, /refused/);
  });
});
