import type { Upstream } from './upstream.js';
import { parseWireTraffic, type WireTraffic } from './wire-traffic.js';

/** One user line of a .htpasswd as the data plane checks it (the hash as htpasswd wrote it). */
export interface WireUser {
  readonly user: string;
  readonly hash: string;
}

export interface WireInstance {
  readonly id: string;
  readonly upstream: Upstream;
}

/** The instances of a route: its list, or its one instance (tables of ships that send one). */
export function routeInstances(r: Pick<WireRoute, 'instance' | 'instances'>): readonly WireInstance[] {
  return r.instances ?? (r.instance ? [r.instance] : []);
}

/** A route as the ship sends it to the data plane: plain data, so it crosses the control socket. */
export interface WireRoute {
  readonly mount: string;
  readonly service: string;
  /** The instance that answers, or null: ordered but no healthy instance (503). With `instances`, their first. */
  readonly instance: WireInstance | null;
  /** Every healthy instance of the route (`scale web=2`): requests are spread over them, fewest open first. */
  readonly instances?: readonly WireInstance[];
  /** `proxy_for` virtual hosts (lower case, no port). */
  readonly hosts: readonly string[];
  /** `PUBLISH_PORT` as the orders give it (checked by the data plane when it binds it). */
  readonly publishPort?: string;
  /** Basic auth from the service's .htpasswd; null: open. An empty user list lets nobody in (fail closed). */
  readonly auth: { readonly realm: string; readonly file: string; readonly users: readonly WireUser[] } | null;
  /** HTTPS_ONLY (orders) or STARPHLEET_HTTPS_ONLY (HQ): 308 from http to https, HSTS over https. */
  readonly httpsOnly?: boolean;
  /** Maintenance, pause and rollout (wire-traffic.ts): in the table, so a restarted ship or plane keeps them. */
  readonly traffic?: WireTraffic;
}

/** The whole route table: the data plane swaps it in one step, so a request sees the old table or the new one. */
export interface WireTable {
  readonly routes: readonly WireRoute[];
}

const isString = (v: unknown): v is string => typeof v === 'string';

function upstreamOf(v: unknown, where: string): Upstream {
  const o = v as Record<string, unknown> | null;
  if (o?.kind === 'tcp' && isString(o.host) && Number.isInteger(o.port)) return { kind: 'tcp', host: o.host, port: o.port as number };
  if (o?.kind === 'unix' && isString(o.path) && o.path.startsWith('/')) return { kind: 'unix', path: o.path };
  throw new Error(`${where}.upstream: expected {kind:'tcp',host,port} or {kind:'unix',path:'/...'}`);
}

function instanceList(list: unknown, where: string): WireInstance[] {
  if (!Array.isArray(list)) throw new Error(`${where}: expected an array of {id, upstream}`);
  return list.map((x: unknown, j): WireInstance => {
    const e = x as Record<string, unknown> | null;
    if (!e || !isString(e.id)) throw new Error(`${where}[${j}]: expected {id, upstream}`);
    return { id: e.id, upstream: upstreamOf(e.upstream, `${where}[${j}]`) };
  });
}

/** Checks a table that came over the control socket; the error names the route and key at fault. */
export function parseWireTable(v: unknown): WireTable {
  const routes = (v as { routes?: unknown } | null)?.routes;
  if (!Array.isArray(routes)) throw new Error('table.routes: expected an array');
  return {
    routes: routes.map((r: unknown, i): WireRoute => {
      const where = `table.routes[${i}]`;
      const o = r as Record<string, unknown> | null;
      if (!o || !isString(o.mount) || !o.mount.startsWith('/')) throw new Error(`${where}.mount: expected a path starting with /`);
      if (!isString(o.service)) throw new Error(`${where}.service: expected a string`);
      const inst = o.instance as Record<string, unknown> | null | undefined;
      if (inst !== null && (typeof inst !== 'object' || !isString(inst.id))) throw new Error(`${where}.instance: expected null or {id, upstream}`);
      const list = o.instances;
      if (list !== undefined && !Array.isArray(list)) throw new Error(`${where}.instances: expected an array of {id, upstream}`);
      const instances = list === undefined ? undefined : instanceList(list, `${where}.instances`);
      const traffic = parseWireTraffic(o.traffic, `${where}.traffic`, instanceList);
      const hosts = o.hosts;
      if (!Array.isArray(hosts) || !hosts.every(isString)) throw new Error(`${where}.hosts: expected an array of strings`);
      if (o.publishPort !== undefined && !isString(o.publishPort)) throw new Error(`${where}.publishPort: expected a string`);
      if (o.httpsOnly !== undefined && typeof o.httpsOnly !== 'boolean') throw new Error(`${where}.httpsOnly: expected true or false`);
      const auth = o.auth as Record<string, unknown> | null | undefined;
      if (auth !== null && (typeof auth !== 'object' || !isString(auth.realm) || !isString(auth.file) || !Array.isArray(auth.users))) {
        throw new Error(`${where}.auth: expected null or {realm, file, users}`);
      }
      return {
        mount: o.mount,
        service: o.service,
        instance: inst ? { id: inst.id as string, upstream: upstreamOf(inst.upstream, `${where}.instance`) } : null,
        ...(instances !== undefined ? { instances } : {}),
        hosts,
        ...(o.publishPort !== undefined ? { publishPort: o.publishPort } : {}),
        ...(o.httpsOnly === true ? { httpsOnly: true } : {}),
        ...(traffic ? { traffic } : {}),
        auth: auth
          ? {
              realm: auth.realm as string,
              file: auth.file as string,
              users: (auth.users as unknown[]).map((u, j) => {
                const x = u as Record<string, unknown> | null;
                if (!x || !isString(x.user) || !isString(x.hash)) throw new Error(`${where}.auth.users[${j}]: expected {user, hash}`);
                return { user: x.user, hash: x.hash };
              }),
            }
          : null,
      };
    }),
  };
}
