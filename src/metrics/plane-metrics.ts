import { Counter, Histogram, type Registry } from 'prom-client';
import type { RequestStatsSnapshot } from '../dataplane/process/request-stats.js';

type Values = Awaited<ReturnType<Histogram<'service' | 'le'>['get']>>;

const HELP = 'Time from a request reaching the data plane to its answer being sent, per service';

/**
 * The data plane's request tally as a Prometheus histogram. The data plane process counts (it outlives ships); this
 * histogram shows its latest snapshot, taken just before each scrape, so it counts from the data plane's start and
 * resets only when the data plane process is replaced.
 */
class PlaneLatency extends Histogram<'service' | 'le'> {
  snapshot: RequestStatsSnapshot | null = null;

  override async get(): Promise<Values> {
    const name = 'starphleet_http_request_duration_seconds';
    const values: Values['values'] = [];
    const s = this.snapshot;
    for (const [service, st] of Object.entries(s?.services ?? {})) {
      let acc = 0;
      s?.buckets.forEach((le, i) => {
        acc += st.buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { service, le }, value: acc });
      });
      acc += st.buckets[s?.buckets.length ?? 0] ?? 0;
      values.push({ metricName: `${name}_bucket`, labels: { service, le: '+Inf' }, value: acc });
      values.push({ metricName: `${name}_sum`, labels: { service }, value: st.sum });
      values.push({ metricName: `${name}_count`, labels: { service }, value: st.count });
    }
    // prom-client's typings declare `type` as an enum its JavaScript never exports; the value it writes is this string.
    return { name, help: HELP, type: 'histogram' as unknown as Values['type'], aggregator: 'sum', values, collect: () => undefined };
  }

  /** What the registry's text exposition reads (prom-client calls it instead of get() when it exists). */
  getForPromString(): Promise<Values> {
    return this.get();
  }
}

export class PlaneMetrics {
  private readonly latency: PlaneLatency;
  private snapshot: RequestStatsSnapshot | null = null;

  constructor(registry: Registry) {
    const self = this;
    this.latency = new PlaneLatency({
      name: 'starphleet_http_request_duration_seconds',
      help: HELP,
      labelNames: ['service'],
      registers: [registry],
    });
    new Counter({
      name: 'starphleet_http_requests_total',
      help: 'Requests the data plane answered per service, by status class (2xx, 4xx, ...)',
      labelNames: ['service', 'code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [service, st] of Object.entries(self.snapshot?.services ?? {})) {
          for (const [code, n] of Object.entries(st.classes)) this.inc({ service, code }, n ?? 0);
        }
      },
    });
  }

  set(snapshot: RequestStatsSnapshot | null): void {
    this.snapshot = snapshot;
    this.latency.snapshot = snapshot;
  }
}
