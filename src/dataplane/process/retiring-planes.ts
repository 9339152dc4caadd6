import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { NOTHING_OPEN, type OpenCounts } from '../embedded/backend.js';
import type { PlaneHello } from '../protocol/control-messages.js';
import { ControlServer } from './control-server.js';
import { askPlane } from '../ship-side/control-call.js';
import type { ControlAnswer, ControlRequest } from '../protocol/control-messages.js';
import type { PlaneImpl } from '../protocol/plane.js';
import { planePaths } from '../../data-dir/plane-paths.js';
import type { DrainResult } from '../embedded/plane-routes.js';

/**
 * A data plane that handed over keeps the requests, streams and WebSockets it had open until they end (bounded by
 * its grace). The plane in charge must count those too when the ship drains an instance, or it would let the ship stop
 * an instance under a WebSocket the retiring plane still carries. So each retiring plane answers counts and drains
 * on a socket of its own, `<data>/dataplane/retiring-<pid>.sock`, and the plane in charge adds them to its own.
 */
const NAME = /^retiring-(\d+)\.sock$/;

export function retiringSocket(dataDir: string, pid: number): string {
  return join(planePaths.dir(dataDir), `retiring-${pid}.sock`);
}

/** Retiring plane: answers counts, close-idle and drain for what it still has open; nothing else. */
export function serveRetiring(dataDir: string, impl: PlaneImpl, hello: () => PlaneHello, log: Logger): Promise<ControlServer> {
  const limited: PlaneImpl = {
    kind: impl.kind,
    get port() {
      return impl.port;
    },
    setTable: () => Promise.reject(new Error('this data plane is retiring: send tables to the one in charge')),
    counts: (i) => impl.counts(i),
    closeIdle: (i) => impl.closeIdle(i),
    drain: (i, ms) => impl.drain(i, ms),
    // New certificates go to the plane in charge; the connections this one keeps finish on what they have.
    reloadTls: () => Promise.resolve([]),
    close: () => Promise.resolve(),
  };
  return ControlServer.start(
    retiringSocket(dataDir, process.pid),
    () => limited,
    {
      hello,
      upgrade: () => Promise.reject(new Error('this data plane is retiring')),
      stop: () => undefined,
    },
    log,
  );
}

/** The control sockets of the data dir's retiring planes (not this process's own). */
function retiringSockets(dataDir: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(planePaths.dir(dataDir));
  } catch {
    return [];
  }
  return names.filter((n) => NAME.exec(n) && Number(NAME.exec(n)?.[1]) !== process.pid).map((n) => join(planePaths.dir(dataDir), n));
}

function add(a: OpenCounts, b: OpenCounts): OpenCounts {
  return { requests: a.requests + b.requests, streams: a.streams + b.streams, upgrades: a.upgrades + b.upgrades };
}

/** One request to every retiring plane; a plane that exits meanwhile has nothing open any more. */
async function acrossRetiring<T>(dataDir: string, req: ControlRequest, pick: (a: ControlAnswer & { ok: true }) => T): Promise<T[]> {
  const asked = retiringSockets(dataDir).map(async (path) => {
    try {
      return pick(await askPlane(path, req));
    } catch (e) {
      // A retiring plane killed hard leaves its socket: nobody listens, so it holds nothing open.
      if ((e as NodeJS.ErrnoException).code === 'ECONNREFUSED') rmSync(path, { force: true });
      return null;
    }
  });
  return (await Promise.all(asked)).filter((x): x is Awaited<T> => x !== null);
}

/** The plane in charge: its own counts and drains plus those of every retiring plane of the data dir. */
export function withRetiring(dataDir: string, impl: PlaneImpl): Pick<PlaneImpl, 'counts' | 'closeIdle' | 'drain'> {
  return {
    counts: async (instance) => {
      const [own, others] = await Promise.all([impl.counts(instance), acrossRetiring(dataDir, { op: 'counts', instance }, (a) => a.counts ?? NOTHING_OPEN)]);
      return others.reduce(add, own);
    },
    closeIdle: async (instance) => {
      await Promise.all([impl.closeIdle(instance), acrossRetiring(dataDir, { op: 'close-idle', instance }, () => true)]);
    },
    drain: async (instance, timeoutMs): Promise<DrainResult> => {
      const [own, others] = await Promise.all([
        impl.drain(instance, timeoutMs),
        acrossRetiring(dataDir, { op: 'drain', instance, timeoutMs }, (a) => a.drain ?? { drained: true, left: NOTHING_OPEN }),
      ]);
      return others.reduce((a, b) => ({ drained: a.drained && b.drained, left: add(a.left, b.left) }), own);
    },
  };
}
