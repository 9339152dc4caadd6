import type { Backend } from './backend.js';

/** A mount path and what answers there now; backend null means ordered but no healthy instance (503). */
export interface Route {
  readonly mount: string;
  readonly service: string;
  readonly backend: Backend | null;
}

export type Match =
  | { readonly kind: 'route'; readonly route: Route; readonly path: string }
  | { readonly kind: 'redirect'; readonly location: string }
  | { readonly kind: 'none' };

/** Splits a request target into path and query (`?...`, kept as is). */
function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/**
 * An immutable routing table: longest mount first, matched on whole path segments (`/echo` serves `/echo/x`, not
 * `/echoes`), the mount stripped before proxying. The front door swaps whole tables, so a request sees one or the other.
 */
export class RouteTable {
  readonly routes: readonly Route[];

  constructor(routes: readonly Route[]) {
    this.routes = Object.freeze([...routes].sort((a, b) => b.mount.length - a.mount.length || a.mount.localeCompare(b.mount)));
  }

  match(target: string): Match {
    const { path, query } = splitTarget(target.startsWith('/') ? target : `/${target}`);
    for (const route of this.routes) {
      const m = route.mount;
      if (m === '/') return { kind: 'route', route, path: path + query };
      if (path === m) return { kind: 'redirect', location: `${m}/${query}` };
      if (path.startsWith(`${m}/`)) return { kind: 'route', route, path: path.slice(m.length) + query };
    }
    return { kind: 'none' };
  }

  find(service: string): Route | undefined {
    return this.routes.find((r) => r.service === service);
  }
}
