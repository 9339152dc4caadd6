import { spawn, type ChildProcess } from 'node:child_process';
import type { Server as NetServer } from 'node:net';
import type { Progress } from './build.js';
import { isToParent } from './handover-messages.js';

/** What the running ship lends its successor during a hand-over (implemented in ../ship-handover-hooks.ts). */
export interface HandoverHooks {
  /** Stops HQ polling: the successor syncs the same checkout. */
  stopHeadquarters(): Promise<void>;
  /** Closes the control socket (not just stops accepting: the successor binds the same path). */
  closeControl(): Promise<void>;
  sshListener(): NetServer;
  /** Stops reconciling (instances keep running; the data plane, its own process, keeps serving). */
  pauseAgent(): Promise<void>;
  /** The successor failed: reconcile, poll HQ and answer on the control socket again. */
  resume(): Promise<void>;
  /** The successor serves: stop accepting, let in-flight requests and sessions finish (up to the grace), stop. */
  retire(): Promise<void>;
}

export type HandoverResult = { readonly ok: true; readonly version: string } | { readonly ok: false; readonly reason: string };

/** The ship's own command line (`ship --headquarters ...`), for the successor: same flags, same env. */
export function shipArgv(argv: readonly string[] = process.argv): string[] {
  return argv.slice(2).filter((a) => a !== '--takeover');
}

/**
 * Starts `node <cli> ship ... --takeover` and answers its requests (see handover-messages.ts) until it is ready or gone. It shares
 * this process's stdout/stderr (the ship's log) and outlives it. A successor that fails, exits or takes longer than
 * timeoutMs is stopped, and this ship takes back what it lent.
 */
export function handOver(hooks: HandoverHooks, o: { cli: string; progress: Progress; timeoutMs: number }): Promise<HandoverResult> {
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [o.cli, ...shipArgv(), '--takeover'], { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
    } catch (e) {
      resolve({ ok: false, reason: `cannot start the new ship: ${(e as Error).message}` });
      return;
    }
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.progress(`hand-over failed: ${reason}; the running ship takes back over\n`);
      const gone = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once('exit', () => r()));
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }
      // Only once it is gone: a dying successor closing its control socket must not unlink the one bound again here.
      void gone.then(() => hooks.resume()).then(
        () => resolve({ ok: false, reason }),
        (e: unknown) => resolve({ ok: false, reason: `${reason}; taking back over failed too: ${(e as Error).message}` }),
      );
    };
    const timer = setTimeout(() => fail(`the new ship was not ready within ${o.timeoutMs / 1000} s`), o.timeoutMs);
    child.on('error', (e) => fail(`cannot start the new ship: ${e.message}`));
    child.on('exit', (code, signal) => fail(`the new ship exited (${signal ? `signal ${signal}` : `exit ${code}`}) before it was ready`));
    child.on('message', (m: unknown) => {
      if (settled || !isToParent(m)) return;
      void (async () => {
        if ('failed' in m) return fail(`the new ship could not start: ${m.failed}`);
        if ('ready' in m) {
          settled = true;
          clearTimeout(timer);
          child.removeAllListeners('exit');
          child.unref();
          child.channel?.unref();
          resolve({ ok: true, version: m.ready });
          return;
        }
        if (m.want === 'control') {
          o.progress('new ship: taking the control socket\n');
          await hooks.stopHeadquarters();
          await hooks.closeControl();
          child.send({ give: 'control' });
        } else if (m.want === 'ssh') {
          o.progress('new ship: sharing the SSH socket\n');
          child.send({ give: 'ssh' }, hooks.sshListener());
        } else {
          o.progress('new ship: adopting the running instances and the data plane\n');
          await hooks.pauseAgent();
          child.send({ give: 'agent' });
        }
      })().catch((e: unknown) => fail((e as Error).message));
    });
  });
}
