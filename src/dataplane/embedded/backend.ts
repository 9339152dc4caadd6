import type { Upstream } from '../protocol/upstream.js';

/** What a connection through the data plane to an instance is: a plain request, an event stream, an upgrade. */
export type ConnKind = 'request' | 'stream' | 'upgrade';

export interface OpenCounts {
  readonly requests: number;
  readonly streams: number;
  readonly upgrades: number;
}

export const NOTHING_OPEN: OpenCounts = { requests: 0, streams: 0, upgrades: 0 };

export function openTotal(c: OpenCounts): number {
  return c.requests + c.streams + c.upgrades;
}

/**
 * An instance as the ship names it to the data plane: its id and where it listens. The data plane (its own process)
 * keeps what is open to it; the ship asks it for those counts when it drains the instance.
 */
export class Backend {
  constructor(
    readonly id: string,
    readonly upstream: Upstream,
  ) {}
}

export function describeCounts(c: OpenCounts): string {
  const parts: string[] = [];
  if (c.requests) parts.push(`${c.requests} request${c.requests === 1 ? '' : 's'}`);
  if (c.streams) parts.push(`${c.streams} event stream${c.streams === 1 ? '' : 's'}`);
  if (c.upgrades) parts.push(`${c.upgrades} upgraded connection${c.upgrades === 1 ? '' : 's'} (WebSocket)`);
  return parts.join(', ') || 'nothing';
}
