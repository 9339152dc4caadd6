import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AgentEvent } from '../agent/events.js';
import type { RequestStatsSnapshot } from '../dataplane/process/request-stats.js';
import type { AuditTally } from '../state/audit-hooks.js';
import type { InstanceRecord } from '../state/instances.js';
import { PlaneMetrics } from './plane-metrics.js';

/** What a scrape reads at that moment. */
export interface ShipReadings {
  instances(): readonly InstanceRecord[];
  /** ms since the epoch of the last good HQ sync; null before the first. */
  lastGoodSync(): number | null;
  /** The data plane's request tally; null when it cannot be read now. */
  planeStats(): Promise<RequestStatsSnapshot | null>;
}

/**
 * SSH users are the ship's own four; anything else a stranger typed is `other`, so a flood of made-up user names
 * cannot grow the exposition without bound.
 */
const KNOWN_USERS = new Set(['admiral', 'git', 'update', 'ship']);
const userLabel = (u: string): string => (KNOWN_USERS.has(u) ? u : 'other');

const PLANE_TIMEOUT_MS = 3000;
const DURATION_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200];

/** The ship's Prometheus metrics (prom-client): counters fed by events, gauges read at scrape time. */
export class ShipMetrics {
  readonly registry = new Registry();
  private readonly plane: PlaneMetrics;
  private readonly deploys: Counter<'service' | 'result'>;
  private readonly deploySeconds: Histogram<'service' | 'result'>;
  private readonly buildSeconds: Histogram<'service' | 'result'>;
  private readonly rollbacks: Counter<'service' | 'result'>;
  private readonly restarts: Counter<'service' | 'process'>;
  private readonly crashLoops: Counter<'service'>;
  private readonly logins: Counter<'user'>;
  private readonly loginFailures: Counter<'user'>;
  private readonly sftpBytes: Counter<'user' | 'direction'>;

  constructor(private readonly readings: ShipReadings) {
    const registers = [this.registry];
    this.plane = new PlaneMetrics(this.registry);
    this.deploys = new Counter({ name: 'starphleet_deploys_total', help: 'Finished deploys per service by result (succeeded, failed, cancelled)', labelNames: ['service', 'result'], registers });
    this.deploySeconds = new Histogram({ name: 'starphleet_deploy_duration_seconds', help: 'Deploy duration (build, release phase, start, health checks, switch) per service and result', labelNames: ['service', 'result'], buckets: DURATION_BUCKETS, registers });
    this.buildSeconds = new Histogram({ name: 'starphleet_build_duration_seconds', help: 'Build duration per service and result', labelNames: ['service', 'result'], buckets: DURATION_BUCKETS, registers });
    this.rollbacks = new Counter({ name: 'starphleet_rollbacks_total', help: 'Rollbacks per service by result', labelNames: ['service', 'result'], registers });
    this.restarts = new Counter({ name: 'starphleet_instance_restarts_total', help: 'Instances started again without a deploy (after a crash, or gone at ship start)', labelNames: ['service', 'process'], registers });
    this.crashLoops = new Counter({ name: 'starphleet_crash_loops_total', help: 'Releases given up on after crashing STARPHLEET_MAX_CRASHES times in a row', labelNames: ['service'], registers });
    this.logins = new Counter({ name: 'starphleet_ssh_logins_total', help: 'SSH logins by user', labelNames: ['user'], registers });
    this.loginFailures = new Counter({ name: 'starphleet_ssh_login_failures_total', help: 'Failed SSH authentication attempts by user (names other than the ship\'s users count as other)', labelNames: ['user'], registers });
    this.sftpBytes = new Counter({ name: 'starphleet_sftp_bytes_total', help: 'File bytes moved over SFTP and scp by user and direction (read: downloads, counted when the file is closed; write: stored uploads)', labelNames: ['user', 'direction'], registers });
    new Gauge({
      name: 'starphleet_instances_up',
      help: 'Instances serving per service and process type',
      labelNames: ['service', 'process'],
      registers,
      collect: () => this.instancesUp(),
    });
    new Gauge({
      name: 'starphleet_hq_last_good_sync_age_seconds',
      help: 'Seconds since the last HQ sync that worked (absent before the first)',
      registers,
      collect() {
        const at = readings.lastGoodSync();
        this.reset();
        if (at !== null) this.set((Date.now() - at) / 1000);
      },
    });
  }

  private instancesUp(): void {
    const g = this.registry.getSingleMetric('starphleet_instances_up') as Gauge<'service' | 'process'>;
    g.reset();
    const up = new Map<string, { service: string; process: string; n: number }>();
    for (const r of this.readings.instances()) {
      if (r.state !== 'serving') continue;
      const k = `${r.service}\n${r.process}`;
      const e = up.get(k) ?? { service: r.service, process: r.process, n: 0 };
      e.n++;
      up.set(k, e);
    }
    for (const e of up.values()) g.set({ service: e.service, process: e.process }, e.n);
  }

  agentEvent(e: AgentEvent): void {
    switch (e.kind) {
      case 'deploy-finished': {
        const result = e.result === 'serving' ? 'succeeded' : e.result;
        this.deploys.inc({ service: e.service, result });
        this.deploySeconds.observe({ service: e.service, result }, e.seconds);
        break;
      }
      case 'build-finished':
        this.buildSeconds.observe({ service: e.service, result: e.ok ? 'succeeded' : 'failed' }, e.seconds);
        break;
      case 'rollback-finished':
        this.rollbacks.inc({ service: e.service, result: e.ok ? 'succeeded' : 'failed' });
        break;
      case 'instance-restarted':
        this.restarts.inc({ service: e.service, process: e.process.split('.')[0] ?? e.process });
        break;
      case 'crash-loop':
        this.crashLoops.inc({ service: e.service });
        break;
      default:
        break;
    }
  }

  audit(t: AuditTally): void {
    if (t.kind === 'auth') (t.ok ? this.logins : this.loginFailures).inc({ user: userLabel(t.user) });
    else this.sftpBytes.inc({ user: userLabel(t.user), direction: t.direction }, t.bytes);
  }

  /** The exposition text, with the data plane's tally read just before. */
  async exposition(): Promise<string> {
    // A data plane that does not answer in time leaves its series out of this scrape rather than holding it up.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), PLANE_TIMEOUT_MS)));
    this.plane.set(await Promise.race([this.readings.planeStats().catch(() => null), late]));
    clearTimeout(timer);
    return this.registry.metrics();
  }
}
