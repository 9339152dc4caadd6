import { join } from 'node:path';
import type { Headquarters } from '../headquarters/headquarters.js';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { listServiceStatus } from '../state/services.js';
import { previewNames } from '../state/previews.js';
import { setKv } from '../state/hq.js';
import { VERSION } from '../version.js';
import type { ClientKey } from './client-key.js';
import { readReleasePhases } from './release-gate.js';
import { readShips, recordServices, shipAddresses, type ShipRecord } from './record.js';
import { shipsCheckout, writebackDir, writebackSetting } from './ships-checkout.js';
import { WriteBack } from './writeback.js';
import { WriteBackLoop } from './writeback-loop.js';

export interface PhleetShip {
  readonly name: string;
  readonly dataDir: string;
  readonly listen: string;
  readonly sshPort: number;
  readonly httpPort: number;
  readonly privateKey?: string;
  readonly pulseSeconds: number;
  readonly hostKeys: readonly string[];
  /** `ssh-ed25519 AAAA...` of the host key secrets.age files are sealed to (src/secrets/host-key.ts). */
  readonly hostPublicKey?: string;
  readonly clientKey: ClientKey;
  /** `--tag`: written into the entry (placement reads other ships' tags there). */
  readonly tags?: readonly string[];
  readonly db: Db;
  readonly headquarters: Pick<Headquarters, 'remote' | 'current' | 'dir'>;
  readonly log: Logger;
}

/** This ship's entry as HQ holds it now (read from the checkout), the start of `since` times after a restart. */
function ownEntry(s: PhleetShip): ShipRecord | null {
  return readShips(shipsCheckout(s.dataDir, s.headquarters.current?.env)).ships.find((r) => r.name === s.name) ?? null;
}

/** Starts writing `ships/<name>` back to HQ: now, then each pulse in which the record changed. */
export function startWriteBack(s: PhleetShip): WriteBackLoop {
  // STARPHLEET_WRITEBACK, asked each round (HQ .starphleet may set or change it): else HQ's own remote and branch.
  const target = (): { url: string; ref: string | undefined } => {
    const separate = writebackSetting(s.headquarters.current?.env);
    return separate ? { url: separate.url, ref: separate.ref } : { url: s.headquarters.remote.url, ref: s.headquarters.remote.ref };
  };
  const writer = new WriteBack({
    target,
    dir: writebackDir(s.dataDir),
    access: { ...(s.privateKey ? { privateKey: s.privateKey } : {}), knownHostsFile: join(s.dataDir, 'known_hosts') },
    name: s.name,
    log: s.log,
  });
  let previous: ShipRecord | null = null;
  let first = true;
  const record = (): ShipRecord | null => {
    if (!s.headquarters.current) return null;
    if (first) {
      previous = ownEntry(s);
      first = false;
    }
    const phases = readReleasePhases(s.dataDir);
    const previews = previewNames(s.db);
    const r: ShipRecord = {
      name: s.name,
      addresses: shipAddresses(s.listen),
      sshPort: s.sshPort,
      httpPort: s.httpPort,
      hostKeys: [...s.hostKeys],
      ...(s.hostPublicKey !== undefined ? { hostPublicKey: s.hostPublicKey } : {}),
      clientKey: s.clientKey.publicKey,
      ...(s.tags && s.tags.length > 0 ? { tags: [...s.tags] } : {}),
      version: VERSION,
      hq: s.headquarters.current?.sha ?? null,
      // Previews stay out: a branch pushed or deleted is no reason for an HQ commit, and no canary waits on one.
      services: recordServices(listServiceStatus(s.db).filter((row) => !previews.has(row.name)), previous),
      // Only once this ship ran one: entries of ships that never did stay as they were.
      ...(Object.keys(phases).length > 0 ? { releasePhases: phases } : {}),
    };
    previous = r;
    return r;
  };
  const separate = (): boolean => {
    try {
      return writebackSetting(s.headquarters.current?.env) !== null;
    } catch {
      return false;
    }
  };
  // Lost push races (retries) since the ship started, for status (and the phleet simulation's table).
  const stats = { writes: 0, pushed: 0, retries: 0, maxRetries: 0, gaveUp: 0 };
  const tally = (t: { retries: number; pushed: boolean; gaveUp: boolean }): void => {
    stats.writes++;
    if (t.pushed) stats.pushed++;
    if (t.gaveUp) stats.gaveUp++;
    stats.retries += t.retries;
    stats.maxRetries = Math.max(stats.maxRetries, t.retries);
    try {
      setKv(s.db, 'writeback.stats', JSON.stringify(stats));
    } catch {
      // A full disk: the count is for status only.
    }
  };
  setKv(s.db, 'writeback.stats', JSON.stringify(stats));
  const loop = new WriteBackLoop(writer, record, s.pulseSeconds * 1000, s.log, separate, tally);
  loop.start();
  return loop;
}
