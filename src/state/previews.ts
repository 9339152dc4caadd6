import type { Db } from './db.js';
import { getKv, setKv } from './hq.js';

/**
 * Where each preview stands (docs/previews.md), as the agent's previews (src/agent/previews) last decided: one row per
 * matching ref of a service with `previews` orders. A row `wanted` is a service of its own (its name) whose build and
 * serve state is its service row; the others say why they do not run. Kept in the kv table (like the data orders'):
 * a restarted ship starts from it, so no preview is torn down and built again because its branch was not listed yet.
 */
export type PreviewDecision = 'wanted' | 'skipped' | 'idle' | 'held';

export interface PreviewRecord {
  /** The service it previews (its orders have `previews`). */
  readonly service: string;
  /** Its own service name: `<service>--<slug>`. */
  readonly name: string;
  readonly mount: string;
  /** The full ref: refs/heads/feature/a, refs/pull/7/head. */
  readonly ref: string;
  /** What STARPHLEET_PREVIEW says: the branch name, or the full ref for other refs. */
  readonly branch: string;
  readonly slug: string;
  readonly sha: string;
  /** The commit's committer time (ISO), once the ship has the commit. */
  readonly commitAt: string | null;
  /** When the idle clock started: the later of the commit time and when this ship saw the ref move there (ISO). */
  readonly since: string;
  /** `<slug>.<proxy_for name>` virtual hosts. */
  readonly hosts: readonly string[];
  readonly decision: PreviewDecision;
  /** Why it is skipped, idle or held; '' when wanted. */
  readonly reason: string;
}

export interface PreviewsState {
  readonly records: readonly PreviewRecord[];
  /** Services whose refs were listed at least once: refs there at the first listing count from their commit time. */
  readonly listed: readonly string[];
  /** Per service: why its refs could not be listed or fetched at the last try ('' when they were). */
  readonly problems: Readonly<Record<string, string>>;
}

const KEY = 'previews';
const EMPTY: PreviewsState = { records: [], listed: [], problems: {} };

function isRecord(v: unknown): v is PreviewRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  const strings = ['service', 'name', 'mount', 'ref', 'branch', 'slug', 'sha', 'since', 'decision', 'reason'];
  return strings.every((k) => typeof r[k] === 'string') && (r.commitAt === null || typeof r.commitAt === 'string') && Array.isArray(r.hosts);
}

/** What was saved last; an unreadable value reads as nothing saved (the next listing decides again). */
export function loadPreviews(db: Db): PreviewsState {
  try {
    const v = JSON.parse(getKv(db, KEY) ?? 'null') as Partial<PreviewsState> | null;
    if (!v || !Array.isArray(v.records)) return EMPTY;
    return {
      records: v.records.filter(isRecord),
      listed: Array.isArray(v.listed) ? v.listed.filter((s): s is string => typeof s === 'string') : [],
      problems: typeof v.problems === 'object' && v.problems !== null ? v.problems : {},
    };
  } catch {
    return EMPTY;
  }
}

export function savePreviews(db: Db, s: PreviewsState): void {
  setKv(db, KEY, JSON.stringify(s));
}

/** The service names that are previews (what serves production is every other). */
export function previewNames(db: Db): Set<string> {
  return new Set(loadPreviews(db).records.map((r) => r.name));
}
