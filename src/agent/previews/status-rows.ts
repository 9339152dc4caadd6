import type { Db } from '../../state/db.js';
import { loadPreviews } from '../../state/previews.js';
import type { ServiceStatus } from '../../state/services.js';

/** One preview as status, `starphleet previews` and the dashboard show it (docs/previews.md). */
export interface PreviewStatus {
  /** The service it previews. */
  readonly service: string;
  /** Its own service name (releases, logs, SFTP /services/<name>/). */
  readonly name: string;
  readonly branch: string;
  readonly ref: string;
  readonly sha: string;
  /** building, starting, serving, failed (its service's state), pending (not deployed yet), or skipped, idle, held. */
  readonly state: string;
  /** Why it is in that state: the reason it is skipped, idle or held, or its service's message. */
  readonly message: string;
  readonly release: string | null;
  readonly url: string | null;
  /** `http://<slug>.<proxy_for name>/` for each virtual host (port of the front door as in url). */
  readonly hostUrls: readonly string[];
  /** The later of its commit's time and when the ship saw its ref move there: the idle clock's start (ISO). */
  readonly since: string;
  /** Seconds since `since`. */
  readonly age: number;
}

function hostUrl(url: string | null, host: string): string {
  const port = url ? /^https?:\/\/[^/]*?(:\d+)?\//.exec(url)?.[1] ?? '' : '';
  return `${url?.startsWith('https:') ? 'https' : 'http'}://${host}${port}/`;
}

/** The previews the agent decided last, with the state of those that run; ordered by service, then branch. */
export function previewStatus(db: Db, services: readonly ServiceStatus[], now = Date.now()): PreviewStatus[] {
  const state = loadPreviews(db);
  return [...state.records]
    .sort((a, b) => a.service.localeCompare(b.service) || a.branch.localeCompare(b.branch))
    .map((r) => {
      const svc = r.decision === 'wanted' || r.decision === 'held' ? services.find((s) => s.name === r.name) : undefined;
      const running = r.decision === 'wanted' || svc !== undefined;
      const url = running ? (svc?.url ?? null) : null;
      return {
        service: r.service,
        name: r.name,
        branch: r.branch,
        ref: r.ref,
        sha: r.sha,
        state: r.decision === 'wanted' ? (svc?.state ?? 'pending') : r.decision,
        message: r.decision === 'wanted' ? (svc?.message ?? '') : r.reason,
        release: svc?.release ?? null,
        url,
        hostUrls: url ? r.hosts.map((h) => hostUrl(url, h)) : [],
        since: r.since,
        age: Math.max(0, Math.round((now - Date.parse(r.since)) / 1000)),
      };
    });
}

/** Per service with previews, why its refs could not be listed or fetched at the last pulse. */
export function previewProblems(db: Db): string[] {
  return Object.entries(loadPreviews(db).problems).map(([service, p]) => `${service}: previews: ${p}`);
}
