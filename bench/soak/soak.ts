/**
 * The chaos soak (#17): `npm run soak` (the short form, every event once) or `npm run soak -- --minutes N` (deploys,
 * crashes and failing deploys repeated until N minutes have passed). Under continuous load it deploys, deploys a
 * release failing its health check, crashes an instance, runs `ssh update@ship` twice, kill -9s the ship and starts it
 * again; then prints totals per client and fails (exit 1) on any failed HTTP request, WebSocket or stream cut without
 * a close, SSH/SFTP failure outside the seconds the ship was down, process left over, or data dir beyond its bound.
 */
import { cpSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeBytes } from '../../src/agent/data-dir-size.js';
import { INSTANCE_MARK } from '../../src/agent/runtime/strays.js';
import { readPlaneRecord } from '../../src/dataplane/ship-side/plane-record.js';
import { openDb } from '../../src/state/db.js';
import { listInstances } from '../../src/state/instances.js';
import { fixtureRepo } from '../../test/helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../test/helpers/git.js';
import { killRecordedInstances } from '../../test/helpers/instances.js';
import { makeKey } from '../../test/helpers/keys.js';
import { startShip, type ShipProcess } from '../../test/helpers/ship.js';
import { runSsh } from '../../test/helpers/ssh.js';
import { tmpDir } from '../../test/helpers/tmp.js';
import { sleep, waitFor } from '../../test/helpers/wait.js';
import { startClients } from './clients.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const args = process.argv.slice(2);
const minutesAt = args.indexOf('--minutes');
const minutes = minutesAt >= 0 ? Number(args[minutesAt + 1]) : 0;
if (minutesAt >= 0 && !(minutes > 0)) throw new Error(`--minutes must be a number > 0, got ${JSON.stringify(args[minutesAt + 1])}`);
const KEEP = 3;

const root = tmpDir('sp-soak-');
const dataDir = join(root, 'data');
const app = join(root, 'app');
const hq = join(root, 'hq');
const proj = join(root, 'proj');
const remote = join(root, 'remote.git');
const key = makeKey(root, 'admiral');
const started = Date.now();
const say = (s: string): void => console.log(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}`);
const env = { STARPHLEET_REMOTE: `${remote}#master`, STARPHLEET_HANDOVER_GRACE: '10', STARPHLEET_RUNTIME: 'process', STARPHLEET_KEEP_RELEASES: String(KEEP), STARPHLEET_DRAIN_TIMEOUT: '3', STARPHLEET_RETRY_BASE: '2' };

fixtureRepo('stream-app', app);
initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n`, 'app/orders': `autodeploy ${app}\nscale web=2\n` });
cpSync(ROOT, proj, { recursive: true, filter: (src) => !/^(node_modules|dist|\.git|\.data)(\/|$)/.test(relative(ROOT, src)) });
initRepo(proj, {});
gitIn(root, 'init', '-q', '--bare', '-b', 'master', remote);

let ship: ShipProcess = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env });
const httpPort = ship.httpPort;
const sshPort = ship.sshPort;
// One connection per look, closed after it (agent: false): fetch() kept its idle connection in this process's pool,
// and a data plane that hands over keeps such a connection to its keep-alive timeout (30 s), so once updates were
// quick the first plane was still there for the soak's own idle socket when the leftover check below ran.
const serving = (): Promise<string | null> =>
  new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: httpPort, path: '/app/', agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(body) as { greeting: string }).greeting : null);
        } catch {
          resolve(null);
        }
      });
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(null));
    req.end();
  });
await waitFor(async () => (await serving()) !== null, () => `the app to serve\n${ship.output().slice(-3000)}`, 300_000);
say('the app serves; load starts');
const clients = startClients({ httpPort: () => httpPort, sshPort: () => sshPort, key: key.privatePath, path: '/app/' });
/** When the ship was down (kill -9 until the new one listens): SSH/SFTP failures then are expected. */
const down: { from: number; to: number }[] = [];
const problems: string[] = [];
let deploys = 0;

async function deploy(greeting: string): Promise<void> {
  commit(app, { '.env': `GREETING=${greeting}\n` }, greeting);
  await waitFor(async () => (await serving()) === greeting, () => `${greeting} to serve\n${ship.output().slice(-2000)}`, 300_000);
  deploys++;
  say(`deploy ${greeting} serves`);
}

async function failingDeploy(n: number): Promise<void> {
  const before = await serving();
  // The fixture's own switch (UNHEALTHY_AFTER_MS): its health check answers 500 from the start.
  commit(app, { '.env': `GREETING=${before ?? ''}\nUNHEALTHY_AFTER_MS=0\n` }, `sick ${n}`);
  await ship.waitForLog(/deploy of [0-9a-f]{7} failed: .*health check \/health failed/, 300_000, ship.output().length);
  if ((await serving()) !== before) problems.push(`a failing deploy changed what serves (${before} -> ${await serving()})`);
  say('a deploy failing its health check left the old release serving');
  commit(app, { '.env': `GREETING=${before ?? ''}\n` }, `healthy again ${n}`);
}

async function crashInstance(): Promise<void> {
  const db = openDb(join(dataDir, 'state.db'));
  const web = listInstances(db).filter((r) => r.service === 'app' && r.state === 'serving');
  db.close();
  const victim = web[0];
  if (!victim) throw new Error('no serving instance to crash');
  process.kill(-victim.pid, 'SIGKILL');
  await waitFor(() => {
    const d = openDb(join(dataDir, 'state.db'));
    try {
      const now = listInstances(d).filter((r) => r.service === 'app' && r.state === 'serving');
      return now.length === 2 && now.every((r) => r.id !== victim.id);
    } finally {
      d.close();
    }
  }, () => `the crashed instance to be replaced\n${ship.output().slice(-2000)}`, 120_000);
  say(`instance ${victim.id} (pid ${victim.pid}) killed; restarted`);
}

async function update(version: string): Promise<void> {
  const pkg = JSON.parse(readFileSync(join(proj, 'package.json'), 'utf8')) as { version: string };
  pkg.version = version;
  commit(proj, { 'package.json': `${JSON.stringify(pkg, null, 2)}\n` }, `version ${version}`);
  gitIn(proj, 'push', '-q', remote, 'HEAD:master');
  const r = await runSsh({ key: key.privatePath, port: sshPort, user: 'update', args: [], options: ['-T'], timeoutMs: 900_000 });
  if (r.code !== 0) throw new Error(`ssh update@ship failed (${r.code}): ${r.stdout.toString().slice(-2000)}${r.stderr}`);
  await waitFor(() => readPlaneRecord(dataDir)?.version === version, `the data plane of ${version}`, 120_000);
  say(`ssh update@ship -> ${version} done`);
}

function shipPid(): number {
  return Number(readFileSync(join(dataDir, 'ship.pid'), 'utf8').trim());
}

async function killAndRestart(): Promise<void> {
  const pid = shipPid();
  const from = Date.now();
  // The ship this run started (ship.kill: a kill it expects) or the one an update started in its place.
  if (pid === ship.child.pid) await ship.kill();
  else process.kill(pid, 'SIGKILL');
  await waitFor(() => !existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z'), 'the killed ship to go', 30_000);
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env, httpPort, sshPort });
  await ship.waitForLog(/ssh listening on/, 120_000);
  // Up again once it knows its admirals: its SSH server listens before the first HQ read and refuses everyone till then.
  await ship.waitForLog(/\d+ admirals/, 120_000);
  await ship.waitForLog(/adopted instance/, 120_000);
  down.push({ from, to: Date.now() + 1000 });
  say(`kill -9 of the ship (pid ${pid}); a new ship serves after ${((Date.now() - from) / 1000).toFixed(1)} s`);
}

let failure: Error | null = null;
try {
  await deploy('one');
  await failingDeploy(1);
  await deploy('two');
  await crashInstance();
  await update('0.1.1');
  await deploy('three');
  await update('0.1.2');
  await killAndRestart();
  await deploy('four');
  let n = 2;
  while (Date.now() - started < minutes * 60_000) {
    await deploy(`loop-${n}`);
    if (n % 3 === 0) await failingDeploy(n);
    if (n % 4 === 0) await crashInstance();
    if (n % 5 === 0) await killAndRestart();
    n++;
  }
  await sleep(2000);
} catch (e) {
  failure = e as Error;
}
await clients.stop();
const elapsed = (Date.now() - started) / 1000;

// The data dir's bound: at most KEEP releases (plus the serving one) and no layer that no retained release references.
const releasesDir = join(dataDir, 'services/app/releases');
function bookkeeping(): { releases: string[]; layers: string[]; problems: string[] } {
  const releases = readdirSync(releasesDir).filter((n) => n.endsWith('.json'));
  const found: string[] = [];
  if (releases.length > KEEP + 1) found.push(`${releases.length} releases retained, bound ${KEEP} (+ the serving one)`);
  const referenced = new Set<string>();
  for (const r of releases) for (const l of (JSON.parse(readFileSync(join(releasesDir, r), 'utf8')) as { layers: { sha256: string }[] }).layers) referenced.add(l.sha256);
  const layers = readdirSync(join(dataDir, 'layers')).filter((n) => n.endsWith('.tar.gz'));
  const stray = layers.filter((n) => !referenced.has(n.slice(0, 64)));
  if (stray.length > 0) found.push(`${stray.length} layer(s) no retained release references: ${stray.slice(0, 3).join(', ')}`);
  return { releases, layers, problems: found };
}
// The last switch prunes after its drains and stops (seconds after the new release answers): the bound is checked
// once the ship had up to 60 s to finish it (a fresh-clone run found 2 unreferenced layers ~5 s after "serves").
await waitFor(() => bookkeeping().problems.length === 0, 'the last switch to prune', 60_000, 500).catch(() => undefined);
const { releases, layers, problems: bound } = bookkeeping();
problems.push(...bound);
const bytes = await treeBytes(dataDir);
const versions = await treeBytes(join(dataDir, 'versions'));
say(`data dir ${(bytes / 1048576).toFixed(1)} MiB (of it ${(versions / 1048576).toFixed(1)} MiB installed starphleet versions), ${releases.length} releases, ${layers.length} layers, current -> ${readlinkSync(join(dataDir, 'services/app/current'))}`);

// Stop everything, then nothing of this data dir may run.
const last = existsSync(join(dataDir, 'ship.pid')) ? shipPid() : 0;
if (last && last !== ship.child.pid && existsSync(`/proc/${last}`)) {
  process.kill(last, 'SIGTERM');
  await waitFor(() => !existsSync(`/proc/${last}`) || readFileSync(`/proc/${last}/stat`, 'utf8').split(') ')[1]?.startsWith('Z'), 'the last ship to stop', 60_000).catch(() => process.kill(last, 'SIGKILL'));
}
await ship.stop();
await killRecordedInstances(dataDir);
await sleep(1000);
const left: string[] = [];
for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
  try {
    const environ = readFileSync(`/proc/${p}/environ`, 'latin1');
    const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ');
    if ((environ.includes(`${INSTANCE_MARK}=`) && environ.includes(dataDir)) || cmd.includes(root)) left.push(`${p}: ${cmd.slice(0, 120)}`);
  } catch {
    // Gone meanwhile.
  }
}
if (left.length > 0) problems.push(`processes left over: ${left.join('; ')}`);

const inDown = (at: number): boolean => down.some((d) => at >= d.from && at <= d.to);
console.log(`\nsoak: ${elapsed.toFixed(0)} s, ${deploys} deploys, ${down.length} kill -9 of the ship`);
console.log('client            ok        clean ends  failures');
for (const [k, v] of Object.entries(clients.totals)) {
  const excused = k.startsWith('ssh') || k.startsWith('sftp') ? v.failures.filter((f) => inDown(f.at)).length : 0;
  console.log(`${k.padEnd(18)}${String(v.ok).padEnd(10)}${String(v.cleanEnds).padEnd(12)}${v.failures.length - excused}${excused ? ` (+${excused} while the ship was down)` : ''}`);
  for (const f of v.failures.filter((x) => !(excused && inDown(x.at))).slice(0, 5)) problems.push(`${k} at ${((f.at - started) / 1000).toFixed(1)} s: ${f.what}`);
  if (v.failures.length - excused > 5) problems.push(`${k}: ${v.failures.length - excused - 5} more failures`);
}
if (failure) problems.push(`the soak stopped: ${failure.message}`);
if (problems.length > 0) {
  console.log(`\nFAILED:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log('\nPASSED: 0 failures');
process.exit(0);
