import { statusJson, type StatusJson } from '../agent/status-json.js';
import { recentDeploys, type DeployRecord } from '../state/deploys.js';
import type { Db } from '../state/db.js';
import { getKv, latestHqSyncs, type HqSync } from '../state/hq.js';
import { redactCredentials } from '../util/redact.js';

/** Everything one dashboard page shows, read from the state database at the moment of the request. */
export interface DashboardView {
  readonly status: StatusJson;
  readonly deploys: readonly DeployRecord[];
  readonly lastSync: HqSync | null;
  readonly checkedAt: string | null;
  readonly user: string;
}

export function readView(db: Db, shipName: string, hqUrl: string, user: string): DashboardView {
  const sync = latestHqSyncs(db, 1)[0] ?? null;
  return {
    status: statusJson(db, shipName, hqUrl),
    deploys: recentDeploys(db, 20).map((d) => ({ ...d, reason: redactCredentials(d.reason) })),
    lastSync: sync ? { ...sync, url: redactCredentials(sync.url), message: redactCredentials(sync.message) } : null,
    checkedAt: getKv(db, 'hq.checked_at') ?? null,
    user,
  };
}
