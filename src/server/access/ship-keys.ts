import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseKeyLine } from '../../headquarters/keys.js';
import type { Admiral } from '../../headquarters/types.js';
import { AdmiralKeys } from './auth.js';

/*
 * The keys of user `ship` (ship-user.ts): the client public keys of HQ `ships/<name>` entries (what each ship writes
 * back, `clientKey`), read from the HQ checkout when a ship logs in (an entry can arrive without any other HQ change).
 */

/** The keys of every readable ships/<name> entry, as grants named `ships/<name>` (no options: nothing to apply). */
export function shipKeys(hqDir: string | null): AdmiralKeys {
  const keys = new AdmiralKeys();
  if (hqDir === null) return keys;
  const grants: Admiral[] = [];
  let names: string[] = [];
  try {
    names = readdirSync(join(hqDir, 'ships')).sort();
  } catch {
    return keys;
  }
  for (const name of names) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) continue;
    try {
      const entry = JSON.parse(readFileSync(join(hqDir, 'ships', name), 'utf8')) as { clientKey?: unknown };
      if (typeof entry.clientKey !== 'string') continue;
      const parsed = parseKeyLine(entry.clientKey);
      // A key with options is not what a ship writes: it admits nothing rather than having them ignored.
      if (typeof parsed === 'string' || parsed.options.length > 0) continue;
      grants.push({ ...parsed, file: `ships/${name}` });
    } catch {
      // A broken entry is phleet's to report (phleet/record.ts); it lets nobody in here.
    }
  }
  keys.replace(grants);
  return keys;
}

