import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSameProcess } from '../../../src/agent/runtime/proc.js';
import { vethName } from '../../../src/agent/sandbox/net-names.js';
import { instanceAddress, sandboxRunDir } from '../../../src/agent/sandbox/sandbox.js';
import { openDb } from '../../../src/state/db.js';
import { listInstances, type InstanceRecord } from '../../../src/state/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey } from '../../helpers/keys.js';
import { cli, httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * A ship run as root, its services attacking what they may write: a service that fills its STARPHLEET_DISK gets
 * ENOSPC (in /var/data, /tmp and its build dir) while another service, the state db and SSH keep working; symlinks,
 * renames and fifos planted in what it writes get nothing through the root side; a built tree whose Procfile,
 * app.json or .env is a symlink to the ship's secrets is refused; and a kill -9 of the ship keeps its instances
 * reachable through the plane, the next ship adopts them and sweeps what a dead one left.
 */
const root = tmpDir('sp-disk-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const canary = join(root, 'canary');
const admiral = makeKey(root, 'admiral');
let ship: ShipProcess;
const DEPLOY_MS = 300_000;

type Write = { wrote: number; error: string | null };

function records(): InstanceRecord[] {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return listInstances(db);
  } finally {
    db.close();
  }
}

async function write(service: string, path: string, mb: number): Promise<Write> {
  const r = await httpGet(ship.httpPort, `/${service}/write?path=${encodeURIComponent(path)}&mb=${mb}`);
  assert.equal(r.status, 200, r.body);
  return JSON.parse(r.body) as Write;
}

async function row(name: string): Promise<{ state: string; message: string; release: string | null } | undefined> {
  return (await statusServices(dataDir)).find((s) => s.name === name);
}

/** A repo whose named file is a symlink to a secret of the ship, the rest a plain Procfile app. */
function linkedRepo(dir: string, linked: string, target: string): void {
  // index.html: a buildpack applies (static), so the build gets as far as the ship reading the linked file.
  initRepo(dir, { 'index.html': '<p>up</p>\n', 'server.js': "require('http').createServer((q, s) => s.end('up')).listen(process.env.PORT);\n", ...(linked === 'Procfile' ? {} : { Procfile: 'web: node server.js\n' }) });
  symlinkSync(target, join(dir, linked));
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', `${linked} -> ${target}`);
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'run as root, as CI does');
  mkdirSync(canary);
  writeFileSync(join(canary, 'keep.txt'), 'the host\'s own file\n');
  const hostile = join(root, 'hostile');
  fixtureRepo('hostile-app', hostile);
  const docs = join(root, 'docs');
  initRepo(docs, { 'greeting.txt': 'hello from a data order\n' });
  linkedRepo(join(root, 'procfile-link'), 'Procfile', '/etc/shadow');
  linkedRepo(join(root, 'appjson-link'), 'app.json', '/etc/shadow');
  linkedRepo(join(root, 'env-link'), '.env', '/etc/shadow');
  initRepo(hq, {
    'authorized_keys/admiral': `${admiral.pub}\n`,
    'small/orders': `autodeploy ${hostile}\nexport STARPHLEET_DISK=64M\nexport BUILD_SLEEP_MS=0\n`,
    'other/orders': `autodeploy ${hostile}\nexport BUILD_SLEEP_MS=0\n`,
    'fatbuild/orders': `autodeploy ${hostile}\nexport STARPHLEET_DISK=64M\nexport BUILD_SLEEP_MS=0\nexport BUILD_FILL_MB=100\n`,
    'procfile-link/orders': `autodeploy ${join(root, 'procfile-link')}\n`,
    'appjson-link/orders': `autodeploy ${join(root, 'appjson-link')}\n`,
    'env-link/orders': `autodeploy ${join(root, 'env-link')}\n`,
    'docs/remote': `autodeploy ${docs}\n`,
  });
  ship = await startShip({ headquarters: hq, dataDir });
  await waitFor(async () => (await row('small'))?.state === 'serving' && (await row('other'))?.state === 'serving', () => `small and other serving\n${ship.output().slice(-3000)}`, DEPLOY_MS, 500);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('STARPHLEET_DISK and what a service can write (a ship run as root)', () => {
  test('a service past its STARPHLEET_DISK gets ENOSPC in /var/data and /tmp; its volume on the host stays that small', async () => {
    const full = await write('small', '/var/data/fill', 200);
    assert.equal(full.error, 'ENOSPC', JSON.stringify(full));
    assert.ok(full.wrote >= 40 && full.wrote < 64, `wrote ${full.wrote} MiB of a 64M volume`);
    const tmp = await write('small', '/tmp/more', 10);
    assert.equal(tmp.error, 'ENOSPC', 'its /tmp is on the same volume');
    const img = statSync(join(dataDir, 'volumes', 'small.img'));
    assert.equal(img.size, 64 * 1024 * 1024);
    assert.ok(img.blocks * 512 <= 66 * 1024 * 1024, `the image uses ${img.blocks * 512} bytes of the host's disk`);
  });

  test('meanwhile another service writes, the state db records, SSH answers', async () => {
    assert.deepEqual(await write('other', '/var/data/big', 100), { wrote: 100, error: null });
    const r = await runSsh({ key: admiral.privatePath, port: ship.sshPort, args: ['starphleet', 'status'] });
    assert.equal(r.code, 0, String(r.stderr));
    assert.match(String(r.stdout), /small/);
    const audit = await cli(dataDir, 'audit', '-n', '5');
    assert.match(audit.stdout, /starphleet status/, 'the SSH command was recorded in the state db');
    assert.deepEqual(await write('small', '/var/data/still', 0), { wrote: 0, error: null }, 'the full service still answers');
  });

  test('a build that writes past STARPHLEET_DISK fails with ENOSPC in its own build dir', async () => {
    const r = await waitFor(async () => {
      const s = await row('fatbuild');
      return s?.state === 'failed' ? s : null;
    }, 'fatbuild to fail', DEPLOY_MS, 500);
    assert.match(r.message, /build failed/);
    const logs = readdirSync(join(dataDir, 'logs', 'fatbuild')).filter((n) => n.startsWith('build-'));
    assert.ok(logs.some((l) => /ENOSPC/.test(readFileSync(join(dataDir, 'logs', 'fatbuild', l), 'utf8'))), 'the build log says ENOSPC');
    assert.deepEqual(readdirSync(join(dataDir, 'volumes', 'fatbuild', 'build')), [], 'its build dir is gone after the build');
  });

  test('symlinks, renames and fifos planted in /var/data and /tmp get nothing through the root side', async () => {
    const planted = JSON.parse((await httpGet(ship.httpPort, `/small/plant?names=later,evil&target=${encodeURIComponent(canary)}`)).body) as Record<string, string>;
    assert.equal(planted['/var/data/later'], 'ok');
    assert.notEqual(planted['rename /var/data'], 'ok', 'its /var/data is a mount point it cannot move');
    assert.notEqual(planted['rename /tmp'], 'ok');
    // A data order named like the planted link: it lands in every other service's /var/data as a link into the
    // ship's read-only tree...
    commit(hq, { 'later/remote': `autodeploy ${join(root, 'docs')}\n` });
    await waitFor(async () => (await httpGet(ship.httpPort, '/other/read?path=/var/data/later/greeting.txt')).body === 'hello from a data order\n', 'other to read the new data order', 120_000, 500);
    assert.equal((await httpGet(ship.httpPort, '/other/read?path=/var/data/docs/greeting.txt')).body, 'hello from a data order\n');
    // ...and the service that planted its own `later` keeps it: the ship wrote nothing through it, nor replaced it.
    const { readlinkSync } = await import('node:fs');
    assert.equal(readlinkSync(join(dataDir, 'volumes', 'small', 'data', 'later')), canary);
    assert.equal((await httpGet(ship.httpPort, '/other/read?path=/var/data/.data-orders')).status, 404, 'the ship\'s trees are not in a service\'s /var/data');
    const small = records().find((r) => r.service === 'small' && r.state === 'serving') as InstanceRecord;
    const tmpRoot = join(dataDir, 'volumes', 'small', 'tmp');
    assert.ok(readdirSync(tmpRoot).length >= 1);
    // Its instance stops (a redeploy): the ship removes its /tmp, planted links and all, and follows none of them.
    const r = await cli(dataDir, 'redeploy', 'small');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => !isSameProcess(small), 'the old instance of small to stop', DEPLOY_MS, 500);
    await waitFor(() => !existsSync(sandboxRunDir(dataDir, small.id)), 'its run dir to go', 30_000, 250);
    assert.deepEqual(readdirSync(canary), ['keep.txt'], 'the host dir the links pointed at is untouched');
    assert.equal(readFileSync(join(canary, 'keep.txt'), 'utf8'), 'the host\'s own file\n');
    assert.ok(existsSync('/etc/passwd') && existsSync('/etc/hostname'));
  });

  test('a Procfile, app.json or .env that is a symlink to the ship\'s /etc/shadow fails the build; nothing of the file shows', async () => {
    const shadow = readFileSync('/etc/shadow', 'utf8');
    const secret = (/^root:([^:]+):/m.exec(shadow)?.[1] ?? 'no-root-line-in-shadow').slice(0, 12);
    for (const [svc, why] of [['procfile-link', /Procfile is a symlink/], ['appjson-link', /app\.json is a symlink/], ['env-link', /\.env is a symlink/]] as const) {
      const s = await waitFor(async () => {
        const x = await row(svc);
        return x?.state === 'failed' ? x : null;
      }, `${svc} to fail`, DEPLOY_MS, 500);
      assert.match(s.message, why, s.message);
    }
    const everything = [ship.output(), (await cli(dataDir, 'status', '--json')).stdout, ...['procfile-link', 'appjson-link', 'env-link'].flatMap((s) => readdirSync(join(dataDir, 'logs', s)).map((n) => readFileSync(join(dataDir, 'logs', s, n), 'utf8')))].join('\n');
    if (secret.length > 3 && secret !== '*' && secret !== '!') assert.ok(!everything.includes(secret), 'a line of /etc/shadow showed');
  });

  test('kill -9 of the ship: its instances keep answering through the plane; the next ship adopts them and sweeps what a dead one left', async () => {
    const other = records().find((r) => r.service === 'other' && r.state === 'serving') as InstanceRecord;
    const small = records().find((r) => r.service === 'small' && r.state === 'serving') as InstanceRecord;
    const smallAddress = instanceAddress(dataDir, small.id);
    await ship.kill();
    for (let i = 0; i < 5; i++) assert.equal((await httpGet(ship.httpPort, '/other/whoami')).status, 200, 'the plane reaches the instance with no ship');
    // One dies while no ship runs: what it held (run dir, address, /tmp, cgroup) is the next ship's to sweep.
    process.kill(-small.pid, 'SIGKILL');
    await waitFor(() => !isSameProcess(small), 'small gone');
    ship = await startShip({ headquarters: hq, dataDir, httpPort: ship.httpPort, sshPort: ship.sshPort });
    await ship.waitForLog(new RegExp(`other: adopted instance ${other.id}`), 60_000);
    await waitFor(async () => (await row('small'))?.state === 'serving' && records().some((r) => r.service === 'small' && r.state === 'serving' && r.id !== small.id), 'small started again', DEPLOY_MS, 500);
    await waitFor(() => !existsSync(sandboxRunDir(dataDir, small.id)), 'the dead instance\'s run dir swept', 60_000, 500);
    const leases = readdirSync(join(dataDir, 'net', 'leases'));
    assert.ok(!leases.includes(smallAddress as string) || readFileSync(join(dataDir, 'net', 'leases', smallAddress as string), 'utf8') !== small.id, 'its address was freed');
    // Every address left is held by a sandbox alive now (an instance, or a build step of a service still retrying; a
    // step being launched holds its lease a moment before its veth exists, and one that ended frees it at once).
    for (const ip of leases) {
      const file = join(dataDir, 'net', 'leases', ip);
      const id = readFileSync(file, 'utf8');
      const holder = (): string | null => (existsSync(file) ? readFileSync(file, 'utf8') : null);
      await waitFor(() => holder() !== id || existsSync(`/sys/class/net/${vethName(dataDir, id)}`), `${ip}, held by ${id}, to be its live sandbox's or freed`, 10_000, 100);
    }
    assert.equal((await httpGet(ship.httpPort, '/other/whoami')).status, 200);
  });
});
