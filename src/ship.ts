import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from './agent/agent.js';
import { createAgent, followHqNetwork } from './agent/create.js';
import { startJobs } from './schedule/cron-jobs.js';
import { Shipscripts } from './schedule/shipscripts.js';
import { writeCliWrapper } from './commands/cli-wrapper.js';
import type { ShipOptions } from './settings/ship-options.js';
import type { PlaneEvent } from './dataplane/protocol/plane.js';
import type { PlaneClient } from './dataplane/ship-side/plane-client.js';
import { resolvePlaneKind, supervisedDataPlane } from './dataplane/ship-side/plane-process.js';
import { Headquarters } from './headquarters/headquarters.js';
import { log as defaultLog, type Logger } from './log.js';
import { startControlSocket } from './commands/control/control-socket.js';
import type { SshServer } from './server/transport/ssh-server.js';
import { startSshServer } from './server/transport/start.js';
import { openDb, type Db } from './state/db.js';
import { recordAuthFailure } from './state/auth-failures.js';
import { setKv } from './state/hq.js';
import { lockDataDir, takeOverDataDir } from './state/lock.js';
import type { HandoverHooks } from './update/handover-old-ship.js';
import { shipHandover } from './ship-handover-hooks.js';
import type { Predecessor } from './update/handover-new-ship.js';
import { VERSION } from './version.js';
import { silent } from './log.js';
import { loadHostKeys } from './server/transport/host-keys.js';
import { loadClientKey } from './phleet/client-key.js';
import { startWriteBack } from './phleet/phleet.js';
import { defaultShipName, shipNameProblem } from './phleet/ship-name.js';
import { ed25519PublicLine } from './secrets/host-key.js';
import { ConfigError } from './settings/config-error.js';
import { DataOrders } from './data-orders/data-orders.js';
import { Notifier } from './notify/notifier.js';
import { ShipMetrics } from './metrics/ship-metrics.js';
import { serveMetrics } from './metrics/server.js';
import { onAuditTally } from './state/audit-hooks.js';
import { listInstances } from './state/instances.js';
import { LogSink } from './logsink/sink.js';
import { sinkTargetOf } from './logsink/target.js';
import { getKv } from './state/hq.js';
import { DashboardSessions } from './dashboard/sessions.js';
import { sessionTimes } from './dashboard/times.js';
import { startShipWeb } from './ship-http.js';
import { serveDashboard } from './dashboard/server.js';
import { Certificates } from './tls/certificates.js';
import { logSinkConfirmSeconds } from './settings/env-settings.js';

export interface Ship {
  readonly options: ShipOptions;
  readonly db: Db;
  readonly headquarters: Headquarters;
  /** Runs what HQ orders; stopping the ship leaves its instances serving for the next ship process to adopt. */
  readonly agent: Agent;
  /** The data plane process the agent routes through (it outlives the ship); null until started or adopted. */
  dataPlane(): PlaneClient | null;
  readonly log: Logger;
  /** What `starphleet update` lends the new ship it hands over to (update/handover-old-ship.ts). */
  readonly handover: HandoverHooks;
  /** The dashboard's one-time logins and its own listener's URL (`starphleet dashboard`); absent when it is off. */
  readonly dashboard?: { issueLogin: DashboardSessions['issueLogin']; url(): string | null };
  stop(): Promise<void>;
}

/** Where the ship reaches its own front door (jobs with a `/path` url). */
function frontDoorUrl(o: ShipOptions): string {
  const host = o.listen === '0.0.0.0' || o.listen === '::' ? '127.0.0.1' : o.listen.includes(':') ? `[${o.listen}]` : o.listen;
  return `http://${host}:${o.httpPort}`;
}

/** cli.ts sits beside this file both in src/ (run by tsx) and in dist/ (built). */
const CLI_SCRIPT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './cli.ts' : './cli.js', import.meta.url));

/**
 * Composition root. Data flows one way: HQ commit -> desired state -> agent -> releases/instances -> routes; the
 * SSH server, control socket and front door read state and act only through the agent or commands/.
 */
export async function startShip(given: ShipOptions, log: Logger = defaultLog, predecessor?: Predecessor): Promise<Ship> {
  mkdirSync(given.dataDir, { recursive: true, mode: 0o700 });
  // No --name: the name comes from the host key (made once into the data dir), so it is the same after every restart.
  const hostKeys = loadHostKeys(given.dataDir, silent);
  const options: ShipOptions = { ...given, name: given.name || defaultShipName(hostKeys[0]?.fingerprint ?? '') };
  const badName = shipNameProblem(options.name);
  if (badName) throw new ConfigError(`--name: ${badName}`);
  const clientKey = loadClientKey(options.dataDir, options.name);
  // A successor (--takeover) takes the lock only once it serves: until then the old ship holds it and may go on.
  let unlock = predecessor ? () => {} : lockDataDir(options.dataDir);
  const db = openDb(join(options.dataDir, 'state.db'));
  const headquarters = new Headquarters({
    spec: options.headquarters,
    dataDir: options.dataDir,
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    pulseSeconds: options.pulseSeconds,
    evalTimeoutMs: options.evalTimeoutMs,
    db,
    log,
  });
  setKv(db, 'ship.name', options.name);
  const previousVersion = getKv(db, 'ship.version');
  setKv(db, 'ship.version', VERSION);
  setKv(db, 'hq.url', headquarters.url);
  log(`starphleet ${VERSION} ship ${options.name}: headquarters ${headquarters.url}, data ${options.dataDir}, pulse ${options.pulseSeconds}s`);
  const agent = createAgent(options, db, log);
  // Outbound notifications (src/notify): agent events and HQ changes, queued per target, never awaited here.
  const notifier = new Notifier(options.name, log);
  agent.onEvent((e) => notifier.agentEvent(e));

  // Everything started below is stopped in reverse order by stop().
  const stops: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | null = null;
  let control: Server | null = null;
  let ssh: SshServer | null = null;
  let door: PlaneClient | null = null;
  const dashboardSessions = new DashboardSessions(() => sessionTimes(headquarters.current?.env ?? {}));
  let dashboardServer: { url(): string | null } | null = null;
  const ship: Ship = {
    options,
    db,
    headquarters,
    agent,
    dataPlane: () => door,
    log,
    ...(options.dashboardListen ? { dashboard: { issueLogin: (u) => dashboardSessions.issueLogin(u), url: () => dashboardServer?.url() ?? null } } : {}),
    handover: shipHandover({
      headquarters,
      agent,
      log,
      ssh: () => ssh,
      control: () => control,
      reopenControl: async () => {
        control = await startControlSocket(ship, log);
      },
      stop: () => ship.stop(),
    }),
    stop() {
      stopping ??= (async () => {
        for (const s of stops.reverse()) await s();
        await headquarters.stop();
        db.close();
        unlock();
        log('ship stopped');
      })();
      return stopping;
    },
  };

  try {
    writeCliWrapper(options.dataDir, CLI_SCRIPT);
    await predecessor?.control();
    control = await startControlSocket(ship, log);
    stops.push(() => new Promise<void>((r) => (control ? control.close(() => r()) : r())));
    // /starphleet/webhook: the data plane proxies it to this ship's socket.
    const web = await startShipWeb(ship, log);
    stops.push(() => web.close());
    if (options.dashboardListen) {
      // The dashboard on a listener of its own: an origin no service's page shares (src/dashboard/server.ts).
      const served = serveDashboard(ship, dashboardSessions, options.dashboardListen, { publicHost: options.name, log });
      dashboardServer = served;
      stops.push(() => served.close());
    }
    // Hand-over: know the admirals and routes before sharing the old ship's sockets, so no client sees a difference.
    if (predecessor) await headquarters.checkNow();
    const sshServer = await startSshServer(options, db, headquarters, log, predecessor ? () => predecessor.ssh() : undefined);
    ssh = sshServer;
    stops.push(() => sshServer.close());
    if (predecessor && headquarters.current) agent.presetDesired(headquarters.current);
    // Hand-over: the old ship stops reconciling before this one adopts its instances; HTTP never moves (the data plane
    // serves on through both ships).
    await predecessor?.pauseAgent();
    const plane = await supervisedDataPlane({
      dataDir: options.dataDir,
      kind: resolvePlaneKind(options.dataPlane),
      listen: options.listen,
      port: options.httpPort,
      httpsPort: options.httpsPort,
      log,
      onEvent: (e: PlaneEvent) => {
        if (e.event === 'problem') agent.doorProblem(e.service, e.problem);
        else {
          // The back-off of an address after failed passwords goes to the audit of refused authentications.
          recordAuthFailure(db, { user: `http ${e.service}`, fingerprint: null, remote: e.address, method: 'http-basic', message: `${e.failures} wrong passwords: waits ${e.seconds} s` });
        }
      },
    });
    door = plane;
    // Stopping the ship leaves the data plane serving (the next ship adopts it); only the connection closes.
    stops.push(() => plane.close());
    // A data plane that died is started again within a few seconds, with the table in force.
    stops.push(() => notifier.stop());
    // Instance, build and deploy log lines to a syslog receiver (src/logsink), read from the log files on its own time.
    const logSink = new LogSink({ dataDir: options.dataDir, ship: options.name, log, confirmMs: logSinkConfirmSeconds() * 1000 });
    stops.push(() => logSink.stop());
    const sinkFrom = (env: Readonly<Record<string, string>>): void => logSink.configure(sinkTargetOf(env, process.env, log));
    sinkFrom(headquarters.current?.env ?? {});
    headquarters.onChange((next) => sinkFrom(next.env));
    if (options.metricsListen) {
      // Prometheus metrics (src/metrics): agent events and audit tallies counted here, the rest read at each scrape.
      const metrics = new ShipMetrics({
        instances: () => (db.open ? listInstances(db) : []),
        lastGoodSync: () => headquarters.lastGoodSyncAt,
        planeStats: () => plane.stats(),
      });
      agent.onEvent((e) => metrics.agentEvent(e));
      stops.push(onAuditTally((t) => metrics.audit(t)));
      const served = serveMetrics(metrics, options.metricsListen, log);
      stops.push(() => served.close());
    }
    if (headquarters.current) notifier.desired(headquarters.current);
    headquarters.onChange((next) => notifier.desired(next));
    const watch = setInterval(() => void plane.ping().catch((e: unknown) => log(`data plane: ${(e as Error).message}`)), 5000);
    watch.unref();
    stops.push(() => clearInterval(watch));
    // STARPHLEET_HOST_PORTS (HQ .starphleet): what of the ship instances reach as ship.internal, before any starts.
    const followNet = followHqNetwork(agent, db, options.dataDir, log);
    if (headquarters.current) followNet(headquarters.current);
    headquarters.onChange(followNet);
    // Routes go out as the agent adopts services; to an adopted plane, only once all are known (agent.start opens it).
    await agent.start(plane, { handover: predecessor !== undefined });
    stops.push(() => agent.stop());
    headquarters.onChange((next) => agent.setDesired(next));
    if (options.httpsPort !== undefined) {
      // Certificates (HQ ssl/ or ACME) into the data dir; the data plane loads them when told, dropping nothing.
      const certs = new Certificates({ dataDir: options.dataDir, log, reload: () => plane.reloadTls() });
      headquarters.onChange((next) => void certs.setDesired(next));
      if (headquarters.current) void certs.setDesired(headquarters.current);
      stops.push(() => certs.stop());
    }
    const scripts = new Shipscripts({ hqDir: join(options.dataDir, 'hq'), dataDir: options.dataDir, shipName: options.name, headquarters: headquarters.url }, log);
    headquarters.onChange((next) => void scripts.run(() => next.shipscripts));
    stops.push(() => scripts.idle());
    stops.push(startJobs(() => headquarters.current?.jobs ?? null, frontDoorUrl(options), log));
    // The ed25519 host public key goes into ships/<name>: admirals seal HQ secrets.age files to it.
    const ed25519 = hostKeys.find((k) => k.type === 'ssh-ed25519');
    const writeBack = startWriteBack({ ...options, hostKeys: hostKeys.map((k) => k.fingerprint), ...(ed25519 ? { hostPublicKey: ed25519PublicLine(ed25519.privateKey) } : {}), clientKey, db, headquarters, log });
    stops.push(() => writeBack.stop());
    // HQ `<path>/remote` data orders: synced into /var/data every pulse and at once on an HQ change.
    const access = { ...(options.privateKey ? { privateKey: options.privateKey } : {}), knownHostsFile: join(options.dataDir, 'known_hosts') };
    const dataOrders = new DataOrders({ dataDir: options.dataDir, db, access, pulseSeconds: options.pulseSeconds, log, desired: () => headquarters.current });
    dataOrders.start();
    headquarters.onChange(() => dataOrders.syncNow());
    stops.push(() => dataOrders.stop());
    if (predecessor) unlock = takeOverDataDir(options.dataDir, predecessor.pid);
  } catch (e) {
    await predecessor?.failed((e as Error).message);
    await ship.stop();
    throw e;
  }
  headquarters.start();
  await predecessor?.ready(VERSION);
  if (predecessor) notifier.updated(VERSION, previousVersion || 'unknown');
  return ship;
}
