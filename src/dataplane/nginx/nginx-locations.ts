import { SHIP_DOWN } from '../embedded/ship-proxy.js';
import { HSTS } from '../tls/tls-settings.js';
import { routeInstances, type WireInstance, type WireRoute, type WireTable } from '../protocol/wire.js';
import { trafficLocation } from '../traffic/nginx-traffic.js';

// The location-level pieces of the nginx plane's config; nginx-config.ts puts them into server blocks.

/** How a server block treats HTTPS_ONLY routes: the plain port redirects (when TLS is served), the TLS port adds HSTS. */
export interface TlsMode {
  readonly redirectTo: number | null;
  readonly secure: boolean;
}
const PLAIN: TlsMode = { redirectTo: null, secure: false };

/** Where the nginx plane keeps its files, all under the data dir (never the system's nginx). */
export interface NginxLayout {
  readonly prefix: string;
  readonly conf: string;
  readonly pid: string;
  readonly errorLog: string;
  readonly htpasswdDir: string;
  readonly tempDir: string;
  /** Where every location logs `<service> <status> <request_time>` for the request metrics (nginx-stats.ts). */
  readonly statsLog: string;
  /** ACME HTTP-01 answers the ship writes (served at /.well-known/acme-challenge/). */
  readonly challengeDir: string;
  /** The plane's holding socket, where paused services' requests wait (traffic/hold-server.ts). */
  readonly holdSocket: string;
}

/** nginx string literal: double-quoted with its escapes. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '${dollar}').replace(/\n/g, '\\n')}"`;
}

/** An upstream block's name: the instance id, kept to nginx's name characters. */
function upstreamName(id: string): string {
  return `i_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** One instance: its own upstream block; several (`scale web=2`): one block of them all, least connections first. */
export function routeUpstreamName(r: WireRoute): string {
  const list = routeInstances(r);
  return list.length > 1 ? upstreamName(`g_${list.map((i) => i.id).join('_')}`) : upstreamName((r.instance ?? (list[0] as WireInstance)).id);
}

export function htpasswdPath(layout: NginxLayout, service: string): string {
  return `${layout.htpasswdDir}/${service.replace(/[^A-Za-z0-9._~-]/g, '_')}.htpasswd`;
}

/** A log format per service, its name a literal in it (nginx-stats.ts reads `<service> <status> <seconds>`). */
function statsFormatName(service: string): string {
  return `starphleet_${Buffer.from(service).toString('hex')}`;
}

export function statsFormats(t: WireTable): string[] {
  // Service names are one safe path segment (letters, digits, . _ ~ -): nothing in them needs quoting.
  return [...new Set(t.routes.map((r) => r.service))].map((s) => `  log_format ${statsFormatName(s)} '${s.replace(/[^A-Za-z0-9._~-]/g, '_')} $status $request_time';`);
}

/** The proxying of one location to a route's instance (or its 503), auth first when the service has a .htpasswd. */
export function proxyBlock(r: WireRoute, layout: NginxLayout, stripTo: string, mount: string, indent: string, tls: TlsMode = PLAIN): string[] {
  // HTTPS_ONLY: plain HTTP is sent to https (before any auth: the password must not cross in clear), TLS gets HSTS.
  if (r.httpsOnly && tls.redirectTo !== null) return [`${indent}return 308 https://$host${tls.redirectTo === 443 ? '' : `:${tls.redirectTo}`}$request_uri;`];
  // Maintenance, a pause or a rollout (traffic/nginx-traffic.ts) wrap the same proxying.
  if (r.traffic && (r.traffic.maintenance || r.traffic.pause || r.traffic.rollout)) {
    const direct = (route: WireRoute, strip: string, target: string | null, extra: readonly string[]): string[] => directLines(route, layout, strip, mount, tls, target, extra);
    return trafficLocation(r, mount, stripTo, indent, { direct, holdSocket: layout.holdSocket });
  }
  return directLines(r, layout, stripTo, mount, tls, null, []).map((l) => indent + l);
}

/** A location's lines that proxy to the route's upstream (or `target`), with `extra` lines before the proxying. */
function directLines(r: WireRoute, layout: NginxLayout, stripTo: string, mount: string, tls: TlsMode, target: string | null, extra: readonly string[]): string[] {
  const out: string[] = [];
  if (r.httpsOnly && tls.secure) out.push(`add_header Strict-Transport-Security "${HSTS}" always;`);
  // One line per request for the ship's metrics, in the service's own log format (statsFormats).
  out.push(`access_log ${layout.statsLog} ${statsFormatName(r.service)} buffer=16k flush=1s;`);
  if (r.auth) {
    out.push(`auth_basic ${q(r.auth.realm)};`, `auth_basic_user_file ${htpasswdPath(layout, r.service)};`);
    out.push('limit_req zone=auth burst=20 nodelay;');
  }
  out.push(...extra);
  if (!r.instance && target === null) {
    out.push('add_header Retry-After 5 always;', `return 503 ${q(`503 service ${r.service} has no healthy instance\n`)};`);
    return out;
  }
  out.push(`proxy_pass ${target ?? `http://${routeUpstreamName(r)}${stripTo}`};`);
  // A location's own proxy_set_header replaces all inherited ones: the whole set, every time.
  out.push(
    'proxy_set_header Host $sp_host;',
    'proxy_set_header Upgrade $sp_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    // Who the client is, from the connection: whatever the client sent under these names never passes.
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header Forwarded "for=$sp_forwarded_for;proto=$scheme";',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $sp_host;',
    'proxy_set_header X-Forwarded-Port $server_port;',
    `proxy_set_header X-Forwarded-Prefix ${mount === '/' ? '""' : q(mount)};`,
    ...CLEARED.map((h) => `proxy_set_header ${h} "";`),
  );
  return out;
}

/**
 * Request headers nginx must not pass (an empty value: nginx sends none): the client's forwarding claims that the
 * plane does not set itself (headers.ts FORWARDING), and hop-by-hop headers of the client's connection.
 */
const CLEARED = [
  'X-Forwarded-Server',
  'X-Forwarded-Ssl',
  'X-Forwarded-Scheme',
  'X-Forwarded-Protocol',
  'X-Forwarded-Uri',
  'X-Client-IP',
  'Proxy-Authorization',
  'Proxy-Connection',
  'Keep-Alive',
  'TE',
  'Trailer',
  'HTTP2-Settings',
  // The front door answers `Expect: 100-continue` itself.
  'Expect',
];

/** nginx's own error pages as plain text, the words of the embedded plane (an instance's own 502 passes as it is). */
export function errorPages(indent: string, maxHeaderBytes: number): string[] {
  return [
    'error_page 502 = @bad_gateway;',
    'error_page 504 = @gateway_timeout;',
    // nginx's "request header too large" (494) and a request line too long (414) are docs/http.md's 431; an unknown
    // Transfer-Encoding (501) is a smuggling shape, 400 as the embedded plane answers it.
    'error_page 414 494 = @head_too_large;',
    'error_page 501 = @bad_request;',
    'location @bad_gateway { default_type text/plain; return 502 "502 bad gateway: the instance failed before answering\\n"; }',
    'location @gateway_timeout { default_type text/plain; return 504 "504 gateway timeout: the instance sent nothing in time\\n"; }',
    `location @head_too_large { default_type text/plain; return 431 "431 request head larger than ${maxHeaderBytes} bytes\\n"; }`,
    'location @bad_request { default_type text/plain; return 400 "400 bad request\\n"; }',
    'if ($sp_connection_refused) { return 400 "400 bad request: Connection names a header the front door will not forward\\n"; }',
  ].map((l) => indent + l);
}

/** /starphleet/webhook goes to the ship itself; while it is down it answers 503. */
function shipPaths(socket: string | null | undefined): string[] {
  if (!socket) return [];
  const pass = [
    `proxy_pass http://unix:${socket}:;`,
    'proxy_set_header Host $sp_host;',
    // The client's address as nginx saw it, not a list the client could have started: the ship audits by it.
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header Connection "";',
    'proxy_set_header Proxy-Authorization "";',
    'error_page 502 504 = @ship_down;',
  ].join(' ');
  return [
    `location = /starphleet/webhook { ${pass} }`,
    `location @ship_down { default_type text/plain; add_header Retry-After 5 always; return 503 ${q(SHIP_DOWN)}; }`,
  ];
}

export function ownPaths(indent: string, layout: NginxLayout, maxHeaderBytes: number, shipSocket?: string | null): string[] {
  return [
    ...errorPages('', maxHeaderBytes),
    ...shipPaths(shipSocket),
    `location ^~ /.well-known/acme-challenge/ { default_type text/plain; add_header Cache-Control no-store; alias ${layout.challengeDir}/; }`,
    'location = /starphleet/health { default_type text/plain; add_header Cache-Control no-store; return 200 "ok\\n"; }',
    'location ^~ /starphleet/ { default_type text/plain; return 404 "404 not found: $uri\\n"; }',
    'location = /starphleet { default_type text/plain; return 404 "404 not found: $uri\\n"; }',
  ].map((l) => indent + l);
}
