import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import type { Logger } from '../../log.js';
import { VERSION } from '../../version.js';
import { nginxBinary } from '../nginx/nginx-plane.js';
import { isNginxMaster } from '../nginx/nginx-procs.js';
import type { PlaneEvent, PlaneKind } from '../protocol/plane.js';
import { askPlane, isLegacyAnswer, PlaneEvents } from './control-call.js';
import { PlaneClient, type PlaneHandle } from './plane-client.js';
import { ownPlaneProgram, planeArgs, type PlaneProgram } from './plane-entry.js';
import { planePaths } from '../../data-dir/plane-paths.js';
import { isRecordedProcess, readPlaneRecord } from './plane-record.js';
import type { PlaneChoice } from '../../settings/ship-options.js';

export function nginxInstalled(): boolean {
  return spawnSync(nginxBinary(), ['-v'], { stdio: 'ignore' }).status === 0;
}

export function resolvePlaneKind(c: PlaneChoice): PlaneKind {
  if (c !== 'auto') return c;
  return nginxInstalled() ? 'nginx' : 'embedded';
}

export interface PlaneStart {
  readonly dataDir: string;
  readonly kind: PlaneKind;
  readonly listen: string;
  readonly port: number;
  /** `--https-port`; undefined: no TLS. */
  readonly httpsPort?: number | undefined;
  readonly log: Logger;
  readonly onEvent: (e: PlaneEvent) => void;
  /** Whose plane-main a new plane runs; default this program's own (a test of the built tree passes its dist/). */
  readonly program?: PlaneProgram;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function logTail(dataDir: string): string {
  try {
    return readFileSync(planePaths.log(dataDir), 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '';
  }
}

/** The data plane recorded in the data dir, if that process still runs and answers on its control socket. */
async function running(dataDir: string, onEvent: (e: PlaneEvent) => void): Promise<PlaneHandle | null> {
  const rec = readPlaneRecord(dataDir);
  if (!rec || !isRecordedProcess(rec)) return null;
  try {
    const a = await askPlane(planePaths.socket(dataDir), { op: 'hello' });
    if (!a.hello) return null;
    if (isLegacyAnswer(a)) return { events: null, hello: a.hello, legacy: true };
    const events = await PlaneEvents.open(planePaths.socket(dataDir), onEvent);
    return { events, hello: a.hello };
  } catch {
    return null;
  }
}

async function spawnPlane(o: PlaneStart): Promise<PlaneClient> {
  mkdirSync(planePaths.dir(o.dataDir), { recursive: true, mode: 0o700 });
  const out = openSync(planePaths.log(o.dataDir), 'a');
  const own = planeArgs(o.program ?? ownPlaneProgram());
  const args = [...own.args, '--data', o.dataDir, '--kind', o.kind, '--listen', o.listen, '--port', String(o.port), ...(o.httpsPort !== undefined ? ['--https-port', String(o.httpsPort)] : [])];
  // Detached (its own session): a signal to the ship's group or a kill -9 of the ship leaves it serving.
  const child = spawn(process.execPath, args, { detached: true, cwd: own.cwd, stdio: ['ignore', out, out] });
  child.unref();
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? -1));
  for (let i = 0; i < 600; i++) {
    if (exited !== null) throw new Error(`the data plane exited (${exited}) while starting:\n${logTail(o.dataDir)}`);
    const rec = readPlaneRecord(o.dataDir);
    if (rec?.pid === child.pid) {
      const r = await running(o.dataDir, o.onEvent);
      if (r) return new PlaneClient(planePaths.socket(o.dataDir), o.dataDir, r, o.onEvent, false);
    }
    await sleep(50);
  }
  throw new Error(`the data plane did not answer within 30 s:\n${logTail(o.dataDir)}`);
}

/**
 * Starts the data plane or adopts the one an earlier ship left serving (recorded with pid + start time, answering on
 * its control socket). An adopted plane of another version hands over to this version's; one of another kind or
 * port is stopped and started afresh (that change of settings does drop connections).
 */
export async function startDataPlane(o: PlaneStart): Promise<PlaneClient> {
  const r = await running(o.dataDir, o.onEvent);
  if (r) {
    const h = r.hello;
    const sameTls = o.httpsPort === undefined ? h.httpsPort === undefined : h.httpsPort !== undefined && (o.httpsPort === 0 || h.httpsPort === o.httpsPort);
    const samePlace = h.kind === o.kind && h.listen === o.listen && (o.port === 0 || h.port === o.port) && sameTls;
    if (samePlace) {
      const client = new PlaneClient(planePaths.socket(o.dataDir), o.dataDir, r, o.onEvent, true);
      if (h.version === VERSION && !r.legacy) {
        o.log(`data plane: adopted pid ${h.pid} (${h.kind}, ${h.version}) serving port ${h.port}`);
        return client;
      }
      o.log(`data plane: pid ${h.pid} runs version ${h.version}${r.legacy ? ' (one-line-per-request control protocol of before)' : ''}: handing over to ${VERSION}`);
      await client.upgrade();
      o.log(`data plane: pid ${client.pid} (${client.version}) took over port ${client.port}`);
      return client;
    }
    o.log(`data plane: pid ${h.pid} is ${h.kind} on ${h.listen}:${h.port}, wanted ${o.kind} on ${o.listen}:${o.port}: restarting it`);
    await askPlane(planePaths.socket(o.dataDir), { op: 'stop' }).catch(() => undefined);
    r.events?.close();
    await waitGone(o.dataDir);
  }
  const client = await spawnPlane(o);
  o.log(`data plane: started pid ${client.pid} (${client.kind}) on port ${client.port}`);
  return client;
}

/** The ship's client, which starts a new data plane (same kind and port) whenever the running one is gone. */
export async function supervisedDataPlane(o: PlaneStart): Promise<PlaneClient> {
  const client = await startDataPlane(o);
  const port = client.port;
  client.respawn = async () => {
    // A recorded plane that still runs but does not answer is between two binds of its socket (a hand-over): wait.
    for (let i = 0; i < 300; i++) {
      const r = await running(o.dataDir, o.onEvent);
      if (r) return r;
      const rec = readPlaneRecord(o.dataDir);
      if (!rec || !isRecordedProcess(rec)) break;
      await sleep(100);
    }
    o.log('data plane: the running one is gone: starting it again');
    const fresh = await spawnPlane({ ...o, port, ...(client.httpsPort !== undefined ? { httpsPort: client.httpsPort } : {}) });
    o.log(`data plane: started pid ${fresh.pid} (${fresh.kind}) on port ${fresh.port}`);
    return fresh.detach();
  };
  return client;
}

async function waitGone(dataDir: string): Promise<void> {
  const rec = readPlaneRecord(dataDir);
  if (!rec) return;
  for (let i = 0; i < 600 && isRecordedProcess(rec); i++) await sleep(50);
  if (isRecordedProcess(rec)) process.kill(rec.pid, 'SIGKILL');
}

/** Stops the data plane of a data dir (uninstall, tests): it outlives ships by design, so only this ends it. */
export async function stopDataPlane(dataDir: string): Promise<void> {
  const r = await running(dataDir, () => undefined);
  if (r) {
    await askPlane(planePaths.socket(dataDir), { op: 'stop' }).catch(() => undefined);
    r.events?.close();
  } else {
    const rec = readPlaneRecord(dataDir);
    if (rec && isRecordedProcess(rec)) process.kill(rec.pid, 'SIGTERM');
  }
  await waitGone(dataDir);
  // A supervisor killed hard leaves its nginx master behind.
  const conf = `${planePaths.nginx(dataDir)}/nginx.conf`;
  let pid = 0;
  try {
    pid = Number(readFileSync(`${planePaths.nginx(dataDir)}/nginx.pid`, 'utf8').trim());
  } catch {
    return;
  }
  if (!(pid > 0) || !isNginxMaster(pid, conf)) return;
  process.kill(pid, 'SIGQUIT');
  for (let i = 0; i < 200 && isNginxMaster(pid, conf); i++) await sleep(50);
  if (isNginxMaster(pid, conf)) process.kill(pid, 'SIGKILL');
}
