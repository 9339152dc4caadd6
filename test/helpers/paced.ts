import { sleep } from './wait.js';

/**
 * The rate every load of the suite runs at unless a test asks for another: requests a second, all loops together.
 * Unpaced loops answered 3,800 requests a second here and took both cores from every other file of the run; a
 * failure window of a few milliseconds (a listener swap, a reload closing connections) is still met hundreds of times
 * in a test's minute of load at this rate.
 */
export const LOAD_RATE = 250;

/**
 * `n` loops that each run `one` back to back until stop(), paced so that together they start at most `perSecond`
 * requests a second (a loop that falls behind goes on at once, without catching up in a burst).
 */
export function pacedLoops(n: number, one: () => Promise<void>, perSecond = LOAD_RATE): { stop(): Promise<void> } {
  let running = true;
  const every = (1000 * n) / perSecond;
  const loops = Array.from({ length: n }, async (_, i) => {
    // Spread over the first interval: n loops do not all ask in the same millisecond.
    let next = Date.now() + (every * i) / n;
    await sleep(next - Date.now());
    while (running) {
      await one();
      next += every;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      else next = Date.now();
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
