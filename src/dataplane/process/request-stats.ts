/**
 * Requests the data plane answered, per service: counts by status class and a latency histogram, since this data
 * plane process started. The ship reads them over the control socket (`stats`) for its Prometheus metrics.
 */
export const LATENCY_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';

export interface ServiceRequestStats {
  /** Requests by status class of the answer the client got (a client gone before its answer counts as its status then). */
  readonly classes: Partial<Record<StatusClass, number>>;
  /** Per bucket of LATENCY_BUCKETS (not cumulative), then one more for above the last bound. */
  readonly buckets: number[];
  readonly sum: number;
  readonly count: number;
}

export interface RequestStatsSnapshot {
  readonly buckets: readonly number[];
  readonly services: Record<string, ServiceRequestStats>;
}

/** Services are HQ mounts (bounded by HQ), but a table churned by tests or bad orders must not grow this forever. */
const MAX_SERVICES = 1000;

function classOf(status: number): StatusClass {
  if (status < 200) return '1xx';
  if (status < 300) return '2xx';
  if (status < 400) return '3xx';
  if (status < 500) return '4xx';
  return '5xx';
}

export class RequestStats {
  private readonly services = new Map<string, { classes: Partial<Record<StatusClass, number>>; buckets: number[]; sum: number; count: number }>();

  observe(service: string, status: number, seconds: number): void {
    let s = this.services.get(service);
    if (!s) {
      if (this.services.size >= MAX_SERVICES) return;
      s = { classes: {}, buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
      this.services.set(service, s);
    }
    const c = classOf(status);
    s.classes[c] = (s.classes[c] ?? 0) + 1;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++;
    s.buckets[i] = (s.buckets[i] ?? 0) + 1;
    s.sum += seconds;
    s.count++;
  }

  snapshot(): RequestStatsSnapshot {
    const services: Record<string, ServiceRequestStats> = {};
    for (const [name, s] of this.services) services[name] = { classes: { ...s.classes }, buckets: [...s.buckets], sum: s.sum, count: s.count };
    return { buckets: LATENCY_BUCKETS, services };
  }
}

/** The data plane process's one tally (the embedded front door writes it, the control socket reads it). */
export const requestStats = new RequestStats();

/** Several processes' tallies as one (the embedded plane's helper processes, plane-helpers.ts). */
export function mergeStats(all: readonly RequestStatsSnapshot[]): RequestStatsSnapshot {
  const services: Record<string, ServiceRequestStats> = {};
  for (const snap of all) {
    for (const [name, s] of Object.entries(snap.services)) {
      const had = services[name];
      if (!had) {
        services[name] = { classes: { ...s.classes }, buckets: [...s.buckets], sum: s.sum, count: s.count };
        continue;
      }
      const classes: Partial<Record<StatusClass, number>> = { ...had.classes };
      for (const [c, n] of Object.entries(s.classes) as [StatusClass, number][]) classes[c] = (classes[c] ?? 0) + n;
      services[name] = { classes, buckets: had.buckets.map((n, i) => n + (s.buckets[i] ?? 0)), sum: had.sum + s.sum, count: had.count + s.count };
    }
  }
  return { buckets: LATENCY_BUCKETS, services };
}
