/** Thrown from a waitFor condition: waiting longer cannot help (the process it watches is gone), so it fails at once. */
export class GiveUp extends Error {}

/** Polls until fn returns a truthy value (or stops throwing); fails with the last error after timeoutMs. */
export async function waitFor<T>(fn: () => T | Promise<T>, what: string | (() => string), timeoutMs = 15_000, intervalMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      if (e instanceof GiveUp) throw e;
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
