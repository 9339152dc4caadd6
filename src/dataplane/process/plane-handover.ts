import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import type { Server as NetServer, Socket } from 'node:net';
import type { Logger } from '../../log.js';
import type { ControlServer } from './control-server.js';
import type { PlaneImpl } from '../protocol/plane.js';
import { planeArgs, type PlaneProgram } from '../ship-side/plane-entry.js';
import { parseWireTable, type WireTable } from '../protocol/wire.js';
import { planeHandoverGraceMs } from '../../settings/dataplane-settings.js';

/**
 * A newer data plane taking over from the running one (an update brought another data-plane version):
 *   old: spawns `plane-main ... --takeover` of the new version with an IPC channel
 *   new: {want:'sockets'}   old: {give:'published', port} + handle for each published port, then {give:'http',
 *                           table} + handle (the embedded plane's listening sockets; nginx keeps its own)
 *   new: serves on them, binds the control socket afresh, writes its record, {ready:true}
 *   old: stops accepting, lets what is in flight finish (up to the grace), exits
 * Both accept on the same listening sockets for a moment, so no connection is refused.
 */
type ToNew = { readonly give: 'published'; readonly port: number } | { readonly give: 'https' } | { readonly give: 'http'; readonly table: WireTable | null };
type ToOld = { readonly want: 'sockets' } | { readonly ready: true } | { readonly failed: string };

/**
 * How long a retired data plane keeps what it still has open (STARPHLEET_PLANE_HANDOVER_GRACE s, default 3600): a
 * WebSocket cannot move between processes, so it stays on the old plane until it ends by itself or its instance is
 * stopped; the old plane exits as soon as nothing is left.
 */
function graceMs(env: NodeJS.ProcessEnv = process.env): number {
  return planeHandoverGraceMs(env);
}
const TIMEOUT_MS = 60_000;

/** A received listening socket keeps the connections it accepts before its new owner listens on it. */
export class Held {
  private readonly early: Socket[] = [];
  constructor(readonly server: NetServer) {
    server.on('connection', (s: Socket) => this.early.push(s));
  }
  /** Passes the early connections to the server that now listens on this handle. */
  flushInto(owner: NetServer): void {
    for (const s of this.early.splice(0)) owner.emit('connection', s);
  }
}

export interface Inherited {
  readonly http: NetServer;
  /** The HTTPS listening socket (--https-port), when the old plane had one. */
  readonly https: NetServer | null;
  readonly published: ReadonlyMap<number, NetServer>;
  readonly table: WireTable | null;
  /** Tells the old data plane this one serves (it then retires); owners: the servers now listening on the handles. */
  ready(owners?: { readonly http: NetServer; readonly https: NetServer | null; readonly published: ReadonlyMap<number, NetServer> }): void;
}

/** New data plane: asks the old one (its parent over IPC) for its sockets and table. */
export function receivePlaneSockets(): Promise<Inherited> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('--takeover needs the IPC channel of the data plane it replaces'));
    const published = new Map<number, Held>();
    let https: Held | null = null;
    const timer = setTimeout(() => reject(new Error('the old data plane sent no sockets in time')), TIMEOUT_MS);
    process.on('message', (m: ToNew, handle: unknown) => {
      if (m.give === 'published' && handle) published.set(m.port, new Held(handle as NetServer));
      if (m.give === 'https' && handle) https = new Held(handle as NetServer);
      if (m.give !== 'http') return;
      clearTimeout(timer);
      const http = handle ? new Held(handle as NetServer) : null;
      const pairs = (o: Parameters<Inherited['ready']>[0]): [Held, NetServer | undefined][] => [
        ...(http ? [[http, o?.http] as [Held, NetServer | undefined]] : []),
        ...(https ? [[https, o?.https ?? undefined] as [Held, NetServer | undefined]] : []),
        ...[...published].map(([port, h]) => [h, o?.published.get(port)] as [Held, NetServer | undefined]),
      ];
      resolve({
        http: (http?.server ?? null) as NetServer,
        https: https?.server ?? null,
        published: new Map([...published].map(([p, h]) => [p, h.server])),
        table: m.table ? parseWireTable(m.table) : null,
        ready: (owners) => {
          // Connections the handles accepted before our servers listened on them go to those servers now (the
          // received server object itself only collects them).
          for (const [h, owner] of pairs(owners)) if (owner) h.flushInto(owner);
          process.send?.({ ready: true } satisfies ToOld);
          process.disconnect?.();
        },
      });
    });
    process.send({ want: 'sockets' } satisfies ToOld);
  });
}

export interface HandOverOptions {
  /** The new data plane's program: the one the ship recorded (plane-entry.ts). */
  readonly program: PlaneProgram;
  readonly argv: readonly string[];
  readonly impl: PlaneImpl;
  readonly table: WireTable | null;
  readonly logFile: string;
  readonly control: () => ControlServer | null;
  readonly log: Logger;
}

/** Old data plane: starts the new one, hands over, and once it serves retires (resolves then; exits after the grace). */
export function handOverPlane(o: HandOverOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const out = openSync(o.logFile, 'a');
    const run = planeArgs(o.program);
    const child = spawn(process.execPath, [...run.args, ...o.argv.filter((x) => x !== '--takeover'), '--takeover'], {
      detached: true,
      cwd: run.cwd,
      stdio: ['ignore', out, out, 'ipc'],
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the new data plane was not ready within ${TIMEOUT_MS / 1000} s`));
    }, TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the new data plane exited (${code}) before it served`));
    });
    child.on('message', (m: ToOld) => {
      if ('want' in m) {
        // Closing our control listener unlinks its path: done before the new plane binds it, never after.
        o.control()?.stopListening();
        const sockets = o.impl.listeners?.() ?? null;
        for (const [port, server] of sockets?.published ?? []) child.send({ give: 'published', port } satisfies ToNew, server);
        if (sockets?.https) child.send({ give: 'https' } satisfies ToNew, sockets.https);
        child.send({ give: 'http', table: o.table } satisfies ToNew, sockets?.http);
        return;
      }
      if ('failed' in m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.unref();
      child.channel?.unref();
      o.log(`data plane: pid ${child.pid ?? '?'} took over; retiring`);
      resolve();
      // The ship's `upgrade` is answered after this resolves: nginx (its master stays) has nothing to retire, but the
      // control connection must outlive that answer, so the old plane goes once the ship has let go of it.
      const retire = o.impl.retire?.(graceMs()) ?? Promise.resolve();
      const answered = o.control()?.idle(10_000) ?? Promise.resolve();
      void Promise.all([retire, answered]).finally(() => {
        o.control()?.close();
        process.exit(0);
      });
    });
  });
}
