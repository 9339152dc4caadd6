import { existsSync, mkdirSync, rmSync } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import { log } from '../../log.js';
import { VERSION } from '../../version.js';
import { ControlServer } from './control-server.js';
import { EmbeddedPlane } from '../embedded/embedded-plane.js';
import { MultiProcessPlane, planeProcesses } from './plane-helpers.js';
import { NginxPlane } from '../nginx/nginx-plane.js';
import type { PlaneEvent, PlaneImpl, PlaneKind } from '../protocol/plane.js';
import { handOverPlane, receivePlaneSockets } from './plane-handover.js';
import { readPlaneProgram } from '../ship-side/plane-entry.js';
import { planePaths } from '../../data-dir/plane-paths.js';
import { retiringSocket, serveRetiring, withRetiring } from './retiring-planes.js';
import { startTimeOf, writePlaneRecord } from '../ship-side/plane-record.js';
import type { WireTable } from '../protocol/wire.js';

/**
 * The data plane process: `node plane-main --data DIR --kind embedded|nginx --listen ADDR --port N [--takeover]`.
 * Started detached by the ship and outliving it; the ship finds it again through its record and control socket.
 */
function args(argv: readonly string[]): { data: string; kind: PlaneKind; listen: string; port: number; httpsPort?: number; takeover: boolean } {
  const get = (name: string): string => {
    const i = argv.indexOf(name);
    const v = i >= 0 ? argv[i + 1] : undefined;
    if (v === undefined) throw new Error(`data plane: missing ${name}`);
    return v;
  };
  const kind = get('--kind');
  if (kind !== 'embedded' && kind !== 'nginx') throw new Error(`data plane: --kind must be embedded or nginx, got ${JSON.stringify(kind)}`);
  const port = Number(get('--port'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`data plane: --port must be a port number, got ${get('--port')}`);
  const https = argv.includes('--https-port') ? Number(get('--https-port')) : undefined;
  if (https !== undefined && (!Number.isInteger(https) || https < 0 || https > 65535)) throw new Error(`data plane: --https-port must be a port number, got ${get('--https-port')}`);
  return { data: get('--data'), kind, listen: get('--listen'), port, ...(https !== undefined ? { httpsPort: https } : {}), takeover: argv.includes('--takeover') };
}

async function main(): Promise<void> {
  const a = args(process.argv.slice(2));
  mkdirSync(planePaths.dir(a.data), { recursive: true, mode: 0o700 });
  let control: ControlServer | null = null;
  const emit = (e: PlaneEvent): void => control?.emit(e);
  // A takeover gets the older plane's listening sockets and last table over the IPC channel it was started with.
  const inherited = a.takeover ? await receivePlaneSockets() : null;
  let impl: PlaneImpl;
  const tls = a.httpsPort !== undefined ? { httpsPort: a.httpsPort } : {};
  if (a.kind === 'nginx') impl = await NginxPlane.start({ dataDir: a.data, listen: a.listen, port: a.port, log, emit, ...tls });
  else {
    const sockets: { http: NetServer; https?: NetServer; published: ReadonlyMap<number, NetServer> } | undefined = inherited
      ? { http: inherited.http, ...(inherited.https ? { https: inherited.https } : {}), published: inherited.published }
      : undefined;
    const primary = await EmbeddedPlane.start({ listen: a.listen, port: a.port, log, emit, shipSocket: planePaths.shipHttp(a.data), dataDir: a.data, ...tls, ...(sockets ? { inherited: sockets } : {}) });
    const n = planeProcesses();
    impl = n > 1 ? MultiProcessPlane.start(primary, n, { listen: a.listen, dataDir: a.data, shipSocket: planePaths.shipHttp(a.data), log, emit }) : primary;
  }
  let lastTable: WireTable | null = inherited?.table ?? null;
  if (lastTable) await impl.setTable(lastTable);
  // The last table is kept for a newer data plane that takes over.
  const served: PlaneImpl = {
    kind: impl.kind,
    get port() {
      return impl.port;
    },
    get httpsPort() {
      return impl.httpsPort;
    },
    reloadTls: () => impl.reloadTls(),
    setTable: async (t) => {
      await impl.setTable(t);
      lastTable = t;
    },
    // Retiring planes (they handed over to this one) still carry what they had open: a drain counts that too.
    ...withRetiring(a.data, impl),
    ...(impl.stats ? { stats: () => (impl.stats as NonNullable<PlaneImpl['stats']>).call(impl) } : {}),
    close: () => impl.close(),
  };
  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) return;
    stopping = true;
    log(`data plane: stopping (${why})`);
    control?.close();
    void impl.close().finally(() => process.exit(0));
  };
  const hello = () => ({ pid: process.pid, version: VERSION, kind: a.kind, listen: a.listen, port: impl.port, ...(impl.httpsPort !== undefined ? { httpsPort: impl.httpsPort } : {}) });
  let retiring = false;
  control = await ControlServer.start(
    planePaths.socket(a.data),
    () => served,
    {
      hello,
      upgrade: async () => {
        if (retiring) throw new Error('this data plane is handing over already');
        // What to run is what the ship recorded (checked: root's or ours, writable by nobody else), never the request.
        const program = readPlaneProgram(a.data);
        retiring = true;
        // Up before the new plane serves, so its first drain already sees what this one keeps open.
        const answering = impl.kind === 'embedded' ? await serveRetiring(a.data, impl, hello, log) : null;
        process.once('exit', () => rmSync(retiringSocket(a.data, process.pid), { force: true }));
        try {
          await handOverPlane({ program, argv: process.argv.slice(2), impl, table: lastTable, logFile: planePaths.log(a.data), control: () => control, log });
        } catch (e) {
          answering?.close();
          retiring = false;
          throw e;
        }
        stopping = true;
      },
      stop: () => stop('asked by the ship'),
    },
    log,
  );
  writePlaneRecord(a.data, { pid: process.pid, startTime: startTimeOf(process.pid), version: VERSION, kind: a.kind, listen: a.listen, port: impl.port });
  // A data plane whose record is gone (its data dir removed) can never be adopted or stopped by a ship: it ends itself.
  setInterval(() => {
    if (!existsSync(planePaths.record(a.data))) stop('its record in the data dir is gone');
  }, 5000).unref();
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  log(`data plane ${VERSION} (${a.kind}) pid ${process.pid} serves http://${a.listen}:${impl.port}${impl.httpsPort !== undefined ? ` and https://${a.listen}:${impl.httpsPort}` : ''}`);
  inherited?.ready(impl.listeners?.());
}

main().catch((e: unknown) => {
  log(`data plane failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
