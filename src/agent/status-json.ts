import { currentHqProblems, getKv } from '../state/hq.js';
import { listServiceStatus } from '../state/services.js';
import type { Db } from '../state/db.js';
import { VERSION } from '../version.js';
import { redactCredentials } from '../redact.js';
import { formatProblem } from '../headquarters/format-problem.js';

/** The status object of the design's contract (plus the HQ problems now in force). */
export interface StatusJson {
  /** sandbox: how service code runs here (the bubblewrap sandbox, or why not). */
  readonly ship: { readonly name: string; readonly version: string; readonly headquarters: { readonly url: string; readonly sha: string | null }; readonly sandbox: string };
  readonly services: readonly {
    readonly name: string;
    readonly mount: string;
    readonly giturl: string;
    readonly sha: string | null;
    readonly state: string;
    readonly release: string | null;
    readonly url: string | null;
    readonly message: string;
  }[];
  readonly problems: readonly string[];
}

export function statusJson(db: Db, name: string, hqUrl: string): StatusJson {
  return {
    ship: { name, version: VERSION, headquarters: { url: redactCredentials(hqUrl), sha: getKv(db, 'hq.sha') || null }, sandbox: getKv(db, 'ship.sandbox') ?? 'unknown' },
    services: listServiceStatus(db),
    problems: currentHqProblems(db).map(formatProblem),
  };
}
