/**
 * Waits ms, or less if the signal aborts. The abort listener is removed when the time is up: a follow loop that
 * sleeps every 200 ms on one long-lived signal would otherwise pile up listeners (MaxListenersExceededWarning after
 * ten, then a leak for as long as the session lasts).
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
