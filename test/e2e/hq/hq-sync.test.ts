import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { makeKey } from '../../helpers/keys.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { startSshd } from '../../helpers/sshd.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

const ships: ShipProcess[] = [];
after(async () => {
  for (const s of ships) await s.stop();
});

async function ship(headquarters: string, args: string[] = []): Promise<ShipProcess> {
  const s = await startShip({ headquarters, dataDir: join(tmpDir('sp-data-'), 'data'), args });
  ships.push(s);
  return s;
}

function cli(dataDir: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...CLI_ARGS, ...args, '--data', dataDir], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const short = (sha: string): string => sha.slice(0, 7);

test('hq sync: adding, changing and removing orders is seen at the next pulse', async () => {
  const hq = tmpDir('sp-hq-');
  const first = initRepo(hq, { 'echo/orders': 'autodeploy /srv/echo\n' });
  const s = await ship(hq);
  await s.waitForLog(new RegExp(`hq none -> ${short(first)}: added echo;`));
  const second = commit(hq, { 'web/orders': 'autodeploy /srv/web\n' });
  await s.waitForLog(new RegExp(`hq ${short(first)} -> ${short(second)}: added web;`));
  const third = commit(hq, { 'echo/orders': 'autodeploy /srv/echo#v2\n' });
  await s.waitForLog(new RegExp(`-> ${short(third)}: changed echo \\(orders changed\\);`));
  const fourth = commit(hq, { 'web/orders': null });
  await s.waitForLog(new RegExp(`-> ${short(fourth)}: removed web;`));
  const status = JSON.parse(cli(s.dataDir, 'status', '--json').stdout) as { ship: { name: string; headquarters: { url: string; sha: string } } };
  assert.equal(status.ship.name, 'testship');
  assert.equal(status.ship.headquarters.sha, fourth);
  assert.equal(status.ship.headquarters.url, hq);
});

test('hq sync: a broken orders file keeps its last good orders while the others follow the commit', async () => {
  const hq = tmpDir('sp-hq-');
  const first = initRepo(hq, { 'a/orders': 'autodeploy /srv/a\n', 'b/orders': 'autodeploy /srv/b\n' });
  const s = await ship(hq);
  await s.waitForLog(new RegExp(`-> ${short(first)}: added a, b;`));
  const second = commit(hq, { 'a/orders': 'autodeploy /srv/a\nthis_is_not_a_verb\n', 'b/orders': 'autodeploy /srv/b2\n' });
  const m = await s.waitForLog(new RegExp(`-> ${short(second)}: ([^\\n]*)`));
  assert.equal(m[1]?.startsWith('changed b (orders changed);'), true, m[0]);
  await s.waitForLog(/hq problem a\/orders:2: unknown verb 'this_is_not_a_verb'/);
  const status = JSON.parse(cli(s.dataDir, 'status', '--json').stdout) as { problems: string[] };
  assert.deepEqual(status.problems, ["a/orders:2: unknown verb 'this_is_not_a_verb'"]);
});

test('hq sync: survives a remote that disappears and a force-push that rewrites history', async () => {
  const work = tmpDir('sp-work-');
  const bare = join(tmpDir('sp-bare-'), 'hq.git');
  const first = initRepo(work, { 'a/orders': 'autodeploy /srv/a\n' });
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  const s = await ship(`file://${bare}`);
  await s.waitForLog(new RegExp(`-> ${short(first)}: added a;`));
  renameSync(bare, `${bare}.gone`);
  await s.waitForLog(new RegExp(`hq sync failed \\(keeping ${short(first)}\\)`));
  assert.equal(cli(s.dataDir, 'status').code, 0, 'the ship still answers while HQ is gone');
  renameSync(`${bare}.gone`, bare);
  await s.waitForLog(/hq sync works again/);
  // Rewrite history: amend the only commit and force-push it.
  gitIn(work, 'commit', '-q', '--amend', '-m', 'rewritten');
  gitIn(work, 'remote', 'add', 'origin', bare);
  // The ship writes ships/<name> back into this HQ: its push may hold the ref's lock a moment (seen in a CI run).
  for (let attempt = 1; ; attempt++) {
    try {
      gitIn(work, 'push', '-q', '--force', 'origin', 'master');
      break;
    } catch (e) {
      if (attempt >= 20 || !/cannot lock ref|failed to update ref/.test(String(e))) throw e;
      await sleep(250);
    }
  }
  const rewritten = gitIn(work, 'rev-parse', 'HEAD');
  assert.notEqual(rewritten, first);
  await s.waitForLog(new RegExp(`hq ${short(first)} -> ${short(rewritten)}: no service changes`));
});

test('hq sync: a corrupt local clone is cloned again', async () => {
  const hq = tmpDir('sp-hq-');
  const first = initRepo(hq, { 'a/orders': 'autodeploy /srv/a\n' });
  const s = await ship(hq);
  await s.waitForLog(new RegExp(`-> ${short(first)}: added a;`));
  rmSync(join(s.dataDir, 'hq', '.git', 'objects'), { recursive: true, force: true });
  rmSync(join(s.dataDir, 'hq', '.git', 'HEAD'), { force: true });
  const second = commit(hq, { 'b/orders': 'autodeploy /srv/b\n' });
  await s.waitForLog(/hq clone was unusable: cloned again/);
  await s.waitForLog(new RegExp(`-> ${short(second)}: added b;`));
  assert.ok(existsSync(join(s.dataDir, 'hq', 'b', 'orders')));
});

test('hq sync: url#branch follows that branch only', async () => {
  const hq = tmpDir('sp-hq-');
  initRepo(hq, { 'a/orders': 'autodeploy /srv/a\n' });
  gitIn(hq, 'checkout', '-q', '-b', 'prod');
  const prod = commit(hq, { 'p/orders': 'autodeploy /srv/p\n' });
  gitIn(hq, 'checkout', '-q', 'master');
  const s = await ship(`${hq}#prod`);
  await s.waitForLog(new RegExp(`-> ${short(prod)}: added a, p;`));
  commit(hq, { 'm/orders': 'autodeploy /srv/m\n' });
  gitIn(hq, 'checkout', '-q', 'prod');
  const prod2 = commit(hq, { 'q/orders': 'autodeploy /srv/q\n' });
  const m = await s.waitForLog(new RegExp(`-> ${short(prod2)}: ([^;]*);`));
  assert.equal(m[1], 'added q');
});

test('ship: one ship per data dir, clean stop on SIGTERM', async () => {
  const hq = tmpDir('sp-hq-');
  initRepo(hq, { 'a/orders': 'autodeploy /srv/a\n' });
  const s = await ship(hq);
  await s.waitForLog(/added a;/);
  const second = spawnSync(process.execPath, [...CLI_ARGS, 'ship', '--headquarters', hq, '--data', s.dataDir, '--ssh-port', '0', '--http-port', '0'], { encoding: 'utf8' });
  assert.equal(second.status, 1);
  assert.match(second.stderr, /another ship \(pid \d+\) is running with data dir/);
  assert.equal(await s.stop(), 0);
  assert.match(s.output(), /ship stopped/);
  await waitFor(() => !existsSync(join(s.dataDir, 'ship.pid')), 'pid file removed');
});

test('ship: bad flags are clear errors', () => {
  const r = spawnSync(process.execPath, [...CLI_ARGS, 'ship', '--headquarters', '/x', '--pulse', 'soon'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--pulse must be a positive number of seconds, got "soon"/);
  const none = spawnSync(process.execPath, [...CLI_ARGS, 'ship'], { encoding: 'utf8', env: { ...process.env, STARPHLEET_HEADQUARTERS: '' } });
  assert.equal(none.status, 2);
  assert.match(none.stderr, /no headquarters/);
});

test('hq sync: an ssh:// HQ is cloned with --private-key (real OpenSSH sshd)', async (t) => {
  const keys = tmpDir('sp-k-');
  const key = makeKey(keys, 'hqreader');
  const sshd = await startSshd([key.pub]);
  t.after(() => sshd.stop());
  const work = tmpDir('sp-work-');
  const bare = join(tmpDir('sp-bare-'), 'hq.git');
  const first = initRepo(work, { 'a/orders': 'autodeploy /srv/a\n' });
  execFileSync('git', ['clone', '-q', '--bare', work, bare]);
  const s = await ship(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${bare}`, ['--private-key', key.privatePath]);
  await s.waitForLog(new RegExp(`-> ${short(first)}: added a;`));
  gitIn(work, 'remote', 'add', 'origin', bare);
  const second = commit(work, { 'b/orders': 'autodeploy /srv/b\n' });
  gitIn(work, 'push', '-q', 'origin', 'master');
  await s.waitForLog(new RegExp(`-> ${short(second)}: added b;`));
});

test('hq sync: without the key an ssh:// HQ fails cleanly and is retried', async (t) => {
  const key = makeKey(tmpDir('sp-k-'), 'other');
  const sshd = await startSshd([key.pub]);
  t.after(() => sshd.stop());
  const bare = join(tmpDir('sp-bare-'), 'hq.git');
  execFileSync('git', ['init', '-q', '--bare', bare]);
  const wrong = makeKey(tmpDir('sp-k-'), 'wrong');
  const s = await ship(`ssh://${sshd.user}@127.0.0.1:${sshd.port}${bare}`, ['--private-key', wrong.privatePath]);
  await s.waitForLog(/hq sync failed \(keeping none\): git clone failed: .*Permission denied/);
  assert.equal(cli(s.dataDir, 'status').code, 0);
});
