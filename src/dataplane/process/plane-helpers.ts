import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { NOTHING_OPEN, type OpenCounts } from '../embedded/backend.js';
import type { EmbeddedPlane } from '../embedded/embedded-plane.js';
import type { FromHelper, ToHelper } from '../protocol/helper-messages.js';
import type { PlaneEvent, PlaneImpl } from '../protocol/plane.js';
import { ownPlaneProgram } from '../ship-side/plane-entry.js';
import type { DrainResult } from '../embedded/plane-routes.js';
import { mergeStats, requestStats, type RequestStatsSnapshot } from './request-stats.js';
import type { WireTable } from '../protocol/wire.js';

import { planeProcesses } from '../../settings/dataplane-settings.js';
export { planeProcesses };

type Answer = Extract<FromHelper, { id: number; ok: true }>;
type Ask = ToHelper extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One helper process: requests by id over its IPC channel. */
class Helper {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  readonly ready: Promise<void>;
  exited = false;

  constructor(
    readonly child: ChildProcess,
    onEvent: (e: PlaneEvent) => void,
  ) {
    this.ready = new Promise((resolve, reject) => {
      child.on('message', (m: FromHelper) => {
        if ('ready' in m) return resolve();
        if ('event' in m) return onEvent(m.event);
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) return;
        if (m.ok) p.resolve(m);
        else p.reject(new Error(`data plane helper ${child.pid ?? '?'}: ${m.error}`));
      });
      child.once('exit', (code, signal) => {
        this.exited = true;
        const e = new Error(`data plane helper ${child.pid ?? '?'} exited (${code ?? signal ?? '?'})`);
        reject(e);
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      });
    });
  }

  ask(m: Ask): Promise<Answer> {
    if (this.exited) return Promise.reject(new Error('data plane helper gone'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ ...m, id } as ToHelper);
    });
  }
}

/** Published ports are the plane process's alone: helpers never bind them. */
function helperTable(t: WireTable): WireTable {
  return { ...t, routes: t.routes.map(({ publishPort: _p, ...r }) => r) };
}

function add(a: OpenCounts, b: OpenCounts): OpenCounts {
  return { requests: a.requests + b.requests, streams: a.streams + b.streams, upgrades: a.upgrades + b.upgrades };
}

/**
 * The embedded plane in several processes: this one (with the published ports and the control socket) and helpers
 * on its listening sockets. A table goes to all of them before it counts as applied; counts and drains are the sum of
 * every process's own (each exact for what that process has open); a helper that dies is started again with the
 * table in force (what it had open died with it).
 */
export class MultiProcessPlane implements PlaneImpl {
  readonly kind = 'embedded' as const;
  private helpers: Helper[] = [];
  private table: WireTable | null = null;
  private closing = false;

  private constructor(
    private readonly primary: EmbeddedPlane,
    private readonly o: { readonly listen: string; readonly dataDir: string; readonly shipSocket: string; readonly log: Logger; readonly emit: (e: PlaneEvent) => void },
  ) {}

  /** Helpers start with the first table (before it they would answer every request 404 beside this process). */
  static start(primary: EmbeddedPlane, count: number, o: MultiProcessPlane['o']): MultiProcessPlane {
    const me = new MultiProcessPlane(primary, o);
    me.count = count;
    return me;
  }

  private count = 1;
  private started = false;

  private async spawnAll(): Promise<void> {
    this.started = true;
    await Promise.all(Array.from({ length: this.count - 1 }, () => this.spawn()));
    this.o.log(`data plane: ${this.count} processes serve (this one and helper(s) ${this.helpers.map((h) => h.child.pid).join(', ')})`);
  }

  private async spawn(): Promise<void> {
    const table = this.table;
    if (!table) return;
    const program = ownPlaneProgram();
    const main = join(program.root, program.from === 'dist' ? 'dist/dataplane/process/plane-helper-main.js' : 'src/dataplane/process/plane-helper-main.ts');
    const args = program.from === 'dist' ? [main] : ['--import', 'tsx', main];
    const child = spawn(process.execPath, args, { cwd: program.root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const h = new Helper(child, this.o.emit);
    child.once('exit', () => {
      this.helpers = this.helpers.filter((x) => x !== h);
      if (this.closing) return;
      this.o.log(`data plane: helper ${child.pid ?? '?'} exited: starting another`);
      setTimeout(() => void this.spawn().catch((e: unknown) => this.o.log(`data plane: helper: ${(e as Error).message}`)), 1000).unref();
    });
    const l = this.primary.listeners();
    child.send({ op: 'listen', listen: this.o.listen, dataDir: this.o.dataDir, shipSocket: this.o.shipSocket, https: l.https !== null, table: helperTable(table) } satisfies ToHelper, l.http);
    if (l.https) child.send({ op: 'https' } satisfies ToHelper, l.https);
    // In the list at once: a table sent from now on reaches it after the one it started with (IPC keeps the order).
    this.helpers.push(h);
    await h.ready;
  }

  get port(): number {
    return this.primary.port;
  }

  get httpsPort(): number | undefined {
    return this.primary.httpsPort;
  }

  /** This process's answer and each helper's; a helper that died meanwhile had nothing open any more (`gone`). */
  private all<T>(own: Promise<T>, ask: Ask, pick: (a: Answer) => T, gone?: T): Promise<T[]> {
    return Promise.all([
      own,
      ...this.helpers.map((h) =>
        h
          .ask(ask)
          .then(pick)
          .catch((e: unknown) => {
            if (h.exited && gone !== undefined) return gone;
            throw e;
          }),
      ),
    ]);
  }

  async setTable(t: WireTable): Promise<void> {
    this.table = t;
    const helpers = helperTable(t);
    await Promise.all([this.primary.setTable(t), ...this.helpers.map((h) => h.ask({ op: 'set-table', table: helpers }))]);
    if (!this.started) await this.spawnAll();
  }

  async counts(instance: string): Promise<OpenCounts> {
    return (await this.all(this.primary.counts(instance), { op: 'counts', instance }, (a) => a.counts ?? NOTHING_OPEN, NOTHING_OPEN)).reduce(add);
  }

  async closeIdle(instance: string): Promise<void> {
    await this.all(this.primary.closeIdle(instance), { op: 'close-idle', instance }, () => null, null);
  }

  async drain(instance: string, timeoutMs: number): Promise<DrainResult> {
    const done: DrainResult = { drained: true, left: NOTHING_OPEN };
    const each = await this.all(this.primary.drain(instance, timeoutMs), { op: 'drain', instance, timeoutMs }, (a) => a.drain ?? done, done);
    return each.reduce((a, b) => ({ drained: a.drained && b.drained, left: add(a.left, b.left) }));
  }

  async stats(): Promise<RequestStatsSnapshot> {
    const none: RequestStatsSnapshot = { buckets: [], services: {} };
    return mergeStats(await this.all(Promise.resolve(requestStats.snapshot()), { op: 'stats' }, (a) => a.stats ?? none, none));
  }

  async reloadTls(): Promise<string[]> {
    const each = await this.all(this.primary.reloadTls(), { op: 'reload-tls' }, (a) => [...(a.reloaded ?? [])]);
    return each[0] ?? [];
  }

  listeners(): ReturnType<EmbeddedPlane['listeners']> {
    return this.primary.listeners();
  }

  async retire(graceMs: number): Promise<void> {
    this.closing = true;
    await this.all(this.primary.retire(graceMs), { op: 'retire', graceMs }, () => undefined).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.all(this.primary.close(), { op: 'close' }, () => undefined).catch(() => undefined);
    for (const h of this.helpers) if (!h.exited) h.child.kill('SIGKILL');
  }
}
