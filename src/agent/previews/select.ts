import type { Service } from '../../headquarters/types.js';
import { SAFE_NAME } from '../../paths.js';
import type { PreviewRecord } from '../../state/previews.js';
import { branchOf, previewMount, previewName, slugsFor } from './slug.js';

/** A ref of the service repo its `previews` patterns name (the deployed branch left out), at its commit. */
export interface Candidate {
  readonly ref: string;
  readonly sha: string;
}

/** What the HQ services hold already: a preview never takes one of their names, mounts or virtual hosts. */
export interface Taken {
  readonly names: ReadonlyMap<string, string>;
  readonly mounts: ReadonlyMap<string, string>;
  readonly hosts: ReadonlySet<string>;
}

export interface SelectInput {
  readonly service: Service;
  readonly candidates: readonly Candidate[];
  /** This service's records of the last decision. */
  readonly previous: readonly PreviewRecord[];
  /** True at the first listing of this service's refs: the refs found then count from their commit time. */
  readonly firstListing: boolean;
  /** Committer times (ms) of the candidates' commits the clone holds. */
  readonly commitAt: ReadonlyMap<string, number>;
  readonly now: number;
  readonly taken: Taken;
  /** Why no preview of this service runs on this ship at all (not a canary ship, a bad previews.env): null when they may. */
  readonly hold: { readonly decision: 'skipped' | 'held'; readonly reason: string } | null;
}

function ttlText(seconds: number): string {
  for (const [unit, s] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) if (seconds % s === 0) return `${seconds / s}${unit}`;
  return `${seconds}s`;
}

/**
 * Decides every candidate of one service (docs/previews.md, lifecycle): its slug, name, mount and hosts; then held,
 * skipped (its name is an HQ service's, not a usable name), idle (no new commit for --ttl: counted from the later of
 * its commit time and when this ship saw the ref move there), or in the --max newest (the oldest go first), or
 * skipped for --max. Pure: the same inputs give the same records.
 */
export function selectPreviews(i: SelectInput): PreviewRecord[] {
  const o = i.service.orders.previews;
  if (!o) return [];
  const slugs = slugsFor(i.candidates.map((c) => c.ref));
  const bySlug = new Set<string>();
  const records: (PreviewRecord & { readonly sinceMs: number })[] = [];
  for (const c of i.candidates) {
    const slug = slugs.get(c.ref) as string;
    const prev = i.previous.find((p) => p.ref === c.ref);
    const commitMs = i.commitAt.get(c.sha) ?? (prev?.sha === c.sha && prev.commitAt ? Date.parse(prev.commitAt) : null);
    let sinceMs: number;
    if (prev && prev.sha === c.sha) sinceMs = Math.max(Date.parse(prev.since) || 0, commitMs ?? 0);
    else if (!prev && i.firstListing) sinceMs = commitMs ?? i.now;
    else sinceMs = Math.max(i.now, commitMs ?? 0);
    const name = previewName(i.service.name, slug);
    const mount = previewMount(i.service.mount, slug);
    const hosts = i.service.orders.proxyFor.filter((h) => !h.startsWith('*.')).map((h) => `${slug}.${h}`).filter((h) => h.length <= 253 && !i.taken.hosts.has(h));
    const base = { service: i.service.name, name, mount, ref: c.ref, branch: branchOf(c.ref), slug, sha: c.sha, commitAt: commitMs === null ? null : new Date(commitMs).toISOString(), since: new Date(sinceMs).toISOString(), hosts, sinceMs };
    const owner = i.taken.names.get(name) ?? i.taken.mounts.get(mount);
    let skip: string | null = null;
    if (owner !== undefined) skip = `its name ${name} (${mount}) is taken by ${owner}`;
    else if (!SAFE_NAME.test(name)) skip = `${name} is not a usable service name (too long?)`;
    else if (bySlug.has(slug)) skip = `its slug ${slug} is taken by another ref`;
    bySlug.add(slug);
    if (i.hold) records.push({ ...base, decision: i.hold.decision, reason: i.hold.reason });
    else if (skip) records.push({ ...base, decision: 'skipped', reason: skip });
    else if (o.ttlSeconds !== null && i.now - sinceMs > o.ttlSeconds * 1000) {
      records.push({ ...base, decision: 'idle', reason: `no new commit since ${new Date(sinceMs).toISOString().replace(/\.\d+Z$/, 'Z')} (--ttl ${ttlText(o.ttlSeconds)})` });
    } else records.push({ ...base, decision: 'wanted', reason: '' });
  }
  // --max: the newest run; the oldest commits are the first left out.
  const live = records.filter((r) => r.decision === 'wanted').sort((a, b) => b.sinceMs - a.sinceMs || (Date.parse(b.commitAt ?? '') || 0) - (Date.parse(a.commitAt ?? '') || 0) || (a.ref < b.ref ? -1 : 1));
  const over = new Set(live.slice(o.max).map((r) => r.ref));
  return records
    .map(({ sinceMs: _drop, ...r }) => (over.has(r.ref) ? { ...r, decision: 'skipped' as const, reason: `--max ${o.max}: ${o.max} preview${o.max === 1 ? '' : 's'} with newer commits run` } : r))
    .sort((a, b) => (a.ref < b.ref ? -1 : 1));
}
