import { readdirSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ServiceStatus } from '../state/services.js';
import { shipNameProblem } from './ship-name.js';

/** One service as a ship reports it in its ships/ entry. */
export interface ShipService {
  readonly sha: string | null;
  readonly release: string | null;
  readonly state: string;
  /** When this sha entered this state (ISO time), as the ship says: shown, never trusted (canary.ts counts its own). */
  readonly since: string;
}

/** What a ship writes into HQ `ships/<name>` (JSON, keys in a fixed order, no clock in it unless a state changed). */
export interface ShipRecord {
  readonly name: string;
  readonly addresses: readonly string[];
  readonly sshPort: number;
  readonly httpPort: number;
  readonly hostKeys: readonly string[];
  /** The ship's ed25519 host public key (`ssh-ed25519 AAAA...`): HQ secrets.age files are sealed to it. Absent in
   *  entries of ships from before secrets. */
  readonly hostPublicKey?: string;
  readonly clientKey: string;
  /** The ship's own tags (`starphleet ship --tag`): orders' `on` places by them (with HQ `tags`). Absent when none. */
  readonly tags?: readonly string[];
  readonly version: string;
  /** The HQ sha the ship runs: the newest commit that changed something outside ships/. */
  readonly hq: string | null;
  readonly services: Readonly<Record<string, ShipService>>;
  /** Per service, the newest release phase this ship ran for the phleet (release-gate.ts); absent when none. */
  readonly releasePhases?: Readonly<Record<string, { readonly sha: string; readonly result: 'succeeded' | 'failed'; readonly at: string }>>;
}

/** Where other ships reach this one: the listen address, or every non-loopback address when it listens on all. */
export function shipAddresses(listen: string): string[] {
  if (listen !== '0.0.0.0' && listen !== '::') return [listen];
  const all: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal && (listen === '::' || a.family === 'IPv4')) all.push(a.address);
  return all.length ? all : ['127.0.0.1'];
}

/**
 * Services as the record reports them: `since` is kept from the previous record while sha and state stay the same,
 * so an unchanged ship writes an unchanged file (and so no commit).
 */
export function recordServices(rows: readonly ServiceStatus[], previous: ShipRecord | null, now = new Date()): Record<string, ShipService> {
  const out: Record<string, ShipService> = {};
  for (const r of [...rows].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const before = previous?.services[r.name];
    const same = before && before.sha === r.sha && before.state === r.state && before.release === r.release;
    out[r.name] = { sha: r.sha, release: r.release, state: r.state, since: same ? before.since : now.toISOString() };
  }
  return out;
}

export function formatRecord(r: ShipRecord): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}

function isRecord(v: unknown): v is ShipRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.name === 'string' &&
    Array.isArray(r.addresses) &&
    r.addresses.every((a) => typeof a === 'string') &&
    typeof r.sshPort === 'number' &&
    Array.isArray(r.hostKeys) &&
    r.hostKeys.every((a) => typeof a === 'string') &&
    typeof r.clientKey === 'string' &&
    (r.hostPublicKey === undefined || typeof r.hostPublicKey === 'string') &&
    (r.tags === undefined || (Array.isArray(r.tags) && r.tags.every((t) => typeof t === 'string'))) &&
    typeof r.services === 'object' &&
    r.services !== null
  );
}

export interface PhleetEntries {
  readonly ships: readonly ShipRecord[];
  /** An entry that cannot be read, by file: reported, never fatal (a ship wrote an older or broken format). */
  readonly problems: readonly { readonly file: string; readonly message: string }[];
}

/** Every ships/<name> entry of an HQ checkout, sorted by name. */
export function readShips(hqDir: string): PhleetEntries {
  const ships: ShipRecord[] = [];
  const problems: { file: string; message: string }[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(hqDir, 'ships')).sort();
  } catch {
    return { ships, problems };
  }
  for (const name of names) {
    const file = `ships/${name}`;
    const bad = shipNameProblem(name);
    if (bad) {
      problems.push({ file, message: bad });
      continue;
    }
    try {
      const v: unknown = JSON.parse(readFileSync(join(hqDir, file), 'utf8'));
      if (!isRecord(v)) problems.push({ file, message: 'not a ship entry (name, addresses, sshPort, hostKeys, clientKey, services)' });
      else if (v.name !== name) problems.push({ file, message: `names ship ${JSON.stringify(v.name)}, not ${name}` });
      else ships.push(v);
    } catch (e) {
      problems.push({ file, message: (e as Error).message });
    }
  }
  return { ships, problems };
}
