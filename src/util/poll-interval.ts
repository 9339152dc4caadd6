/**
 * The pause before a poll's next look: `fastMs` while less than `forMs` has passed since it started, `slowMs` after.
 * Most waits end in their first moments (an app listens 0.1-0.3 s after its start, a drain's requests finish), so
 * those answer soon; a wait that lasts (an app still compiling, a drain a WebSocket holds to its bound) costs few looks.
 */
export function pollInterval(startedAt: number, o: { readonly fastMs: number; readonly slowMs: number; readonly forMs: number }): number {
  return Date.now() - startedAt < o.forMs ? o.fastMs : o.slowMs;
}
