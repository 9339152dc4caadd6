import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PulseLoop } from '../../../src/agent/pulse-loop.js';

/** A run that waits until released, counting how many started and how many ran at once. */
function gatedRun(): { run: () => Promise<void>; release: () => void; started: () => number; most: () => number } {
  let started = 0;
  let now = 0;
  let most = 0;
  let open: (() => void)[] = [];
  return {
    run: () => {
      started++;
      now++;
      most = Math.max(most, now);
      return new Promise<void>((r) => open.push(r)).finally(() => now--);
    },
    release: () => {
      const o = open;
      open = [];
      for (const r of o) r();
    },
    started: () => started,
    most: () => most,
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('asks while a pulse runs are answered by exactly one more pulse after it, never two at once', async () => {
  const g = gatedRun();
  const loop = new PulseLoop(g.run, 3600, () => {});
  const first = loop.now();
  const joined = [loop.now(), loop.now(), loop.now()];
  assert.equal(g.started(), 1);
  g.release();
  await first;
  await Promise.all(joined);
  await tick();
  assert.equal(g.started(), 2, 'three asks during the first pulse: one more pulse');
  g.release();
  await tick();
  assert.equal(g.started(), 2);
  assert.equal(g.most(), 1);
  await loop.stop();
});

test('a failed pulse is logged and the loop goes on; after stop nothing runs, start pulses again on its timer', async () => {
  const lines: string[] = [];
  let runs = 0;
  const loop = new PulseLoop(
    async () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    },
    0.01,
    (l) => lines.push(l),
  );
  await loop.now();
  assert.match(lines[0] ?? '', /agent pulse failed: Error: boom/);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(runs >= 2, 'the timer pulsed again after the failure');
  await loop.stop();
  const stoppedAt = runs;
  await loop.now();
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(runs, stoppedAt, 'nothing runs after stop');
  loop.start();
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(runs > stoppedAt, 'start pulses again');
  await loop.stop();
});
