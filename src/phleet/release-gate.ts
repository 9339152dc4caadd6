import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { canaryShips } from './canary.js';
import { readShips } from './record.js';

/** The outcome of one ship's release phase of a service at a sha, as its ships/ entry reports it. */
export interface ReleasePhaseResult {
  readonly sha: string;
  readonly result: 'succeeded' | 'failed';
  readonly at: string;
}

/** Per service, the newest release phase this ship ran: `<data>/phleet-release-phases.json`, written into ships/<name>. */
export type ReleasePhases = Readonly<Record<string, ReleasePhaseResult>>;

const FILE = 'phleet-release-phases.json';

function isResult(v: unknown): v is ReleasePhaseResult {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.sha === 'string' && (r.result === 'succeeded' || r.result === 'failed') && typeof r.at === 'string';
}

/** Only well-formed results: an entry another version of starphleet wrote differently counts as no result. */
function results(v: unknown): Record<string, ReleasePhaseResult> {
  const out: Record<string, ReleasePhaseResult> = {};
  if (typeof v !== 'object' || v === null) return out;
  for (const [k, r] of Object.entries(v as Record<string, unknown>)) if (isResult(r)) out[k] = { sha: r.sha, result: r.result, at: r.at };
  return out;
}

export function readReleasePhases(dataDir: string): ReleasePhases {
  try {
    return results(JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')));
  } catch {
    return {};
  }
}

/** Records this ship's release phase of `service` at `sha`: the next write-back tells the phleet. */
export async function recordReleasePhase(dataDir: string, service: string, sha: string, ok: boolean, now = new Date()): Promise<void> {
  const all = { ...readReleasePhases(dataDir), [service]: { sha, result: ok ? 'succeeded' : 'failed', at: now.toISOString() } };
  const sorted = Object.fromEntries(Object.entries(all).sort(([a], [b]) => (a < b ? -1 : 1)));
  // The write-back reading it meanwhile sees the old file or the new one.
  await writeFileAtomic(join(dataDir, FILE), `${JSON.stringify(sorted, null, 2)}\n`);
}

/**
 * The one ship of the phleet that runs a new release's release phase: the first ship named in HQ `canary`, else the
 * ship whose name sorts first among ships/ and `self` (the ship asking). Null when HQ knows no ship and no self is
 * given. `self` counts even before its own entry is written back: two ships starting together, each seeing only the
 * other's entry, each took the other for the release ship and both waited (a CI run saw it; its status said "waiting
 * for the release phase on ship s2" on s1 and "on ship s1" on s2).
 */
export function releaseShip(hqDir: string, shipsDir = hqDir, self?: string): string | null {
  const canary = canaryShips(hqDir)[0];
  if (canary !== undefined) return canary;
  const names = [...new Set([...readShips(shipsDir).ships.map((s) => s.name), ...(self !== undefined ? [self] : [])])].sort();
  return names[0] ?? null;
}

/** What `ship`'s ships/ entry (in the checkout `shipsDir`, ships-checkout.ts) says of its release phase of `service` at `sha`. */
export function releasePhaseOf(shipsDir: string, ship: string, service: string, sha: string): 'succeeded' | 'failed' | 'pending' {
  const entry = readShips(shipsDir).ships.find((s) => s.name === ship) as { releasePhases?: unknown } | undefined;
  const r = results(entry?.releasePhases)[service];
  return r && r.sha === sha ? r.result : 'pending';
}
