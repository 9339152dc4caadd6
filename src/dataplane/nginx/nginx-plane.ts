import { execFile } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Logger } from '../../log.js';
import { NOTHING_OPEN, type OpenCounts } from '../embedded/backend.js';
import { frontDoorLimits } from '../embedded/limits.js';
import { parsePublishPort } from '../embedded/publish.js';
import type { PlaneEvent, PlaneImpl } from '../protocol/plane.js';
import { planePaths } from '../../data-dir/plane-paths.js';
import type { DrainResult } from '../embedded/plane-routes.js';
import type { WireTable } from '../protocol/wire.js';
import { nginxCertFiles } from './nginx-certs.js';
import { htpasswdPath, htpasswdText, nginxConfig, type NginxLayout, type NginxSettings, type NginxTls } from './nginx-config.js';
import { httpsPortOf, layoutOf, portOf, readPid, readText } from './nginx-files.js';
import { bootTicks, isNginxMaster, nginxHasHttp2On, openToUpstream, reloadDone, workersOf } from './nginx-procs.js';
import { NginxStatsTail } from './nginx-stats.js';
import { openDataDirToWorkers, shareWith, workerUser } from './nginx-user.js';
import { requestStats } from '../process/request-stats.js';
import type { HoldServer } from '../traffic/hold-server.js';
import { pollInterval } from '../../util/poll-interval.js';
import { allInstances } from '../traffic/nginx-traffic.js';
import { boundPort, whyCannotBind } from '../../util/free-port.js';

const run = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** How long a table waits for nginx to run it (new workers up, old ones shutting down). */
const RELOAD_WAIT_MS = 60_000;

export interface NginxOptions {
  readonly dataDir: string;
  readonly listen: string;
  readonly port: number;
  /** `--https-port`; undefined: no TLS. */
  readonly httpsPort?: number;
  readonly log: Logger;
  readonly emit: (e: PlaneEvent) => void;
}

import { nginxAuthRate, nginxBinary, nginxWorkers } from '../../settings/dataplane-settings.js';
export { nginxBinary, nginxWorkers };

/** nginx's `user` for the workers: the unprivileged worker user as root, none otherwise (nginx would ignore it). */
function userDirective(): string | null {
  const u = workerUser();
  return u ? `${u.name} ${u.group}` : null;
}

/**
 * The nginx data plane: an nginx master of its own (config, pid, logs and temp files in the data dir), supervised by
 * this process. A table becomes a complete config, checked with `nginx -t`, then loaded by a graceful reload (SIGHUP):
 * new workers serve the new table, old ones finish their requests and exit. The master outlives this process; a
 * restarted data plane finds it by its pid file and goes on.
 */
export class NginxPlane implements PlaneImpl {
  readonly kind = 'nginx' as const;
  private published = new Map<number, string>();
  private readonly retired = new Map<string, WireTable['routes'][number]['instance']>();
  private current: WireTable = { routes: [] };
  private readonly problems = new Map<string, string>();
  private tls: NginxTls | undefined;
  private readonly http2On = nginxHasHttp2On();
  /** Where nginx sends a paused service's requests to wait (traffic/hold-server.ts); set by start(). */
  private holder: HoldServer | null = null;

  private constructor(
    private readonly o: NginxOptions,
    private readonly layout: NginxLayout,
    readonly port: number,
    private master: number,
    readonly httpsPort: number | undefined,
  ) {
    if (httpsPort !== undefined) this.tls = nginxCertFiles(o.dataDir, layout.prefix, httpsPort, undefined, o.log).tls;
  }

  /** Loads `tls/serve/` again: a graceful reload, so open connections finish on the old workers with the old certificate. */
  async reloadTls(): Promise<string[]> {
    if (this.httpsPort === undefined) return [];
    const { tls, changed } = nginxCertFiles(this.o.dataDir, this.layout.prefix, this.httpsPort, this.tls, this.o.log);
    this.tls = tls;
    // The config names the same files: a changed certificate needs a reload all the same.
    await this.apply(this.current, changed.length > 0);
    return changed;
  }

  static async start(o: NginxOptions): Promise<NginxPlane> {
    // The holding socket first: a config an adopted nginx runs may already send paused requests to it.
    const u = workerUser();
    const peers = [0, process.getuid?.() ?? 0, ...(u ? [u.uid] : [])];
    // Loaded here, not at the top: the hold server is the embedded proxy (undici), which a ship that runs the embedded
    // plane in its own process never needs (0.1 CPU-s at every ship start).
    const { HoldServer } = await import('../traffic/hold-server.js');
    const holder = await HoldServer.start(planePaths.hold(o.dataDir), peers, frontDoorLimits(), o.log);
    if (u) shareWith(u, planePaths.hold(o.dataDir), 0o660);
    const plane = await NginxPlane.startMaster(o);
    plane.holder = holder;
    // The request metrics: nginx logs each request to a file this process reads on (nginx-stats.ts).
    const tail = new NginxStatsTail(plane.layout.statsLog, requestStats, () => plane.master);
    setInterval(() => void tail.poll().catch(() => undefined), 1000).unref();
    return plane;
  }

  private static async startMaster(o: NginxOptions): Promise<NginxPlane> {
    const layout = layoutOf(o.dataDir);
    for (const d of [layout.prefix, layout.htpasswdDir, layout.tempDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const u = workerUser();
    if (u) openDataDirToWorkers(u, o.dataDir, layout, planePaths.shipHttp(o.dataDir));
    const running = readPid(layout.pid);
    if (running !== null && isNginxMaster(running, layout.conf)) {
      // Adopted: it serves its last config until the ship sends a table (the port is the one that config listens on).
      const port = portOf(layout.conf) ?? o.port;
      const httpsPort = o.httpsPort === undefined ? undefined : (httpsPortOf(layout.conf) ?? o.httpsPort);
      o.log(`data plane: adopted nginx master pid ${running} on port ${port}`);
      return new NginxPlane(o, layout, port, running, httpsPort);
    }
    // nginx cannot tell which port `listen :0` got: a free one is picked here.
    const port = o.port === 0 ? await boundPort(o.listen) : o.port;
    const httpsPort = o.httpsPort === 0 ? await boundPort(o.listen) : o.httpsPort;
    const plane = new NginxPlane(o, layout, port, 0, httpsPort);
    await plane.writeChecked({ routes: [] });
    await run(nginxBinary(), ['-c', layout.conf, '-p', layout.prefix]);
    for (let i = 0; i < 100 && plane.master === 0; i++) {
      const pid = readPid(layout.pid);
      if (pid !== null && isNginxMaster(pid, layout.conf)) plane.master = pid;
      else await sleep(50);
    }
    if (plane.master === 0) throw new Error(`nginx did not start: see ${layout.errorLog}`);
    o.log(`data plane: nginx master pid ${plane.master} on http://${o.listen}:${port}`);
    return plane;
  }

  private settings(published: ReadonlyMap<number, string>): NginxSettings {
    const limits = frontDoorLimits();
    return {
      listen: this.o.listen,
      port: this.port,
      workers: nginxWorkers(process.env),
      user: userDirective(),
      authRate: nginxAuthRate(process.env),
      published,
      headersTimeoutS: Math.ceil(limits.headersTimeoutMs / 1000),
      keepAliveTimeoutS: Math.ceil(limits.keepAliveTimeoutMs / 1000),
      upstreamTimeoutS: Math.ceil(limits.upstreamTimeoutMs / 1000),
      maxHeaderBytes: limits.maxHeaderBytes,
      maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
      http2On: this.http2On,
      shipSocket: planePaths.shipHttp(this.o.dataDir),
      tls: this.tls,
    };
  }

  private problem(service: string, message: string | null): void {
    if ((this.problems.get(service) ?? null) === message) return;
    if (message === null) this.problems.delete(service);
    else {
      this.problems.set(service, message);
      this.o.log(`${service}: ${message}`);
    }
    this.o.emit({ event: 'problem', service, problem: message });
  }

  /** Published ports of the table that can be served: a port nginx could not bind would fail the whole reload. */
  private async publishable(t: WireTable): Promise<Map<number, string>> {
    const wanted = new Map<number, string>();
    const seen = new Set<string>();
    for (const r of t.routes) {
      if (r.publishPort === undefined) continue;
      seen.add(r.service);
      const port = parsePublishPort(r.publishPort);
      if (typeof port === 'string') {
        this.problem(r.service, port);
        continue;
      }
      if (wanted.has(port)) {
        this.problem(r.service, `PUBLISH_PORT ${port} is already published by service ${wanted.get(port) ?? ''}`);
        continue;
      }
      if (!this.published.has(port) && port !== this.port) {
        const why = await whyCannotBind(this.o.listen, port);
        if (why) {
          this.problem(r.service, `PUBLISH_PORT ${port} cannot be served on ${this.o.listen}: ${why}`);
          continue;
        }
      }
      wanted.set(port, r.service);
      this.problem(r.service, null);
    }
    for (const service of [...this.problems.keys()]) if (!seen.has(service)) this.problem(service, null);
    return wanted;
  }

  /** Writes the config of a table and checks it; false when it is the config nginx runs already (no reload needed). */
  private async writeChecked(t: WireTable, force = false): Promise<{ published: Map<number, string>; changed: boolean }> {
    const published = await this.publishable(t);
    let changed = force;
    for (const r of t.routes) {
      if (!r.auth) continue;
      const path = htpasswdPath(this.layout, r.service);
      const text = htpasswdText(r);
      if (readText(path) === text) continue;
      writeFileSync(path, text, { mode: 0o600 });
      // The workers check passwords: their group reads the file, nobody else.
      const u = workerUser();
      if (u) shareWith(u, path, 0o640);
      changed = true;
    }
    const text = nginxConfig(t, this.settings(published), this.layout);
    // A reload closes idle kept-alive client connections (a client may race that), so an unchanged table reloads nothing.
    if (!changed && readText(this.layout.conf) === text) return { published, changed: false };
    const next = `${this.layout.conf}.next`;
    writeFileSync(next, text, { mode: 0o600 });
    try {
      await run(nginxBinary(), ['-t', '-q', '-c', next, '-p', this.layout.prefix]);
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`nginx -t refused the config for this table (nothing changed): ${(err.stderr ?? err.message).trim()}`);
    }
    // rename: the master reads the old file or the new one, never half of one.
    renameSync(next, this.layout.conf);
    return { published, changed: true };
  }

  setTable(t: WireTable): Promise<void> {
    return this.apply(t, false);
  }

  private async apply(t: WireTable, force: boolean): Promise<void> {
    // The holding socket knows the table before nginx does: a newly paused service's first request is held, and a
    // resumed one's held requests go on while nginx still sends it new ones (which then pass straight through).
    this.holder?.setTable(t);
    const { published, changed } = await this.writeChecked(t, force);
    if (!changed) {
      this.current = t;
      return;
    }
    // New workers are told by their start, not by being absent from a list taken before the signal: a master still
    // starting its first workers (a plane given its first table at once) adds some of the old table after it.
    const hupTick = bootTicks();
    process.kill(this.master, 'SIGHUP');
    // Loaded once every worker is a new one or an old one shutting down: from then on no request sees the old table.
    // The wait is long (a loaded 2-core machine was seen to take more than 10 s to start new workers, and a table said
    // applied while old workers still answered sent a service that serves 503s): the ship's switch waits on it.
    let loaded = false;
    for (let i = 0; i < RELOAD_WAIT_MS / 25 && !loaded; i++) {
      loaded = reloadDone(workersOf(this.master), hupTick);
      if (!loaded) await sleep(25);
    }
    if (!loaded) this.o.log(`data plane: nginx: the reload for this table was not seen done in ${RELOAD_WAIT_MS / 1000} s (old workers still accept requests)`);
    const now = new Set(t.routes.flatMap((r) => allInstances(r).map((i) => i.id)));
    for (const r of this.current.routes) for (const i of allInstances(r)) if (!now.has(i.id)) this.retired.set(i.id, i);
    for (const id of now) this.retired.delete(id);
    this.current = t;
    this.published = published;
  }

  private upstreamOf(id: string): WireTable['routes'][number]['instance'] {
    for (const r of this.current.routes) for (const i of allInstances(r)) if (i.id === id) return i;
    return this.retired.get(id) ?? null;
  }

  async counts(instance: string): Promise<OpenCounts> {
    const i = this.upstreamOf(instance);
    const held = this.holder?.counts(instance) ?? NOTHING_OPEN;
    if (!i) return held;
    // What nginx's workers have open to it, and what the holding socket sent on to it after a pause.
    return { requests: openToUpstream(this.master, i.upstream) + held.requests + held.streams, streams: 0, upgrades: held.upgrades };
  }

  /** Old workers close their idle upstream connections as they exit; new ones never dial a retired instance. */
  async closeIdle(): Promise<void> {}

  async drain(instance: string, timeoutMs: number): Promise<DrainResult> {
    const started = Date.now();
    const deadline = started + timeoutMs;
    for (;;) {
      const c = await this.counts(instance);
      if (c.requests === 0) {
        this.retired.delete(instance);
        return { drained: true, left: NOTHING_OPEN };
      }
      if (Date.now() >= deadline) return { drained: false, left: c };
      // A count reads every process's stat and the whole TCP table (thousands of lines on a busy host: 4-40 ms);
      // nginx counts a WebSocket as open, so such a drain lasts its whole bound: after the first seconds, fewer looks.
      await sleep(pollInterval(started, { fastMs: 100, slowMs: 250, forMs: 2000 }));
    }
  }

  /** Stops nginx too (the ship asked the data plane to stop): quit lets the workers finish what they have. */
  async close(): Promise<void> {
    await this.holder?.close();
    if (this.master === 0) return;
    try {
      process.kill(this.master, 'SIGQUIT');
    } catch {
      return;
    }
    for (let i = 0; i < 200 && isNginxMaster(this.master, this.layout.conf); i++) await sleep(50);
    if (isNginxMaster(this.master, this.layout.conf)) process.kill(this.master, 'SIGKILL');
    rmSync(this.layout.pid, { force: true });
  }
}
