import { join } from 'node:path';
import { previewWants } from '../../headquarters/previews-orders.js';
import type { DesiredState, Service } from '../../headquarters/types.js';
import { LsRemoteGate } from '../../headquarters/ls-remote-gate.js';
import { canaryShips } from '../../phleet/canary.js';
import { loadPreviews, savePreviews, type PreviewRecord, type PreviewsState } from '../../state/previews.js';
import type { AgentContext } from '../context.js';
import type { AgentEvent } from '../events.js';
import { markPreviewVolumes, removePreviewVolume, sweepPreviewVolumes } from '../sandbox/preview-data.js';
import { expandDesired, type PreviewInputs } from './expand.js';
import { commitTimes, fetchRefCommits, listRemoteRefs } from './refs.js';
import { selectPreviews, type Candidate, type Taken } from './select.js';

/** Refs of one service looked at per listing: a repo with thousands of pull requests is not fetched whole. */
const MAX_CANDIDATES = 200;

/** The branch a service deploys: its orders' ref, else the remote's default branch. */
function deployedRef(service: Service, head: string | null): string | null {
  const ref = service.orders.ref;
  if (ref === undefined) return head;
  return ref.startsWith('refs/') ? ref : `refs/heads/${ref}`;
}

function takenBy(hq: DesiredState): Taken {
  const names = new Map<string, string>();
  const mounts = new Map<string, string>();
  for (const s of hq.services) {
    names.set(s.name, s.ordersFile);
    mounts.set(s.mount, s.ordersFile);
  }
  for (const m of hq.brokenOrders) mounts.set(m, `${m === '/' ? '' : `${m.slice(1)}/`}orders`);
  return { names, mounts, hosts: new Set(hq.services.flatMap((s) => s.orders.proxyFor)) };
}

/**
 * Preview releases (docs/previews.md): each pulse, one `git ls-remote` per service whose orders say `previews` lists
 * its refs; the matching ones are decided (select.ts) and the ones to run join the desired state as services of their
 * own (expand.ts), which the agent reconciles like any other. The decision is kept in the state db (a restarted ship
 * starts from it) and is what `starphleet previews`, status and the dashboard show.
 */
export class Previews {
  private state: PreviewsState;
  /** HQ's desired state (the agent reconciles it with the previews in it: desiredNow). */
  hq: DesiredState | null = null;
  private inputs: ReadonlyMap<string, PreviewInputs> = new Map();
  /** Controllers being removed: their data share stays until their instances are stopped. */
  private readonly removing = new Set<string>();
  /** Each pulse's ls-remote of a previews repo on this machine is skipped while its refs did not move. */
  private readonly refsGate = new LsRemoteGate();

  constructor(private readonly ctx: AgentContext) {
    this.state = loadPreviews(ctx.db);
  }

  get records(): readonly PreviewRecord[] {
    return this.state.records;
  }

  /** Lists the refs of every service with `previews` and decides again; a service whose refs cannot be listed keeps its last decision. */
  async refresh(running: (name: string) => boolean): Promise<void> {
    const hq = this.hq;
    if (!hq) return;
    const now = Date.now();
    const taken = takenBy(hq);
    const canaries = canaryShips(join(this.ctx.dataDir, 'hq'));
    const notHere = canaries.length > 0 && !canaries.includes(this.ctx.shipName) ? `previews run on the canary ships only (${canaries.join(', ')})` : null;
    const withPreviews = hq.services.filter((s) => s.orders.previews !== undefined);
    const problems: Record<string, string> = {};
    const results = await Promise.all(withPreviews.map((s) => this.decide(hq, s, taken, notHere, now, problems)));
    const listed = new Set(this.state.listed.filter((n) => withPreviews.some((s) => s.name === n)));
    withPreviews.forEach((s, i) => {
      if (results[i]?.listed) listed.add(s.name);
    });
    const next: PreviewsState = { records: results.flatMap((r) => r.records), listed: [...listed].sort(), problems };
    const keep = new Set(next.records.filter((r) => r.decision === 'wanted').map((r) => r.name));
    try {
      // Before the desired state names them: a preview's volume is known as one from its first build on.
      markPreviewVolumes(this.ctx.dataDir, keep);
    } catch (e) {
      this.ctx.log(`previews: marking their volumes failed: ${(e as Error).message}`);
    }
    const before = JSON.stringify(this.state);
    this.state = next;
    if (JSON.stringify(next) !== before) {
      this.logChanges(before, next);
      try {
        savePreviews(this.ctx.db, next);
      } catch (e) {
        this.ctx.log(`previews: recording them failed: ${(e as Error).message}`);
      }
    }
    try {
      sweepPreviewVolumes(this.ctx.dataDir, (name) => keep.has(name) || running(name) || this.removing.has(name));
    } catch (e) {
      this.ctx.log(`previews: removing the volumes of gone previews failed: ${(e as Error).message}`);
    }
  }

  private async decide(hq: DesiredState, service: Service, taken: Taken, notHere: string | null, now: number, problems: Record<string, string>): Promise<{ records: PreviewRecord[]; listed: boolean }> {
    const previous = this.state.records.filter((r) => r.service === service.name);
    const o = service.orders.previews;
    if (!o) return { records: [], listed: false };
    let candidates: Candidate[];
    let commitAt = new Map<string, number>();
    try {
      const remote = await listRemoteRefs(service.orders.giturl, this.ctx.access, this.refsGate);
      const deployed = deployedRef(service, remote.head);
      const matching = [...remote.refs].filter(([ref]) => ref !== deployed && previewWants(o, ref));
      // Beyond the bound: the refs already known first, then by name, highest numbers first (newer pull requests).
      matching.sort(([a], [b]) => Number(previous.some((p) => p.ref === b)) - Number(previous.some((p) => p.ref === a)) || b.localeCompare(a, 'en', { numeric: true }));
      if (matching.length > MAX_CANDIDATES) problems[service.name] = `${matching.length} refs match its previews patterns: only ${MAX_CANDIDATES} are looked at`;
      candidates = matching.slice(0, MAX_CANDIDATES).map(([ref, sha]) => ({ ref, sha }));
      const fresh = new Map(candidates.filter((c) => !previous.some((p) => p.ref === c.ref && p.sha === c.sha && p.commitAt !== null)).map((c) => [c.ref, c.sha]));
      if (fresh.size > 0 && !notHere) {
        const failed = await fetchRefCommits(this.ctx.dataDir, service.orders.giturl, fresh, this.ctx.access);
        if (failed.length > 0) problems[service.name] = `fetching ${failed.length} ref(s) failed: ${failed.slice(0, 2).join('; ')}`;
        commitAt = await commitTimes(this.ctx.dataDir, service.orders.giturl, [...fresh.values()]);
      }
    } catch (e) {
      const message = `listing the refs of ${service.orders.giturl} failed: ${(e as Error).message}`;
      problems[service.name] = message;
      if (this.state.problems[service.name] !== message) this.ctx.log(`${service.name}: previews: ${message}`);
      return { records: previous, listed: false };
    }
    const envFile = hq.previewEnv?.find((f) => f.mount === service.mount);
    const hold = notHere ? { decision: 'skipped' as const, reason: notHere } : envFile?.problem ? { decision: 'held' as const, reason: `${envFile.file}: ${envFile.problem}` } : null;
    const firstListing = !this.state.listed.includes(service.name);
    return { records: selectPreviews({ service, candidates, previous, firstListing, commitAt, now, taken, hold }), listed: true };
  }

  /** A line in the ship's log for each preview that starts, stops or changes commit. */
  private logChanges(beforeJson: string, next: PreviewsState): void {
    const before = (JSON.parse(beforeJson) as PreviewsState).records;
    for (const r of next.records) {
      const b = before.find((x) => x.name === r.name && x.ref === r.ref);
      if (r.decision === 'wanted' && (b?.decision !== 'wanted' || b.sha !== r.sha)) this.ctx.log(`${r.service}: preview ${r.name} of ${r.branch} at ${r.sha.slice(0, 7)}`);
      else if (r.decision !== 'wanted' && (b === undefined || b.decision !== r.decision || b.reason !== r.reason)) this.ctx.log(`${r.service}: preview of ${r.branch} ${r.decision}: ${r.reason}`);
    }
    for (const b of before) if (b.decision === 'wanted' && !next.records.some((r) => r.name === b.name)) this.ctx.log(`${b.service}: preview ${b.name}: ${b.branch} is gone`);
  }

  /** HQ's desired state with the previews to run in it (a held one runs on while it has a controller); null before HQ. */
  desiredNow(running: (name: string) => boolean): DesiredState | null {
    if (!this.hq) return null;
    const e = expandDesired(this.hq, this.state.records, (r) => r.decision === 'wanted' || (r.decision === 'held' && running(r.name)));
    this.inputs = e.inputs;
    return e.desired;
  }

  /** HQ's desired state is new: the one to reconcile, with the previews decided last. */
  setHq(hq: DesiredState, running: (name: string) => boolean): DesiredState | null {
    this.hq = hq;
    return this.desiredNow(running);
  }

  /**
   * The HQ env and secrets a deploy of this service gets: a preview's own, else the desired state's; null for a held
   * preview (a bad previews.env): what runs keeps running as it is, nothing deploys.
   */
  inputsOf(name: string, desired: DesiredState | null): PreviewInputs | null {
    if (this.isHeld(name)) return null;
    return this.inputs.get(name) ?? { hqEnv: desired?.env ?? {}, sealed: desired?.secrets ?? [] };
  }

  /** The controllers to route: before HQ is read a preview has no guard to go by, so it is not routed (fail closed). */
  routable<T extends { readonly name: string }>(ctrls: Iterable<T>, desired: DesiredState | null): T[] {
    return [...ctrls].filter((c) => desired !== null || !this.isPreview(c.name));
  }

  isHeld(name: string): boolean {
    return this.state.records.some((r) => r.name === name && r.decision === 'held');
  }

  isPreview(name: string): boolean {
    return this.state.records.some((r) => r.name === name);
  }

  /** A preview's events carry what it previews and its URL (notifications show them). */
  decorate(e: AgentEvent): AgentEvent {
    if (e.kind !== 'deploy-started' && e.kind !== 'deploy-finished') return e;
    const r = this.state.records.find((x) => x.name === e.service);
    return r ? { ...e, preview: { service: r.service, branch: r.branch, url: this.ctx.urlFor(r.mount), hosts: r.hosts } } : e;
  }

  /** A controller's removal: once its instances are stopped and its releases gone, a preview's volume (its /var/data) goes too. */
  async whileRemoving(name: string, removal: Promise<void>): Promise<void> {
    this.removing.add(name);
    try {
      await removal;
      try {
        removePreviewVolume(this.ctx.dataDir, name);
      } catch (e) {
        this.ctx.log(`${name}: removing its volume failed: ${(e as Error).message}`);
      }
    } finally {
      this.removing.delete(name);
    }
  }
}
