import { frontDoorLimits } from '../embedded/limits.js';
import { routeInstances, type WireInstance, type WireRoute, type WireTable } from '../protocol/wire.js';
import { maintenanceHtml, maintenanceText } from './maintenance-page.js';
import { HOLD_SERVICE, HOLD_SIDE, ROLLOUT_COOKIE, ROLLOUT_ID } from '../protocol/wire-traffic.js';
import { rolloutSetCookie } from './rollout-pick.js';

// The nginx plane's side of traffic (maintenance, pause, rollout): http-level maps and the body of a route's location.
// The embedded plane does the same in route-traffic.ts; test/traffic-*.test.ts holds both to one behaviour.

/** nginx string literal: double-quoted with its escapes (as nginx-locations.ts quotes). */
export function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '${dollar}').replace(/\n/g, '\\n')}"`;
}

/**
 * A `map` source value: literal to nginx (no variables are read in it), so only `\\` and `"` are escaped; q()'s
 * `${dollar}` would be matched as those very characters.
 */
function qKey(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A variable-name piece for a service: its name in hex (names have characters nginx variables cannot). */
function tag(service: string): string {
  return Buffer.from(service).toString('hex');
}

/** The variable that says `new` or `old` for a request to a service under a rollout. */
export function sideVar(service: string): string {
  return `$sp_side_${tag(service)}`;
}

/** Every instance a route sends to: its own, and a rollout's new ones. */
export function allInstances(r: WireRoute): WireInstance[] {
  return [...routeInstances(r), ...(r.traffic?.rollout?.instances ?? [])];
}

/** The new side of a rollout as a route of its own (its upstream block is written like any route's). */
export function rolloutSide(r: WireRoute): WireRoute | null {
  const list = r.traffic?.rollout?.instances;
  if (!list) return null;
  const { traffic: _t, instances: _i, ...base } = r;
  return { ...base, instance: list[0] ?? null, ...(list.length > 1 ? { instances: list } : {}) };
}

/** `map` sources get a fixed prefix, so no value the admiral gives can read as a regex (`~`) or a keyword (`default`). */
const P = 'v:';

/** http-level lines: the rollout id and its cookie, who wants HTML, and per rollout its split and its listed clients. */
export function trafficMaps(t: WireTable): string[] {
  const L: string[] = [];
  const rollouts = t.routes.filter((r) => r.traffic?.rollout);
  if (t.routes.some((r) => r.traffic?.maintenance)) L.push('map $http_accept $sp_html { "~*text/html" 1; default ""; }');
  if (rollouts.length === 0) return L;
  const valid = `"~^${ROLLOUT_ID.source.slice(1, -1)}$"`;
  L.push(`map $cookie_${ROLLOUT_COOKIE} $sp_rid { ${valid} $cookie_${ROLLOUT_COOKIE}; default $request_id; }`);
  // A client with no (or a malformed) id gets the one this request was split by.
  L.push(`map $cookie_${ROLLOUT_COOKIE} $sp_rollout_cookie { ${valid} ""; default ${q(rolloutSetCookie('ID')).replace('ID', '$request_id')}; }`);
  const seen = new Set<string>();
  for (const r of rollouts) {
    const ro = r.traffic?.rollout;
    if (!ro || seen.has(r.service)) continue;
    seen.add(r.service);
    const h = tag(r.service);
    let split = ro.percent <= 0 ? 'old' : ro.percent >= 100 ? 'new' : `$sp_split_${h}`;
    if (ro.percent > 0 && ro.percent < 100) L.push(`split_clients "\${sp_rid}:${r.service}" $sp_split_${h} { ${ro.percent}% new; * old; }`);
    const listed: string[] = [];
    ro.headers.forEach((m, i) => {
      L.push(`map "${P}$http_${m.name.toLowerCase().replace(/-/g, '_')}" $sp_fh${i}_${h} { ${qKey(P + m.value)} 1; default ""; }`);
      listed.push(`$sp_fh${i}_${h}`);
    });
    ro.cookies.forEach((m, i) => {
      L.push(`map "${P}$cookie_${m.name}" $sp_fc${i}_${h} { ${qKey(P + m.value)} 1; default ""; }`);
      listed.push(`$sp_fc${i}_${h}`);
    });
    if (split === 'old' || split === 'new') split = `"${split}"`;
    L.push(`map "${P}${listed.join('')}" ${sideVar(r.service)} { "${P}" ${split}; default new; }`);
  }
  return L;
}

export interface TrafficLocation {
  /** The route's own proxying lines (auth, headers, proxy_pass), to the given target (null: the route's upstream). */
  direct(r: WireRoute, stripTo: string, target: string | null, extra: readonly string[]): string[];
  /** nginx's holding socket (HoldServer), which paused routes proxy to. */
  readonly holdSocket: string;
}

/** Where a location's internal helpers live: under its own prefix, so they are found from inside it. */
function base(mount: string): string {
  return mount === '/' ? '/' : `${mount}/`;
}

/** One location's proxying, pause and rollout applied (an allowed path under maintenance uses it too). */
function passing(r: WireRoute, mount: string, stripTo: string, x: TrafficLocation): string[] {
  const ro = r.traffic?.rollout;
  const cookie = ro ? ['add_header Set-Cookie $sp_rollout_cookie always;'] : [];
  const p = r.traffic?.pause;
  if (p) {
    // A held request waits up to the pause's limit, then the instance has its own timeout (STARPHLEET_PROXY_TIMEOUT).
    const wait = Math.ceil(p.maxPauseMs / 1000) + Math.ceil(frontDoorLimits().upstreamTimeoutMs / 1000);
    const extra = [
      ...cookie,
      `proxy_set_header ${HOLD_SERVICE} ${q(r.service)};`,
      `proxy_set_header ${HOLD_SIDE} ${ro ? sideVar(r.service) : '""'};`,
      `proxy_read_timeout ${wait}s;`,
      `proxy_send_timeout ${wait}s;`,
      'proxy_next_upstream off;',
    ];
    return x.direct(r, stripTo, `http://unix:${x.holdSocket}:${stripTo}`, extra);
  }
  if (!ro) return x.direct(r, stripTo, null, []);
  return [`if (${sideVar(r.service)} = new) { rewrite ^ ${base(mount)}.starphleet-rollout$uri last; }`, ...x.direct(r, stripTo, null, cookie)];
}

/**
 * The body of the location that serves `mount` of a route with traffic: the internal locations a rollout and a
 * maintenance page need (nested, so a rewrite from inside finds them), the allowed paths, then the answer itself.
 */
export function trafficLocation(r: WireRoute, mount: string, stripTo: string, indent: string, x: TrafficLocation): string[] {
  const L: string[] = [];
  const at = base(mount);
  const m = r.traffic?.maintenance;
  const side = rolloutSide(r);
  const ro = r.traffic?.rollout;
  if (side && ro && !r.traffic?.pause) {
    // `$uri` keeps the mount: the new side's location strips it with the helper prefix.
    L.push(`location ^~ ${at}.starphleet-rollout${mount === '/' ? '' : mount}/ {`, 'internal;', ...x.direct(side, '/', null, ['add_header Set-Cookie $sp_rollout_cookie always;']), '}');
  }
  if (!m) return [...L, ...passing(r, mount, stripTo, x)].map((l) => indent + l);
  const retry = [`add_header Retry-After ${m.retryAfter} always;`, 'add_header Cache-Control no-store always;'];
  L.push(`location ^~ ${at}.starphleet-maintenance/ {`, 'internal;', 'default_type "text/html; charset=utf-8";', ...retry, `return 503 ${q(maintenanceHtml(m, r.service))};`, '}');
  const prefix = mount === '/' ? '' : mount;
  for (const a of m.allow) {
    // The path itself and what is below it; the mount is stripped, the allowed path kept.
    L.push(`location = ${prefix}${a} {`, ...passing(r, mount, a, x), '}');
    L.push(`location ^~ ${prefix}${a}/ {`, ...passing(r, mount, `${a}/`, x), '}');
  }
  L.push(`if ($sp_html) { rewrite ^ ${at}.starphleet-maintenance/ last; }`, ...retry, 'default_type "text/plain; charset=utf-8";', `return 503 ${q(maintenanceText(m, r.service))};`);
  return L.map((l) => indent + l);
}
