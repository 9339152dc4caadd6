import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { netNames, dataDirTag } from '../../../src/agent/sandbox/net-names.js';
import { recordedShipNet } from '../../../src/agent/sandbox/net-ship.js';
import { instanceAddress } from '../../../src/agent/sandbox/sandbox.js';
import { recordedServiceUids } from '../../../src/agent/sandbox/service-users.js';
import { mountsUnder } from '../../../src/agent/sandbox/host-registry.js';
import { openDb } from '../../../src/state/db.js';
import { listInstances, type InstanceRecord } from '../../../src/state/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { outsideStandIn, type Outside } from '../../helpers/outside.js';
import { cli, httpGet, statusJson, statusServices } from '../../helpers/phleet.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * A ship run as root with two hostile services (test/fixtures/hostile-app), attacking from inside their instances:
 * the direct network path lets them reach the outside and the ship ports HQ allows, and nothing else of the ship,
 * of the host or of each other; each runs as a uid of its own that cannot read or signal the other (checked from
 * the host); and `stop --all` leaves nothing of the ship in `ip link`, `nft list tables`, cgroups or mounts.
 */
const root = tmpDir('sp-net-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const servers: Server[] = [];
let ship: ShipProcess;
let outside: Outside;
let allowed = 0;
let forbidden = 0;
let metricsPort = 0;

function listen(host: string, text: string): Promise<number> {
  const s = createServer((c) => c.end(text));
  servers.push(s);
  return new Promise((r) => s.listen(0, host, () => r((s.address() as { port: number }).port)));
}

function records(): InstanceRecord[] {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return listInstances(db);
  } finally {
    db.close();
  }
}

function web(service: string): InstanceRecord {
  const r = records().find((x) => x.service === service && x.process === 'web' && x.state === 'serving');
  assert.ok(r, `${service} has a serving web instance`);
  return r;
}

/** What the instance of `a` gets when it dials host:port (or a unix socket path). */
async function dial(target: { host: string; port: number } | { path: string }): Promise<string> {
  const q = 'path' in target ? `path=${encodeURIComponent(target.path)}` : `host=${target.host}&port=${target.port}`;
  const r = await httpGet(ship.httpPort, `/a/tcp?${q}&ms=4000`);
  assert.equal(r.status, 200, r.body);
  return r.body;
}

/** The host's own address on its main interface (not loopback), if it has one. */
function hostAddress(): string | null {
  const m = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(execFileSync('ip', ['-4', '-o', 'addr', 'show', 'scope', 'global'], { encoding: 'utf8' }).split('\n').find((l) => !/\bspb|\bspo/.test(l)) ?? '');
  return m ? (m[1] as string) : null;
}

/** Runs argv on the host as uid (setpriv, no groups): the exit code and stderr. */
function asUid(uid: number, argv: string[]): { code: number | null; err: string } {
  const r = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv], { encoding: 'utf8' });
  return { code: r.status, err: r.stderr };
}

/** The host pid of the service's app process (node server.js), found by its uid. */
function appPid(uid: number): number {
  for (const n of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(readFileSync(`/proc/${n}/status`, 'utf8'))) continue;
      if (readFileSync(`/proc/${n}/cmdline`, 'utf8').includes('server.js')) return Number(n);
    } catch {
      // Gone meanwhile.
    }
  }
  throw new Error(`no app process of uid ${uid}`);
}

before(async () => {
  assert.equal(process.getuid?.(), 0, 'run as root, as CI does: the direct path is the root ship\'s');
  allowed = await listen('127.0.0.1', 'hello from the ship');
  forbidden = await listen('0.0.0.0', 'a port of the ship nobody allowed');
  metricsPort = await freePort();
  outside = await outsideStandIn(root);
  fixtureRepo('hostile-app', join(root, 'hostile'));
  initRepo(hq, {
    'a/orders': `autodeploy ${join(root, 'hostile')}\nexport BUILD_SLEEP_MS=0\n`,
    'b/orders': `autodeploy ${join(root, 'hostile')}\nexport BUILD_SLEEP_MS=0\n`,
    '.starphleet': `export STARPHLEET_HOST_PORTS=${allowed}\n`,
  });
  // On every address of the host, so what stops an instance is the ship's table, not a loopback-only listener.
  // A PATH entry only the ship has: it must not reach a sandbox.
  const shipPath = `${join(root, 'ship-only-bin')}:${process.env.PATH ?? ''}`;
  ship = await startShip({ headquarters: hq, dataDir, args: ['--listen', '0.0.0.0'], env: { STARPHLEET_METRICS_LISTEN: `0.0.0.0:${metricsPort}`, PATH: shipPath } });
  await waitFor(async () => (await statusServices(dataDir)).filter((s) => s.state === 'serving').length === 2, () => `a and b serving\n${ship.output().slice(-3000)}`, 300_000, 500);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await outside?.close();
  for (const s of servers) s.close();
});

describe('the ship\'s network is not the services\' network (a ship run as root)', () => {
  test('status says the direct path is in use, with the bridge, the subnet and the ship ports allowed', async () => {
    const s = await statusJson<{ ship: { network: string } }>(dataDir);
    const { bridge, table } = netNames(dataDir);
    assert.match(s.ship.network, new RegExp(`^direct: veths on bridge ${bridge} \\(10\\.213\\.\\d+\\.0/24\\), outbound NATed by nftables table inet ${table}; ship\\.internal ports ${allowed}`));
    assert.match(ship.output(), /network: direct: /);
  });

  test('an instance reaches the outside (routed, masqueraded), an allowed ship port as ship.internal, and another service through the front door', async () => {
    assert.equal(await dial({ host: outside.address, port: outside.port }), 'tcp: hello from outside');
    assert.equal(await dial({ host: 'ship.internal', port: allowed }), 'tcp: hello from the ship');
    const req = encodeURIComponent('GET /b/whoami HTTP/1.0\r\nHost: x\r\n\r\n');
    const r = await httpGet(ship.httpPort, `/a/tcp?host=ship.internal&port=${ship.httpPort}&send=${req}&ms=4000`);
    assert.match(r.body, /^tcp: HTTP\/1\.[01] 200/, r.body);
  });

  test("nothing else: not the ship's SSH, metrics or other ports, the host's loopback, the host's own address, the control sockets, cloud metadata, another instance", async () => {
    const b = web('b');
    const bAddress = instanceAddress(dataDir, b.id);
    assert.ok(bAddress, 'b has an address on the bridge');
    assert.equal((await httpGet(ship.httpPort, '/b/tcp?host=ship.internal&port=' + allowed)).body, 'tcp: hello from the ship', 'b itself is up and reachable through the plane');
    const host = hostAddress();
    const refused: [string, { host: string; port: number } | { path: string }][] = [
      ['the ship\'s SSH port', { host: 'ship.internal', port: ship.sshPort }],
      ['the metrics port', { host: 'ship.internal', port: metricsPort }],
      ['a ship port on 0.0.0.0 not in STARPHLEET_HOST_PORTS', { host: 'ship.internal', port: forbidden }],
      ['the host\'s loopback (its own is its own)', { host: '127.0.0.1', port: forbidden }],
      ['another instance', { host: bAddress, port: b.port }],
      ['cloud metadata', { host: '169.254.169.254', port: 80 }],
      ['the ship\'s control socket', { path: join(dataDir, 'control.sock') }],
      ['the data plane\'s control socket', { path: join(dataDir, 'dataplane', 'control.sock') }],
      ...(host ? ([['the host\'s own address, SSH', { host, port: ship.sshPort }], ['the host\'s own address, another port', { host, port: forbidden }]] as [string, { host: string; port: number }][]) : []),
    ];
    for (const [what, target] of refused) {
      const got = await dial(target);
      assert.match(got, /^tcp error: /, `${what} (${JSON.stringify(target)}) answered: ${got}`);
    }
    // The same attempts from b, at a: isolation goes both ways.
    const aRec = web('a');
    const r = await httpGet(ship.httpPort, `/b/tcp?host=${instanceAddress(dataDir, aRec.id)}&port=${aRec.port}&ms=4000`);
    assert.match(r.body, /^tcp error: /, r.body);
  });

  test('a changed STARPHLEET_HOST_PORTS applies at once, to running instances too', async () => {
    const { commit } = await import('../../helpers/git.js');
    commit(hq, { '.starphleet': `export STARPHLEET_HOST_PORTS="${allowed}, ${forbidden}"\n` });
    await waitFor(async () => (await dial({ host: 'ship.internal', port: forbidden })) === 'tcp: a port of the ship nobody allowed', 'the newly allowed port', 60_000, 500);
    commit(hq, { '.starphleet': `export STARPHLEET_HOST_PORTS=${allowed}\n` });
    await waitFor(async () => /^tcp error: /.test(await dial({ host: 'ship.internal', port: forbidden })), 'the port closed again', 60_000, 500);
  });

  test('the release is at /app (cwd and HOME), DYNO is web.1, PATH is fixed, the sandbox names only its own uid, and holds no descriptor of the ship', async () => {
    const w = JSON.parse((await httpGet(ship.httpPort, '/a/whoami')).body) as { uid: number; cwd: string; home: string; dyno: string; path: string; fds: Record<string, string>; passwd: string; hosts: string };
    assert.equal(w.cwd, '/app');
    assert.equal(w.home, '/app');
    assert.equal(w.dyno, 'web.1');
    // npm start puts node_modules/.bin first; what it starts from is the fixed PATH, nothing of the ship's own.
    assert.ok(w.path.endsWith(':/usr/local/bin:/usr/bin:/bin'), w.path);
    assert.ok(!w.path.includes('ship-only-bin'), `the ship's PATH leaked: ${w.path}`);
    assert.match(w.passwd, new RegExp(`^app:x:${w.uid}:${w.uid}:app:/app:/bin/bash$`, 'm'));
    assert.doesNotMatch(w.passwd, /^(starphleet|sshd|_apt):/m, 'the host\'s accounts are not listed');
    const net = recordedShipNet(dataDir);
    assert.match(w.hosts, new RegExp(`^${net?.gateway.replace(/\./g, '\\.')}\\tship\\.internal$`, 'm'));
    // stdout and stderr are its own log (append-only, opened by the ship); nothing else of the ship's is open in it.
    for (const [fd, target] of Object.entries(w.fds)) {
      if ((fd === '1' || fd === '2') && target === join(dataDir, 'logs', 'a', `instance-${web('a').release}-web.1.log`)) continue;
      assert.ok(!target.includes(dataDir) && !/\/sandbox\//.test(target), `fd ${fd} -> ${target}`);
    }
  });

  test('two services run as uids of their own: from the host, a\'s uid cannot read b\'s /var/data, /tmp or release files, nor signal b\'s app', async () => {
    const uids = recordedServiceUids(dataDir);
    const ua = uids.a as number;
    const ub = uids.b as number;
    assert.ok(ua > 65535 && ub > 65535 && ua !== ub, `a ${ua}, b ${ub}`);
    for (const where of ['/var/data/secret', '/tmp/secret']) {
      const w = JSON.parse((await httpGet(ship.httpPort, `/b/write?path=${where}&mb=1`)).body) as { wrote: number; error: string | null };
      assert.deepEqual(w, { wrote: 1, error: null });
    }
    const bTmp = join(dataDir, 'volumes', 'b', 'tmp');
    const runTmp = readdirSync(bTmp).map((n) => join(bTmp, n)).find((d) => existsSync(join(d, 'secret')));
    assert.ok(runTmp, 'b\'s /tmp is a dir of its volume');
    const files = [join(dataDir, 'volumes', 'b', 'data', 'secret'), join(runTmp, 'secret'), join(dataDir, 'services', 'b', 'current', 'server.js')];
    for (const f of files) {
      assert.equal(asUid(ub, ['cat', f]).code, 0, `b's own uid reads ${f}`);
      const r = asUid(ua, ['cat', f]);
      assert.notEqual(r.code, 0, `a's uid read ${f}`);
      assert.match(r.err, /Permission denied/, f);
    }
    const pid = appPid(ub);
    assert.equal(asUid(ub, ['kill', '-0', String(pid)]).code, 0, 'b\'s own uid may signal it');
    const k = asUid(ua, ['kill', '-0', String(pid)]);
    assert.notEqual(k.code, 0, 'a\'s uid signalled b\'s app');
    assert.match(k.err, /Operation not permitted/);
  });

  test('instance process titles are short: starphleet: <service> web.1 <release>', async () => {
    for (const s of ['a', 'b']) {
      const r = web(s);
      const argv = readFileSync(`/proc/${r.pid}/cmdline`, 'utf8').split('\0');
      assert.equal(argv[0], `starphleet: ${s} web.1 ${r.release}`);
      assert.ok(argv.join(' ').length < 200, argv.join(' '));
    }
  });

  test('stop --all leaves nothing of the ship in ip link, nft list tables, the cgroups or the mounts', async () => {
    const { bridge, table } = netNames(dataDir);
    assert.ok(existsSync(`/sys/class/net/${bridge}`));
    assert.equal(await ship.stop(), 0);
    const r = await cli(dataDir, 'stop', '--all');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`removed nftables table inet ${table}, bridge ${bridge}`));
    const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
    assert.ok(!links.includes(bridge), links);
    for (const rec of records()) assert.ok(!links.includes(`master ${bridge}`), rec.id);
    assert.ok(!execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).includes(table));
    const tag = dataDirTag(dataDir);
    for (const c of ['pids', 'memory', 'cpu']) {
      const found = execFileSync('find', [`/sys/fs/cgroup/${c}`, '-maxdepth', '4', '-type', 'd', '-name', `starphleet-${tag}`], { encoding: 'utf8' }).trim();
      assert.equal(found, '', `cgroup folders left: ${found}`);
    }
    assert.deepEqual(mountsUnder(dataDir), [], 'no volume stays mounted');
    assert.deepEqual(records(), [], 'no instance recorded');
  });
});
