import { appendFileSync } from 'node:fs';
import type { AgentContext } from '../context.js';
import { instanceLogFile } from '../runtime/instances.js';
import type { ServiceController } from './controller.js';
import { runOneOff } from './one-off.js';
import { firesAt } from '../../util/cron-schedule.js';

/**
 * app.json `cron`: at each minute, every entry whose schedule fires runs as a one-off of the release serving then, in
 * its sandbox with its env, its output in the instance log. One run of an entry at a time: a run still going when the
 * schedule fires again is not doubled.
 */
export class CronRunner {
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Set<string>();

  constructor(
    private readonly ctx: AgentContext,
    private readonly controllers: () => ServiceController[],
  ) {}

  start(): void {
    if (this.timer) return;
    const next = (): void => {
      const now = Date.now();
      this.timer = setTimeout(() => {
        this.tick(new Date(Math.round(Date.now() / 60_000) * 60_000));
        next();
      }, 60_000 - (now % 60_000) + 50);
      this.timer.unref();
    };
    next();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private tick(minute: Date): void {
    for (const ctrl of this.controllers()) {
      const release = ctrl.serving?.release;
      if (!release || ctrl.removed) continue;
      (release.config.manifest?.cron ?? []).forEach((entry, i) => {
        const key = `${ctrl.name} ${i} ${entry.command}`;
        if (this.running.has(key) || !firesAt(entry.schedule, minute)) return;
        this.running.add(key);
        const file = instanceLogFile(this.ctx.dataDir, ctrl.name, release.config.id, 'cron');
        const log = (line: string): void => {
          try {
            appendFileSync(file, `${line}\n`);
          } catch {
            // The service went away meanwhile.
          }
        };
        log(`${new Date().toISOString()} starphleet: cron (app.json, ${entry.schedule}): ${entry.command}`);
        void runOneOff(this.ctx, release, 'cron', entry.command, { log, timeoutMs: this.ctx.limits.buildTimeoutMs })
          .then((r) => log(`${new Date().toISOString()} starphleet: cron ${entry.command}: ${r.stopped ?? `exit ${r.code ?? 'by signal'}`}`))
          .catch((e: unknown) => log(`${new Date().toISOString()} starphleet: cron ${entry.command} did not run: ${(e as Error).message}`))
          .finally(() => this.running.delete(key));
      });
    }
  }
}
