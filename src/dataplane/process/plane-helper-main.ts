import type { Server as NetServer } from 'node:net';
import { log } from '../../log.js';
import { EmbeddedPlane } from '../embedded/embedded-plane.js';
import type { FromHelper, ToHelper } from '../protocol/helper-messages.js';
import { Held } from './plane-handover.js';
import { requestStats } from './request-stats.js';

/**
 * One helper process of the embedded data plane: a front door of its own on the plane's listening sockets (the
 * kernel hands each new connection to one of the processes), with the plane's tables; it answers the plane's counts
 * and drains for what it has open. Published ports stay with the plane process. It ends with its parent.
 */
const send = (m: FromHelper): void => {
  process.send?.(m);
};

let plane: EmbeddedPlane | null = null;
let setup: Extract<ToHelper, { op: 'listen' }> | null = null;
let http: Held | null = null;
let https: Held | null = null;
/** Requests that come before the front door serves wait for it (the plane may send a newer table at once). */
let markStarted: () => void = () => undefined;
const started = new Promise<void>((r) => (markStarted = r));

async function start(): Promise<void> {
  if (!setup || !http || (setup.https && !https)) return;
  const s = setup;
  plane = await EmbeddedPlane.start({
    listen: s.listen,
    port: 0,
    log,
    emit: (event) => send({ event }),
    dataDir: s.dataDir,
    shipSocket: s.shipSocket,
    ...(https ? { httpsPort: 0 } : {}),
    inherited: { http: http.server, ...(https ? { https: https.server } : {}), published: new Map() },
  });
  // The table first: connections accepted meanwhile wait in the held sockets, then see it.
  await plane.setTable(s.table);
  // To the front door's servers, which listen on the handles now (the received server objects only held them).
  const own = plane.listeners();
  http.flushInto(own.http);
  if (https && own.https) https.flushInto(own.https);
  markStarted();
  send({ ready: true });
}

async function answer(m: Exclude<ToHelper, { op: 'listen' } | { op: 'https' }>): Promise<void> {
  await started;
  const p = plane;
  try {
    if (!p) throw new Error('the helper has not started');
    switch (m.op) {
      case 'set-table':
        await p.setTable(m.table);
        return send({ id: m.id, ok: true });
      case 'counts':
        return send({ id: m.id, ok: true, counts: await p.counts(m.instance) });
      case 'close-idle':
        await p.closeIdle(m.instance);
        return send({ id: m.id, ok: true });
      case 'drain':
        return send({ id: m.id, ok: true, drain: await p.drain(m.instance, m.timeoutMs) });
      case 'stats':
        return send({ id: m.id, ok: true, stats: requestStats.snapshot() });
      case 'reload-tls':
        return send({ id: m.id, ok: true, reloaded: await p.reloadTls() });
      case 'retire':
        await p.retire(m.graceMs);
        send({ id: m.id, ok: true });
        return process.exit(0);
      case 'close':
        await p.close();
        send({ id: m.id, ok: true });
        return process.exit(0);
    }
  } catch (e) {
    send({ id: m.id, ok: false, error: (e as Error).message });
  }
}

process.on('message', (m: ToHelper, handle: unknown) => {
  if (m.op === 'listen') {
    setup = m;
    http = new Held(handle as NetServer);
    void start().catch((e: unknown) => fail(e));
  } else if (m.op === 'https') {
    https = new Held(handle as NetServer);
    void start().catch((e: unknown) => fail(e));
  } else void answer(m);
});
// The plane process is gone (killed hard): nobody may steer this one any more.
process.on('disconnect', () => {
  void (plane?.close() ?? Promise.resolve()).finally(() => process.exit(0));
});

function fail(e: unknown): void {
  log(`data plane helper failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
}
