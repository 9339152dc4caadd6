import { open, stat } from 'node:fs/promises';
import { instanceLogFile, type Instance } from '../../agent/runtime/instances.js';
import type { Release } from '../../agent/types.js';
import { pushServiceName } from '../../data-dir/push-names.js';
import { auditPushUpdate, getPush } from '../../state/push-audit.js';
import { abortableSleep } from '../../util/abortable-sleep.js';
import type { CommandContext, ShipCommand } from '../command.js';
import { pushServeMeta } from '../meta/internal-meta.js';

const FOLLOW_INTERVAL_MS = 200;

/** The running test instance of each push name: a newer push of the name replaces it. */
const running = new Map<string, { readonly replace: AbortController; readonly done: Promise<void> }>();

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** Appended bytes of the log from `from` on, as text; the new offset. */
async function readFrom(path: string, from: number): Promise<{ text: string; next: number }> {
  const size = await sizeOf(path);
  if (size < from) return { text: '', next: 0 }; // rotated: start over
  if (size === from) return { text: '', next: from };
  const fh = await open(path, 'r');
  try {
    const len = Math.min(size - from, 1 << 20);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, from);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), next: from + bytesRead };
  } finally {
    await fh.close();
  }
}

/** Until the signal: the instance's log as it grows. Resolves with why it stopped. */
async function follow(instance: Instance, from: number, ctx: CommandContext, signal: AbortSignal): Promise<'aborted' | 'exited'> {
  let exited = false;
  void instance.exited.then(() => (exited = true));
  let offset = from;
  for (;;) {
    const { text, next } = await readFrom(instance.logFile, offset);
    offset = next;
    if (text) ctx.err(text);
    if (signal.aborted) return 'aborted';
    if (exited) return 'exited';
    await abortableSleep(FOLLOW_INTERVAL_MS, signal);
  }
}

/**
 * Internal (not in the CLI): after git accepted a built push, the git session runs this through the control socket
 * and relays what it prints to the admiral. Starts the release like autodeploy does (runtime, env, healthcheck), routes
 * it at `/<name>-<sha7>/`, prints the URL, then streams the instance's log until the session goes away (the control
 * connection closes: Ctrl-C, network loss) or a newer push of the name replaces it; then route and instance are gone.
 */
export const pushServeCommand: ShipCommand = {
  ...pushServeMeta,
  async run(args, ctx) {
    const id = /^[1-9][0-9]{0,15}$/.test(args[0] ?? '') ? Number(args[0]) : null;
    const push = id === null ? undefined : getPush(ctx.ship.db, id);
    if (id === null || !push || push.result !== 'built' || !push.release || !push.sha) {
      ctx.err('starphleet: no built push with that id\n');
      return 1;
    }
    const { ship } = ctx;
    const service = pushServiceName(push.name);
    const release = await ship.agent.pushRelease(service, push.release);
    if (!release) {
      auditPushUpdate(ship.db, id, { result: 'failed', message: `release ${push.release} is gone` });
      ctx.err(`starphleet: release ${push.release} of ${push.name} is gone\n`);
      return 1;
    }
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const previous = running.get(push.name);
    let finished!: () => void;
    const mine = { replace: stop, done: new Promise<void>((r) => (finished = r)) };
    running.set(push.name, mine);
    try {
      if (previous) {
        ctx.err(`-----> Stopping the earlier test instance of ${push.name}\n`);
        previous.replace.abort();
        await previous.done;
      }
      return await serve(ctx, id, push.name, push.sha, release, stop.signal);
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      if (running.get(push.name) === mine) running.delete(push.name);
      finished();
    }
  },
};

async function serve(ctx: CommandContext, id: number, name: string, sha: string, release: Release, signal: AbortSignal): Promise<number> {
  const { ship } = ctx;
  const logFile = instanceLogFile(ship.options.dataDir, pushServiceName(name), release.config.id, 'web.1');
  const from = await sizeOf(logFile);
  // The agent starts it as autodeploy would (release phase, launch, route); what it prints goes to the pusher.
  const started = await ship.agent.serveTest({ name, sha, release, signal, line: (line) => ctx.err(`${line}\n`) });
  if (!started.ok) {
    if (started.stage === 'launch') {
      const { text } = await readFrom(logFile, from);
      if (text) ctx.err(text);
    }
    auditPushUpdate(ship.db, id, { result: started.stage !== 'mount' && signal.aborted ? 'stopped' : 'failed', message: started.reason });
    ctx.err(
      started.stage === 'mount'
        ? `starphleet: ${started.mount} is the mount of a service HQ orders: the test instance is not routed\n`
        : `starphleet: the test instance did not start: ${started.reason}\n`,
    );
    return 1;
  }
  const { instance, mount, url } = started;
  auditPushUpdate(ship.db, id, { result: 'serving', message: url });
  ship.log(`push ${name} ${sha.slice(0, 7)}: test instance ${instance.id} serves ${url}`);
  // What the app printed while starting comes first, so the URL and the reminder are the last lines of the start.
  const { text, next } = await readFrom(logFile, from);
  if (text) ctx.err(text);
  ctx.err(`-----> ${name} at ${sha.slice(0, 7)} answers at ${url}\n`);
  ctx.err('       Ctrl-C stops the test instance; its log follows.\n');
  let why: 'aborted' | 'exited';
  try {
    why = await follow(instance, next, ctx, signal);
  } finally {
    await started.stop(signal.aborted ? 'push session ended or replaced' : 'it exited');
    ship.log(`push ${name} ${sha.slice(0, 7)}: test instance ${instance.id} stopped, ${mount} unrouted`);
  }
  auditPushUpdate(ship.db, id, { result: why === 'exited' ? 'failed' : 'stopped', message: why === 'exited' ? 'the test instance exited' : url });
  if (why === 'exited') {
    ctx.err('starphleet: the test instance exited\n');
    return 1;
  }
  if (!ctx.signal.aborted) ctx.err(`-----> A newer push of ${name} replaced this test instance\n`);
  return 0;
}
