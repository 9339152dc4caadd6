import type { BasicAuth } from '../basic-auth/auth.js';
import type { InstancePool } from './instance-pool.js';
import type { RouteTraffic } from '../traffic/route-traffic.js';

/** Who may use a route: everyone (null) or the users of its .htpasswd. */
export type Guard = BasicAuth | null;

/** A mount path and what answers there now; backend null means ordered but no healthy instance (503). */
export interface Route {
  readonly mount: string;
  readonly service: string;
  readonly backend: InstancePool | null;
  /** Every instance of the route when it has several (`scale web=2`); see pickBackend. */
  readonly backends?: readonly InstancePool[];
  /** `proxy_for` virtual hosts: the service is also `/` of these hosts (lower case, no port). */
  readonly hosts?: readonly string[];
  /** `PUBLISH_PORT` as the orders give it: the service is also `/` of this port of the ship (checked when bound). */
  readonly publishPort?: string;
  readonly guard?: Guard;
  /** HTTPS_ONLY: plain HTTP gets a 308 to https, answers over TLS carry Strict-Transport-Security. */
  readonly httpsOnly?: boolean;
  /** Maintenance, a pause, a rollout's other side (traffic/route-traffic.ts); absent: traffic as usual. */
  readonly traffic?: RouteTraffic;
}

let turn = 0;

/** The instance a new request goes to: the one with the fewest open exchanges, ties taken in turn. */
export function pickBackend(route: Route): InstancePool | null {
  const list = route.backends;
  if (!list || list.length < 2) return route.backend;
  turn = (turn + 1) % list.length;
  let best: InstancePool | null = null;
  for (let i = 0; i < list.length; i++) {
    const p = list[(turn + i) % list.length] as InstancePool;
    if (best === null || p.inflight < best.inflight) best = p;
  }
  return best;
}

/** Another instance of the route than `not` (the fewest open), for a request `not` failed before answering. */
export function pickOther(route: Route, not: InstancePool): InstancePool | null {
  let best: InstancePool | null = null;
  for (const p of route.backends ?? []) if (p !== not && (best === null || p.inflight < best.inflight)) best = p;
  return best;
}

export type Match =
  | { readonly kind: 'route'; readonly route: Route; readonly path: string; readonly mount: string }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'none' };

/** Splits a request target into path and query (`?...`, kept as is). */
function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/** The host name of a Host header: lower case, without port or trailing dot; IPv6 literals keep their brackets. */
export function hostName(header: string | undefined): string {
  if (!header) return '';
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * An immutable routing table: virtual hosts first, then mounts longest first, matched on whole path segments (`/echo`
 * serves `/echo/x`, not `/echoes`), the mount stripped before proxying. The front door swaps whole tables, so a
 * request sees one or the other.
 */
export class RouteTable {
  readonly routes: readonly Route[];
  private readonly byHost: ReadonlyMap<string, Route>;

  constructor(routes: readonly Route[]) {
    this.routes = Object.freeze([...routes].sort((a, b) => b.mount.length - a.mount.length || a.mount.localeCompare(b.mount)));
    const byHost = new Map<string, Route>();
    // In mount order, so two services claiming one host resolve the same way every time.
    for (const r of [...this.routes].reverse()) for (const h of r.hosts ?? []) if (!byHost.has(h.toLowerCase())) byHost.set(h.toLowerCase(), r);
    this.byHost = byHost;
  }

  /** Matches a request: its Host against the virtual hosts, then its path against the mounts. */
  match(target: string, host?: string): Match {
    const t = target.startsWith('/') ? target : `/${target}`;
    if (host !== undefined && this.byHost.size > 0) {
      const route = this.byHost.get(hostName(host));
      if (route) return { kind: 'route', route, path: t, mount: '/' };
    }
    const { path, query } = splitTarget(t);
    for (const route of this.routes) {
      const m = route.mount;
      if (m === '/') return { kind: 'route', route, path: path + query, mount: m };
      if (path === m) return { kind: 'redirect', location: `${m}/${query}` };
      if (path.startsWith(`${m}/`)) return { kind: 'route', route, path: path.slice(m.length) + query, mount: m };
    }
    return { kind: 'none' };
  }

  find(service: string): Route | undefined {
    return this.routes.find((r) => r.service === service);
  }
}
