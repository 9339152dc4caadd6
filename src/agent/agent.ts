import type { DesiredState } from '../headquarters/types.js';
import type { DataPlane } from '../dataplane/protocol/plane.js';
import type { DrainResult } from '../dataplane/embedded/plane-routes.js';
import { listInstances } from '../state/instances.js';
import type { AgentContext, AgentSetup } from './context.js';
import { ServiceController } from './deploy/controller.js';
import { adoptAtStart } from './deploy/adopt.js';
import { routeTable } from './deploy/route-table.js';
import { onInstanceExit } from './deploy/crash.js';
import { Guards } from '../dataplane/ship-side/guards.js';
import { instanceLogFile } from './runtime/instances.js';
import { sweepUnfinished } from './releases/sweep.js';
import { DataDirMeter } from './data-dir-size.js';
import { reconcileService, removeController } from './deploy/reconcile.js';
import { logMaxBytes, rotateIfLarge } from './runtime/instance-logs.js';
import { Semaphore } from './deploy/semaphore.js';
import { redeploy, rollbackTo, unpin, type OpResult, type ServiceNow } from './deploy/admiral-ops.js';
import { closeUnfinishedDeploys } from '../state/deploys.js';
import { CronRunner } from './deploy/cron.js';
import type { Release } from './types.js';
import { AgentEvents, type AgentEventListener } from './events.js';
import { SecretsKeeper } from './secrets/keeper.js';
import { serviceUrl } from './service-url.js';
import { Previews } from './previews/previews.js';
import { PlacementState } from './deploy/placement-state.js';
import type { RemoteRefs } from './refs/remote-refs.js';
import { Traffic } from './traffic/traffic.js';
import { buildPush, type PushBuild } from './push/build-push.js';
import { startTestInstance, type TestServe, type TestStart } from './push/test-instance.js';
import { prepareOneOff, type PreparedOneOff } from './deploy/one-off.js';
import { loadRelease } from './releases/release-store.js';
import { PulseLoop } from './pulse-loop.js';
import { TestRouteTable } from './push/test-routes.js';

export interface AgentOptions extends AgentSetup {
  readonly pulseSeconds: number;
  /** Where the front door listens, for the URLs in status; null: no front door (tests of the agent alone). */
  readonly http: { readonly listen: string; readonly port: number } | null;
  /** The host in status URLs when the front door listens on every address. */
  readonly publicHost: string;
  /** The ship's own tags (`--tag`): with HQ `tags`, what orders' `on` places services by. */
  readonly tags?: readonly string[];
  /** The service repos' refs, polled at their own pace (the build side's lookups go through it); absent in unit tests. */
  readonly refs?: RemoteRefs;
}

export type RedeployResult = OpResult;

/**
 * The run side of the ship: reconciles the desired state from HQ with what runs, every pulse and on every new
 * desired state. Stopping the agent leaves serving instances running: the next ship process adopts them.
 */
export class Agent {
  private readonly ctrls = new Map<string, ServiceController>();
  private desired: DesiredState | null = null; // HQ's, with the previews to run (previews/previews.ts)
  private readonly previews: Previews;
  private readonly sem: Semaphore;
  private readonly loop: PulseLoop;
  private stopped = false;
  private readonly removals = new Set<Promise<void>>();
  private door: DataPlane | null = null;
  /** Routes of `git push` test instances (push/test-routes.ts). */
  private readonly testRoutes: TestRouteTable;
  private readonly guards: Guards;
  /** Read once: a bad STARPHLEET_LOG_MAX_BYTES fails the ship's start, not every pulse. */
  private readonly logMax = logMaxBytes();
  readonly ctx: AgentContext;
  /** app.json `cron` entries of every serving release. */
  private readonly cron: CronRunner;
  /** The data dir's size for status (ship.dataDir), measured in the background at most every 30 s. */
  private readonly dataDirMeter: DataDirMeter;
  private readonly events: AgentEvents;
  /** Where services run: placed here or not, the hand-off of those moved elsewhere, the repos' poll settings. */
  private readonly placement: PlacementState;
  /** Maintenance, pauses and rollouts (traffic/traffic.ts): the admiral's commands reach it here. */
  readonly traffic: Traffic;

  constructor(private readonly opts: AgentOptions) {
    this.sem = new Semaphore(opts.limits.maxConcurrentDeploys);
    this.events = new AgentEvents(opts.log);
    this.guards = new Guards(opts.dataDir, opts.log);
    const isStopped = (): boolean => this.stopped;
    const agent = this;
    this.traffic = new Traffic({
      get ctx() {
        return agent.ctx;
      },
      ctrl: (name) => this.ctrls.get(name),
      orders: (name) => this.desired?.services.find((s) => s.name === name)?.orders,
      publish: () => this.publishRoutes(),
      counts: async (id) => (this.door ? this.door.counts(id) : null),
    });
    this.ctx = {
      db: opts.db,
      dataDir: opts.dataDir,
      shipName: opts.shipName,
      access: opts.access,
      log: opts.log,
      build: opts.build,
      runtime: opts.runtime,
      limits: opts.limits,
      urlFor: (mount) => this.urlFor(mount),
      publishRoutes: () => this.publishRoutes(),
      drain: (instance, timeoutMs) => this.drain(instance, timeoutMs),
      takenPorts: () => new Set(listInstances(opts.db).map((r) => r.port)),
      watch: (ctrl, instance) => void instance.exited.then(() => onInstanceExit(this.ctx, ctrl, instance, isStopped)),
      emit: (e) => this.events.emit(this.previews.decorate(e)),
      secrets: SecretsKeeper.forDataDir(opts.dataDir),
      traffic: this.traffic,
    };
    this.previews = new Previews(this.ctx);
    this.cron = new CronRunner(this.ctx, () => [...this.ctrls.values()]);
    this.placement = new PlacementState({ db: opts.db, dataDir: opts.dataDir, shipName: opts.shipName, ...(opts.tags ? { tags: opts.tags } : {}), pulseSeconds: opts.pulseSeconds, ...(opts.refs ? { refs: opts.refs } : {}), log: opts.log });
    this.dataDirMeter = new DataDirMeter(opts.dataDir, opts.db, opts.log);
    this.loop = new PulseLoop(() => this.pulse(), opts.pulseSeconds, opts.log);
    this.testRoutes = new TestRouteTable((mount) => [...this.ctrls.values()].some((c) => !c.removed && c.mount === mount), () => this.publishRoutes());
  }

  /** Deploys, builds, rollbacks, restarts and crash loops as they happen (src/notify, src/metrics listen). */
  onEvent(listener: AgentEventListener): void {
    this.events.listen(listener);
  }

  get frontDoor(): DataPlane | null {
    return this.door;
  }

  /** What is open to an instance through the data plane, waited for up to timeoutMs (what is left then is closed). */
  private async drain(instance: string, timeoutMs: number): Promise<DrainResult> {
    const none: DrainResult = { drained: true, left: { requests: 0, streams: 0, upgrades: 0 } };
    if (!this.door) return none;
    // The table without the instance went out first (same connection, in order): nothing new reaches it.
    await this.sent;
    return this.door.drain(instance, timeoutMs);
  }

  private urlFor(mount: string): string {
    return serviceUrl(this.opts.http, this.opts.publicHost, this.door?.port, mount);
  }

  /** The front door's word on a service's published port (its status message); the door's owner wires it here. */
  doorProblem(service: string, problem: string | null): void {
    const ctrl = this.ctrls.get(service);
    if (!ctrl) return;
    ctrl.doorProblem = problem;
    ctrl.restatus(this.ctx);
  }

  /**
   * Routes through the front door it is handed (built by its owner, ship.ts), adopts the instances an earlier ship
   * process left running (if really ours) and restarts serving releases whose instance is gone, without a rebuild.
   * Then it opens the door: on a hand-over the old ship's sockets are served once every adopted service is routed.
   */
  async start(door: DataPlane | null = null, o: { readonly handover?: boolean } = {}): Promise<void> {
    const { db, dataDir, log } = this.opts;
    this.door = door;
    // A ship killed mid-write left half-written releases and temp files: gone before anything is served or built. Not
    // at a hand-over: the old ship is alive (its `git push` builds still write there) and swept at its own start.
    const swept = o.handover ? [] : await sweepUnfinished(dataDir).catch((e: unknown) => {
      log(`cleaning what an earlier ship left unfinished failed: ${(e as Error).message}`);
      return [];
    });
    if (swept.length > 0) log(`removed ${swept.length} unfinished file(s) an earlier ship left: ${swept.slice(0, 5).join(', ')}${swept.length > 5 ? ', ...' : ''}`);
    await adoptAtStart(this.ctx, { ctrls: this.ctrls, desired: this.desired, removals: this.removals, isStopped: () => this.stopped });
    void this.publishRoutes();
    await this.door?.open();
    closeUnfinishedDeploys(db);
    this.cron.start();
    this.loop.start();
  }

  /** Hand-over, new ship, before start(): the desired state HQ already gives, so routes keep their guards from the start. */
  presetDesired(next: DesiredState): void {
    this.desired = this.previews.setHq(next, (n) => this.ctrls.has(n));
  }

  /** A new desired state from HQ: reconcile now. */
  setDesired(next: DesiredState): void {
    this.presetDesired(next);
    // Access rules, virtual hosts and published ports follow HQ at once, not after the next deploy.
    void this.publishRoutes();
    void this.pulseNow();
  }

  /** Runs a pulse now; one already running is followed by exactly one more (pulse-loop.ts). */
  pulseNow(): Promise<void> {
    return this.loop.now();
  }

  private async pulse(): Promise<void> {
    this.dataDirMeter.tick();
    for (const ctrl of this.ctrls.values()) {
      for (const slot of ctrl.serving?.slots ?? []) if (slot.instance) rotateIfLarge(slot.instance.logFile, this.logMax);
      if (ctrl.serving) rotateIfLarge(instanceLogFile(this.opts.dataDir, ctrl.name, ctrl.serving.release.config.id, 'cron'), this.logMax);
    }
    await this.previews.refresh((n) => this.ctrls.has(n));
    const desired = (this.desired = this.previews.desiredNow((n) => this.ctrls.has(n)));
    if (!desired) return;
    // Placement (`on`): only the services placed on this ship are wanted here.
    const here = this.placement.here(desired);
    const wanted = new Map(here.map((s) => [s.name, s]));
    for (const [name, ctrl] of [...this.ctrls]) {
      if (wanted.has(name)) {
        this.placement.stays(name);
        continue;
      }
      if (this.placement.handingOff(this.ctx, name, ctrl, desired)) continue;
      this.ctrls.delete(name);
      const removal = this.previews.whileRemoving(name, removeController(this.ctx, ctrl)).finally(() => this.removals.delete(removal));
      this.removals.add(removal);
    }
    const work: Promise<void>[] = [];
    for (const service of here) {
      let ctrl = this.ctrls.get(service.name);
      if (!ctrl) {
        ctrl = new ServiceController(service.name, service.mount, !service.orders.unpublished);
        this.ctrls.set(service.name, ctrl);
        void this.publishRoutes();
      }
      const inputs = this.previews.inputsOf(service.name, desired);
      // In parallel: one slow remote must not hold up the other services' checks. A held preview is not reconciled.
      if (inputs) work.push(reconcileService(this.ctx, this.sem, ctrl, service, inputs.hqEnv, inputs.sealed, desired.sha));
    }
    await Promise.all(work);
  }

  /** The last table sent to the data plane: a drain waits for it. */
  private sent: Promise<void> = Promise.resolve();

  /**
   * One route per published service: its serving instance, or none (503) while it has no healthy one. Resolves once
   * the data plane has the table (or said it could not apply it).
   */
  private publishRoutes(): Promise<void> {
    const fd = this.door;
    if (!fd) return this.sent;
    const routes = routeTable(this.previews.routable(this.ctrls.values(), this.desired), this.desired, this.guards, this.testRoutes.routes(), this.traffic);
    if (this.desired) this.traffic.noteHq(this.desired.services);
    this.sent = fd.setTable({ routes }).catch((e: unknown) => this.opts.log(`data plane: the route table was not applied: ${(e as Error).message}`));
    return this.sent;
  }

  private now(name: string): ServiceNow {
    return { name, ctrl: this.ctrls.get(name), service: this.desired?.services.find((s) => s.name === name) };
  }

  /** `starphleet redeploy` (deploy/admiral-ops.ts); a service placed elsewhere has nothing to redeploy here. */
  redeploy(name: string, by = 'local cli'): Promise<RedeployResult> {
    const service = this.desired?.services.find((s) => s.name === name);
    if (service && this.desired && !this.placement.placedHere(this.desired, service)) {
      return Promise.resolve({ ok: true, message: `${name} is not placed on this ship (on ${service.orders.on?.join(' ') ?? ''}): nothing to redeploy here` });
    }
    // An admiral's redeploy builds the ref as it is now, not as the last poll saw it.
    if (service) this.opts.refs?.expire(service.orders.giturl);
    const i = this.previews.inputsOf(name, this.desired);
    return i ? redeploy(this.ctx, this.sem, this.now(name), i.hqEnv, by, i.sealed) : Promise.resolve({ ok: false, message: `${name}: held (see starphleet previews)` });
  }

  /** `starphleet rollback` (deploy/admiral-ops.ts). */
  rollback(name: string, release: string | undefined, by: string): Promise<RedeployResult> {
    return rollbackTo(this.ctx, this.now(name), release, by);
  }

  /** `starphleet unpin` (deploy/admiral-ops.ts). */
  unpin(name: string, by = 'local cli'): RedeployResult {
    return unpin(this.ctx, this.now(name), by, () => void this.pulseNow());
  }

  /** A signed webhook named these repos: from now on they are polled at the slower webhook pace (refs/remote-refs.ts). */
  webhookSeen(giturls: readonly string[]): void {
    for (const u of giturls) this.opts.refs?.pushed(u);
  }

  /** A webhook delivery asks these services to check their refs now; the deploys it starts name it. */
  checkFor(names: readonly string[], because: string, giturls: readonly string[] = []): void {
    // The repos a signed push named are polled now and, a webhook being seen for them, at the slower webhook pace.
    for (const u of giturls) this.opts.refs?.pushed(u);
    for (const n of names) this.ctrls.get(n)?.noteCause(because);
    void this.pulseNow();
  }

  /** The serving release of a service, for a one-off (`starphleet run`); null when nothing serves. */
  servingOf(name: string): Release | null {
    const ctrl = this.ctrls.get(name);
    return ctrl && !ctrl.removed ? (ctrl.serving?.release ?? null) : null;
  }

  /** `starphleet run`: a fresh sandbox of the release for a command the caller spawns (deploy/one-off.ts). */
  prepareOneOff(release: Release, command: string): Promise<PreparedOneOff> {
    return prepareOneOff(this.ctx, release, 'run', command);
  }

  /** The retained releases of a service on disk, oldest first (`starphleet releases`). */
  retainedReleases(service: string): Promise<Release[]> {
    return this.ctx.build.listReleases(this.ctx.dataDir, service);
  }

  /** `git push ship`: builds the pushed commit before git accepts it (push/build-push.ts). */
  buildPush(p: PushBuild): Promise<Release> {
    return buildPush(this.ctx, p);
  }

  /** A built push's release, null when it is gone. */
  pushRelease(service: string, id: string): Promise<Release | null> {
    return loadRelease(this.ctx.dataDir, service, id);
  }

  /** `git push ship`: starts and routes the test instance of a built push (push/test-instance.ts). */
  serveTest(t: TestServe): Promise<TestStart> {
    return startTestInstance(this.ctx, this.testRoutes, t);
  }

  /**
   * Stops pulsing and cancels deploys; serving instances keep running for the next ship process to adopt. The front
   * door is its owner's to close.
   */
  async stop(): Promise<void> {
    await this.pause();
  }

  /** Hand-over, old ship: reconcile no more (a successor adopts the instances) while the front door keeps serving. */
  async pause(): Promise<void> {
    this.stopped = true;
    this.traffic.rollouts.close();
    this.cron.stop();
    const pulsing = this.loop.stop();
    for (const c of this.ctrls.values()) {
      c.abort?.abort();
      c.clearRestarts();
    }
    await pulsing;
    await Promise.allSettled([...this.ctrls.values()].map((c) => c.deploying));
    await Promise.allSettled([...this.removals]);
  }

  /** Hand-over failed: reconcile again. */
  resume(): void {
    this.stopped = false;
    this.cron.start();
    this.loop.start();
  }
}
