import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { dataPaths } from '../../data-dir/data-paths.js';
import { Backend } from '../../dataplane/embedded/backend.js';
import { loopbackUpstream, type Upstream } from '../../dataplane/protocol/upstream.js';
import { oomKills, pidsRefused, removeCgroup } from '../sandbox/cgroups.js';
import { instanceAddress, instanceSocket, recordedCgroup, removeRunDir } from '../sandbox/sandbox.js';
import type { Db } from '../../state/db.js';
import { deleteInstance, insertInstance, setInstanceState, type InstanceRecord, type InstanceState } from '../../state/instances.js';
import { boundPort } from '../../util/free-port.js';
import { killGroup } from '../../util/process-group.js';
import { groupAlive, isSameProcess, sandboxInits, stopGroup } from './proc.js';
import { spawnInstance, type ExitStatus, type Runtime } from './runtime.js';
import type { Release } from '../types.js';

/**
 * logs/<name>/instance-<release id>-<who>.log, who being the instance's place (web.1, worker.1) or `cron`: the app
 * writes straight into its file (it outlives the ship, so nothing of ours can prefix its lines), and the name says
 * which process type and number printed it.
 */
export function instanceLogFile(dataDir: string, service: string, releaseId: string, who: string): string {
  return join(dataPaths.logs(dataDir, service), `instance-${releaseId}-${who}.log`);
}

/** Where an earlier ship (before per-instance logs) had every instance of a release write. */
function sharedLogFile(dataDir: string, service: string, releaseId: string): string {
  return join(dataPaths.logs(dataDir, service), `instance-${releaseId}.log`);
}

/** A port free a moment ago on loopback (bind :0, read, close), not one of the ports in use by our instances. */
export async function freePort(taken: ReadonlySet<number>): Promise<number> {
  for (;;) {
    const port = await boundPort('127.0.0.1');
    if (!taken.has(port)) return port;
  }
}

const ADOPTED_POLL_MS = 1000;

/**
 * A running instance: its record in the state db, its backend in the front door and a promise of its exit. The ship
 * is the parent of instances it started (exit event); an adopted one (started by an earlier ship process) is polled.
 */
export class Instance {
  private stopRequested = false;
  private why: string | null = null;
  private status: ExitStatus | null = null;
  readonly exited: Promise<void>;
  /** Its entry in the front door: the in-flight count a switch drains. */
  readonly backend: Backend;

  private constructor(
    private readonly db: Db,
    private rec: InstanceRecord,
    readonly logFile: string,
    exited: Promise<ExitStatus | null>,
    dataDir: string,
  ) {
    this.backend = new Backend(rec.id, instanceUpstream(dataDir, rec));
    this.exited = exited.then((status) => {
      this.status = status;
      // The leader is gone; whatever it left in its group goes too (the group cannot be reused while a member lives).
      if (groupAlive(rec.pid)) killGroup(rec.pid, 'SIGKILL');
      this.why = endSandbox(dataDir, rec);
    });
  }

  /** Its exit code or signal, once it exited, when the ship was its parent (null for an adopted one, or still running). */
  get exitStatus(): ExitStatus | null {
    return this.status;
  }

  /** Why it ended, when its sandbox knows (the kernel killed it over its memory limit...); null when not known. */
  get exitReason(): string | null {
    return this.why;
  }

  get record(): InstanceRecord {
    return this.rec;
  }

  get id(): string {
    return this.rec.id;
  }

  get port(): number {
    return this.rec.port;
  }

  /** Its Procfile type: web, worker, ... */
  get process(): string {
    return this.rec.process;
  }

  /** True once stop() was called: an exit then is expected, not a crash. */
  get stopping(): boolean {
    return this.stopRequested;
  }

  /** process: the Procfile type (default web), with its command; only web is routed (has a bridge); index: its number. */
  static start(db: Db, runtime: Runtime, o: { service: string; release: Release; port: number; dataDir: string; process?: string; index?: number; command?: string; secrets?: Readonly<Record<string, string>> }): Instance {
    const process = o.process ?? 'web';
    const logFile = instanceLogFile(o.dataDir, o.service, o.release.config.id, `${process}.${o.index ?? 1}`);
    const id = `${o.release.config.id}-${process === 'web' ? '' : `${process}-`}${randomBytes(3).toString('hex')}`;
    const spec = { id, release: o.release, port: o.port, dataDir: o.dataDir, logFile, process, name: `${process}.${o.index ?? 1}`, routed: process === 'web', ...(o.command !== undefined ? { command: o.command } : {}), ...(o.secrets ? { secrets: o.secrets } : {}) };
    const s = spawnInstance(runtime, spec);
    const rec: InstanceRecord = {
      id,
      service: o.service,
      release: o.release.config.id,
      pid: s.pid,
      startTime: s.startTime,
      port: o.port,
      state: 'starting',
      runtime: runtime.kind,
      startedAt: new Date().toISOString(),
      process,
    };
    insertInstance(db, rec);
    return new Instance(db, rec, logFile, s.exited, o.dataDir);
  }

  /**
   * Takes over an instance an earlier ship process started, if its pid is still that very process; index is the number
   * of the place it takes (web.1...), which names its log. One started by a ship from before per-instance logs still
   * writes to the release's shared log, so its notes go there too.
   */
  static adopt(db: Db, dataDir: string, rec: InstanceRecord, index: number): Instance | null {
    if (!isSameProcess(rec)) return null;
    const exited = new Promise<null>((resolve) => {
      const t = setInterval(() => {
        if (!isSameProcess(rec)) {
          clearInterval(t);
          resolve(null);
        }
      }, ADOPTED_POLL_MS);
      t.unref();
    });
    const own = instanceLogFile(dataDir, rec.service, rec.release, `${rec.process}.${index}`);
    const shared = sharedLogFile(dataDir, rec.service, rec.release);
    return new Instance(db, rec, !existsSync(own) && existsSync(shared) ? shared : own, exited, dataDir);
  }

  alive(): boolean {
    return isSameProcess(this.rec);
  }

  setState(state: InstanceState): void {
    this.rec = { ...this.rec, state };
    setInstanceState(this.db, this.rec.id, state);
  }


  /** A line from the ship in the instance's own log, so `starphleet logs` shows why it was stopped or failed. */
  note(line: string): void {
    try {
      appendFileSync(this.logFile, `${new Date().toISOString()} starphleet: ${line}\n`);
    } catch {
      // The log dir went away with its service: nothing left to tell.
    }
  }

  /** SIGTERM to the app (see stopInstance), SIGKILL to its whole group after graceMs; then it is forgotten. */
  async stop(graceMs: number): Promise<void> {
    this.stopRequested = true;
    await stopInstance(this.rec, graceMs);
    deleteInstance(this.db, this.rec.id);
  }
}

/**
 * Where the front door reaches an instance: a sandbox at its address on the ship's bridge (the direct path: no relay,
 * nothing the sandbox can write on the way) or through the bridge's unix socket (the fallback of a ship that is not
 * root); the process runtime on the ship's loopback.
 */
export function instanceUpstream(dataDir: string, rec: Pick<InstanceRecord, 'id' | 'port' | 'runtime'>): Upstream {
  if (rec.runtime !== 'bwrap') return loopbackUpstream(rec.port);
  const address = instanceAddress(dataDir, rec.id);
  return address !== null ? { kind: 'tcp', host: address, port: rec.port } : { kind: 'unix', path: instanceSocket(dataDir, rec.id) };
}

/**
 * A sandbox gets SIGTERM at its PID 1, which passes it to the app's group and keeps the sandbox up until the app is
 * done; a plain process group gets it directly. Either way the whole group is SIGKILLed after graceMs.
 */
async function stopInstance(rec: InstanceRecord, graceMs: number): Promise<void> {
  if (!isSameProcess(rec)) return;
  if (rec.runtime !== 'bwrap') return stopGroup(rec.pid, graceMs);
  return stopGroup(rec.pid, graceMs, (g) => {
    const inits = sandboxInits(g);
    if (inits.length === 0) killGroup(g, 'SIGTERM');
    for (const pid of inits) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Gone meanwhile.
      }
    }
  });
}

/** After an instance's exit: reads why its cgroup says it ended, then removes the cgroup and its run dir. */
function endSandbox(dataDir: string, rec: InstanceRecord): string | null {
  if (rec.runtime !== 'bwrap') return null;
  const cg = recordedCgroup(dataDir, rec.id);
  let why: string | null = null;
  if (cg) {
    if (oomKills(cg) > 0) why = 'killed by the kernel: it used more memory than its limit (STARPHLEET_MEMORY)';
    else if (pidsRefused(cg) > 0) why = 'it hit its process limit (STARPHLEET_PIDS): forks were refused';
    removeCgroup(cg);
  }
  removeRunDir(dataDir, rec.id);
  return why;
}

/** Kills an instance of a record that is not adopted (not serving any more, or left over); only if it still is ours. */
export async function killRecorded(db: Db, rec: InstanceRecord, graceMs: number, dataDir?: string): Promise<void> {
  await stopInstance(rec, graceMs);
  if (dataDir !== undefined && !isSameProcess(rec)) endSandbox(dataDir, rec);
  deleteInstance(db, rec.id);
}
