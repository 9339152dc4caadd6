import { currentHqProblems, getKv } from '../state/hq.js';
import { listServiceStatus } from '../state/services.js';
import { listInstances } from '../state/instances.js';
import { listPins } from '../state/deploys.js';
import type { Db } from '../state/db.js';
import { VERSION } from '../version.js';
import { redactCredentials } from '../util/redact.js';
import { formatProblem } from '../headquarters/format-problem.js';
import { previewProblems, previewStatus, type PreviewStatus } from './previews/status-rows.js';
import { parseContact, type HqContactState } from '../headquarters/contact.js';
import { trafficStatuses, type TrafficStatus } from './traffic/status.js';

/** The status object of the design's contract (plus the HQ problems now in force). */
export interface StatusJson {
  /** sandbox: how service code runs here (the bubblewrap sandbox, or why not). */
  readonly ship: {
    readonly name: string;
    readonly version: string;
    /** contact: when HQ last answered and whether it fails now (headquarters/contact.ts); null before the first check. */
    readonly headquarters: { readonly url: string; readonly sha: string | null; readonly contact: HqContactState | null };
    /** The ship's tags (`--tag`, and HQ `tags`): what orders' `on` places services by. */
    readonly tags: readonly string[];
    /** Its ships/ write-backs since it started: writes, pushes, lost races (retries), the most in one write, rounds given up. */
    readonly writeBack: { readonly writes: number; readonly pushed: number; readonly retries: number; readonly maxRetries: number; readonly gaveUp: number } | null;
    readonly sandbox: string;
    /** Which network path instances use (direct, or the bridge socket) and which ship ports they reach. */
    readonly network?: string;
    /** Disk use of the data dir (releases, layers, caches, logs, state), measured every 30 s; null before the first. */
    readonly dataDir: { readonly bytes: number; readonly at: string } | null;
  };
  readonly services: readonly {
    readonly name: string;
    readonly mount: string;
    readonly giturl: string;
    readonly sha: string | null;
    readonly state: string;
    readonly release: string | null;
    readonly url: string | null;
    readonly message: string;
    /** Running instances of the serving release per process type: `{ web: 2, worker: 1 }`. */
    readonly processes: Readonly<Record<string, number>>;
    /** Set by `rollback`: the release the service is held on, until its ref moves or `unpin`. */
    readonly pin: { readonly release: string; readonly at: string; readonly by: string } | null;
    /** Maintenance, pause and rollout (docs/traffic.md); null: traffic as usual. */
    readonly traffic: TrafficStatus | null;
  }[];
  readonly problems: readonly string[];
  /** HQ data orders (`<path>/remote`): what /var/data/<path> shows, and why the last sync failed. */
  readonly data: readonly DataOrderRow[];
  /** Preview releases (docs/previews.md): each is also in services, under its own name. */
  readonly previews: readonly PreviewStatus[];
}

export interface DataOrderRow {
  readonly path: string;
  readonly file: string;
  readonly giturl: string;
  readonly sha: string | null;
  readonly state: string;
  readonly message: string;
}

/** What the data orders wrote last (src/data-orders); nothing when none ran. */
function dataOrders(db: Db): DataOrderRow[] {
  try {
    const v: unknown = JSON.parse(getKv(db, 'data.orders') ?? '[]');
    return Array.isArray(v) ? (v as DataOrderRow[]) : [];
  } catch {
    return [];
  }
}

export function statusJson(db: Db, name: string, hqUrl: string): StatusJson {
  const instances = listInstances(db);
  const pins = listPins(db);
  const data = dataOrders(db);
  const services = listServiceStatus(db);
  const traffic = trafficStatuses(db);
  return {
    ship: { name, version: VERSION, headquarters: { url: redactCredentials(hqUrl), sha: getKv(db, 'hq.sha') || null, contact: parseContact(getKv(db, 'hq.contact')) }, tags: shipTags(db), writeBack: writeBackStats(db), sandbox: getKv(db, 'ship.sandbox') ?? 'unknown', network: getKv(db, 'ship.network') ?? 'unknown', dataDir: dataDirSize(db) },
    services: services.map((svc) => {
      const processes: Record<string, number> = {};
      for (const i of instances) if (i.service === svc.name && i.release === svc.release && i.state === 'serving') processes[i.process] = (processes[i.process] ?? 0) + 1;
      const pin = pins.find((p) => p.service === svc.name);
      return { ...svc, processes, pin: pin ? { release: pin.release, at: pin.at, by: pin.by } : null, traffic: traffic.get(svc.name) ?? null };
    }),
    problems: [...currentHqProblems(db).map(formatProblem), ...data.filter((d) => d.state === 'failed').map((d) => `${d.file}: data sync failed: ${d.message}`), ...previewProblems(db)],
    data,
    previews: previewStatus(db, services),
  };
}

function writeBackStats(db: Db): StatusJson['ship']['writeBack'] {
  try {
    const v = JSON.parse(getKv(db, 'writeback.stats') ?? 'null') as StatusJson['ship']['writeBack'];
    return v && typeof v.retries === 'number' ? v : null;
  } catch {
    return null;
  }
}

/** The tags the agent places by (stored by it on every desired state: its own and HQ `tags`'). */
function shipTags(db: Db): string[] {
  try {
    const v: unknown = JSON.parse(getKv(db, 'ship.tags') ?? '[]');
    return Array.isArray(v) ? v.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

function dataDirSize(db: Db): { bytes: number; at: string } | null {
  const raw = getKv(db, 'ship.dataDirBytes');
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as { bytes?: unknown; at?: unknown };
    return typeof v.bytes === 'number' && typeof v.at === 'string' ? { bytes: v.bytes, at: v.at } : null;
  } catch {
    return null;
  }
}
