import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLockDir } from './lock-dir.js';
import { dataDirTag } from './net-names.js';
import type { SandboxUser } from './user.js';
import { writeFileAtomicSync } from '../../util/atomic-write.js';
import { uidsSetting } from '../../settings/agent-settings.js';

/**
 * A uid of its own for every service (its builds and its instances), from a block of uids this ship owns. Recorded in
 * <data>/sandbox/uids.json (root-only), so a service keeps its uid across restarts and its files stay its own. The
 * uids have no passwd entry on the host (the sandbox gets a passwd naming its uid `app`): nothing else uses them.
 *
 * The default block is 65536 uids at 0x60000000 + (a hash of the data dir) x 65536, in the range container managers
 * leave to containers (systemd's UIDS-GIDS convention), below 2^31 (uids above trip signed 32-bit code): two ships on
 * one host get different blocks. STARPHLEET_UIDS=<first>-<last> sets it (read when the record is first made).
 */
export interface UidBlock {
  readonly first: number;
  readonly last: number;
}

interface UidRecord extends UidBlock {
  readonly services: Record<string, number>;
}

const BLOCK = 65536;
const BASE = 0x60000000;

export function parseUids(raw: string): UidBlock {
  const m = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(raw);
  const first = m ? Number(m[1]) : NaN;
  const last = m ? Number(m[2]) : NaN;
  if (!m || !(first >= 65536) || !(last >= first + 15) || last >= 2 ** 31) {
    throw new Error(`STARPHLEET_UIDS must be a range of at least 16 uids between 65536 and 2147483647 such as 1610612736-1610678271, got ${JSON.stringify(raw)}`);
  }
  return { first, last };
}

export function defaultUids(dataDir: string): UidBlock {
  const first = BASE + (Number.parseInt(dataDirTag(dataDir).slice(0, 6), 16) % 4096) * BLOCK;
  return { first, last: first + BLOCK - 1 };
}

function recordFile(dataDir: string): string {
  return join(dataDir, 'sandbox', 'uids.json');
}

function read(dataDir: string): UidRecord | null {
  try {
    const r = JSON.parse(readFileSync(recordFile(dataDir), 'utf8')) as UidRecord;
    return Number.isInteger(r.first) && Number.isInteger(r.last) && r.services && typeof r.services === 'object' ? r : null;
  } catch {
    return null;
  }
}

/** uids named in the host's passwd: never handed out, even inside the block. */
function hostUids(): Set<number> {
  const out = new Set<number>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const uid = Number(line.split(':')[2]);
      if (Number.isInteger(uid)) out.add(uid);
    }
  } catch {
    // No passwd to read: nothing to avoid.
  }
  return out;
}

/** The uid (and its group, the same number) of a service's builds and instances; allocated on first use. */
export function serviceUid(dataDir: string, service: string, env: NodeJS.ProcessEnv = process.env): SandboxUser {
  const known = read(dataDir)?.services[service];
  if (known !== undefined) return { name: `app(${service})`, uid: known, gid: known };
  return withLockDir(join(dataDir, 'sandbox', 'uids.lock'), () => {
    const uids = uidsSetting(env);
    const rec: UidRecord = read(dataDir) ?? { ...(uids !== undefined ? parseUids(uids) : defaultUids(dataDir)), services: {} };
    const again = rec.services[service];
    if (again !== undefined) return { name: `app(${service})`, uid: again, gid: again };
    const used = new Set(Object.values(rec.services));
    const host = hostUids();
    let uid = -1;
    // The block's first uid is left out: it reads as the block's root in tools that map blocks (newuidmap, nspawn).
    for (let u = rec.first + 1; u <= rec.last; u++) {
      if (!used.has(u) && !host.has(u)) {
        uid = u;
        break;
      }
    }
    if (uid < 0) throw new Error(`no uid left for service ${service} in ${rec.first}-${rec.last} (STARPHLEET_UIDS)`);
    const next: UidRecord = { ...rec, services: { ...rec.services, [service]: uid } };
    writeFileAtomicSync(recordFile(dataDir), `${JSON.stringify(next, null, 2)}\n`, 0o600);
    return { name: `app(${service})`, uid, gid: uid };
  });
}

/** Every service's uid as recorded (for checks and `stop --all`). */
export function recordedServiceUids(dataDir: string): Record<string, number> {
  return { ...(read(dataDir)?.services ?? {}) };
}
