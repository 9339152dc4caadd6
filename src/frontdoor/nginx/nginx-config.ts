import { SHIP_DOWN } from '../ship-proxy.js';
import type { Upstream } from '../upstream.js';
import { HSTS, MOZILLA_INTERMEDIATE_CIPHERS, TLS_CURVES } from '../tls/tls-settings.js';
import { routeInstances, type WireInstance, type WireRoute, type WireTable } from '../wire.js';

/** How a server block treats HTTPS_ONLY routes: the plain port redirects (when TLS is served), the TLS port adds HSTS. */
interface TlsMode {
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
}

/** `--https-port`: the port and the certificate files (copies in the nginx dir) by name. */
export interface NginxTls {
  readonly port: number;
  readonly certs: ReadonlyMap<string, { readonly crt: string; readonly key: string }>;
  /** The certificate of handshakes naming no host with one of its own; null: no certificate at all. */
  readonly defaultName: string | null;
}

export interface NginxSettings {
  readonly listen: string;
  readonly port: number;
  readonly workers: number;
  /** `user` directive (only when the master runs as root). */
  readonly user: string | null;
  /** Requests a second one address may make to protected locations (limit_req), standing in for the back-off. */
  readonly authRate: number;
  /** Published ports that may be bound (the others were reported as problems). */
  readonly published: ReadonlyMap<number, string>;
  readonly headersTimeoutS: number;
  readonly keepAliveTimeoutS: number;
  readonly upstreamTimeoutS: number;
  readonly maxHeaderBytes: number;
  readonly maxConnectionsPerAddress: number;
  /** The ship's HTTP server (unix socket) for /starphleet/webhook and /starphleet/dashboard; null: those are 404. */
  readonly shipSocket?: string | null;
  readonly tls?: NginxTls | undefined;
}

/** nginx string literal: double-quoted with its escapes. */
function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\$/g, '${dollar}').replace(/\n/g, '\\n')}"`;
}

/** An upstream block's name: the instance id, kept to nginx's name characters. */
export function upstreamName(id: string): string {
  return `i_${id.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** One instance: its own upstream block; several (`scale web=2`): one block of them all, least connections first. */
function routeUpstreamName(r: WireRoute): string {
  const list = routeInstances(r);
  return list.length > 1 ? upstreamName(`g_${list.map((i) => i.id).join('_')}`) : upstreamName((r.instance ?? (list[0] as WireInstance)).id);
}

function serverLine(u: Upstream): string {
  return u.kind === 'tcp' ? `server ${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port};` : `server unix:${u.path};`;
}

function listenAddr(listen: string, port: number): string {
  return listen.includes(':') ? `[${listen}]:${port}` : `${listen}:${port}`;
}

export function htpasswdPath(layout: NginxLayout, service: string): string {
  return `${layout.htpasswdDir}/${service.replace(/[^A-Za-z0-9._~-]/g, '_')}.htpasswd`;
}

/** The .htpasswd nginx reads for a route: exactly the users the ship sent (htpasswd's own line format). */
export function htpasswdText(r: WireRoute): string {
  return (r.auth?.users ?? []).map((u) => `${u.user}:${u.hash}\n`).join('');
}

/** A log format per service, its name a literal in it (nginx-stats.ts reads `<service> <status> <seconds>`). */
function statsFormatName(service: string): string {
  return `starphleet_${Buffer.from(service).toString('hex')}`;
}

function statsFormats(t: WireTable): string[] {
  // Service names are one safe path segment (letters, digits, . _ ~ -): nothing in them needs quoting.
  return [...new Set(t.routes.map((r) => r.service))].map((s) => `  log_format ${statsFormatName(s)} '${s.replace(/[^A-Za-z0-9._~-]/g, '_')} $status $request_time';`);
}

/** The proxying of one location to a route's instance (or its 503), auth first when the service has a .htpasswd. */
function proxyBlock(r: WireRoute, layout: NginxLayout, stripTo: string, mount: string, indent: string, tls: TlsMode = PLAIN): string[] {
  const out: string[] = [];
  // HTTPS_ONLY: plain HTTP is sent to https (before any auth: the password must not cross in clear), TLS gets HSTS.
  if (r.httpsOnly && tls.redirectTo !== null) return [`${indent}return 308 https://$host${tls.redirectTo === 443 ? '' : `:${tls.redirectTo}`}$request_uri;`];
  if (r.httpsOnly && tls.secure) out.push(`add_header Strict-Transport-Security "${HSTS}" always;`);
  // One line per request for the ship's metrics, in the service's own log format (statsFormats).
  out.push(`access_log ${layout.statsLog} ${statsFormatName(r.service)} buffer=16k flush=1s;`);
  if (r.auth) {
    out.push(`auth_basic ${q(r.auth.realm)};`, `auth_basic_user_file ${htpasswdPath(layout, r.service)};`);
    out.push('limit_req zone=auth burst=20 nodelay;');
  }
  if (!r.instance) {
    out.push('add_header Retry-After 5 always;', `return 503 ${q(`503 service ${r.service} has no healthy instance\n`)};`);
    return out.map((l) => indent + l);
  }
  out.push(`proxy_pass http://${routeUpstreamName(r)}${stripTo};`);
  // A location's own proxy_set_header replaces all inherited ones: the whole set, every time.
  out.push(
    'proxy_set_header Host $http_host;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header X-Forwarded-Host $http_host;',
    `proxy_set_header X-Forwarded-Prefix ${mount === '/' ? '""' : q(mount)};`,
    // Hop-by-hop headers of the client's connection are not the instance's (an empty value: nginx sends none).
    'proxy_set_header Proxy-Authorization "";',
    'proxy_set_header Proxy-Connection "";',
    'proxy_set_header Keep-Alive "";',
  );
  return out.map((l) => indent + l);
}

/** Common proxy settings, set once at http level (inherited by every location that proxies). */
function proxyCommon(s: NginxSettings, layout: NginxLayout): string[] {
  return [
    'proxy_http_version 1.1;',
    // Bodies stream both ways (1 GB uploads with flat memory; server-sent events unbuffered), never to temp files.
    'proxy_request_buffering off;',
    'proxy_buffering off;',
    'proxy_max_temp_file_size 0;',
    `proxy_read_timeout ${s.upstreamTimeoutS}s;`,
    `proxy_send_timeout ${s.upstreamTimeoutS}s;`,
    'proxy_connect_timeout 10s;',
    'proxy_next_upstream error timeout non_idempotent;',
    'proxy_next_upstream_tries 2;',
    `client_body_temp_path ${layout.tempDir}/body;`,
    `proxy_temp_path ${layout.tempDir}/proxy;`,
    `fastcgi_temp_path ${layout.tempDir}/fastcgi;`,
    `uwsgi_temp_path ${layout.tempDir}/uwsgi;`,
    `scgi_temp_path ${layout.tempDir}/scgi;`,
  ];
}

/** nginx's own error pages as plain text, the words of the embedded plane (an instance's own 502 passes as it is). */
function errorPages(indent: string): string[] {
  return [
    'error_page 502 = @bad_gateway;',
    'error_page 504 = @gateway_timeout;',
    'location @bad_gateway { default_type text/plain; return 502 "502 bad gateway: the instance failed before answering\\n"; }',
    'location @gateway_timeout { default_type text/plain; return 504 "504 gateway timeout: the instance sent nothing in time\\n"; }',
  ].map((l) => indent + l);
}

/** /starphleet/webhook and /starphleet/dashboard go to the ship itself; while it is down they answer 503. */
function shipPaths(socket: string | null | undefined): string[] {
  if (!socket) return [];
  const pass = [
    `proxy_pass http://unix:${socket}:;`,
    'proxy_set_header Host $http_host;',
    // The client's address as nginx saw it, not a list the client could have started: the ship audits by it.
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header Connection "";',
    'proxy_set_header Proxy-Authorization "";',
    'error_page 502 504 = @ship_down;',
  ].join(' ');
  return [
    `location = /starphleet/webhook { ${pass} }`,
    `location = /starphleet/dashboard { ${pass} }`,
    `location ^~ /starphleet/dashboard/ { ${pass} }`,
    `location @ship_down { default_type text/plain; add_header Retry-After 5 always; return 503 ${q(SHIP_DOWN)}; }`,
  ];
}

function ownPaths(indent: string, layout: NginxLayout, shipSocket?: string | null): string[] {
  return [
    ...errorPages(''),
    ...shipPaths(shipSocket),
    `location ^~ /.well-known/acme-challenge/ { default_type text/plain; add_header Cache-Control no-store; alias ${layout.challengeDir}/; }`,
    'location = /starphleet/health { default_type text/plain; add_header Cache-Control no-store; return 200 "ok\\n"; }',
    'location ^~ /starphleet/ { default_type text/plain; return 404 "404 not found: $uri\\n"; }',
    'location = /starphleet { default_type text/plain; return 404 "404 not found: $uri\\n"; }',
  ].map((l) => indent + l);
}

/**
 * A complete nginx.conf for a route table: the same answers as the embedded plane — mounts longest first with the
 * mount stripped (`proxy_pass .../`), 301 to the trailing slash, virtual hosts, PUBLISH_PORT listeners, WebSockets,
 * server-sent events unbuffered, X-Forwarded-*, basic auth with a per-address limit_req, 404/503 and
 * /starphleet/health — with config, pid, logs and temp files in the data dir.
 */
export function nginxConfig(t: WireTable, s: NginxSettings, layout: NginxLayout): string {
  const L: string[] = [];
  if (s.user) L.push(`user ${s.user};`);
  L.push(
    `worker_processes ${s.workers};`,
    `pid ${layout.pid};`,
    `error_log ${layout.errorLog} warn;`,
    // Old workers after a reload hold only long-lived connections; the ship's drain timeout decides about those.
    'worker_shutdown_timeout 1h;',
    'events { worker_connections 10240; }',
    'http {',
    '  access_log off;',
    ...statsFormats(t),
    // Relative Location headers, as the embedded plane sends them (the client's Host and port stay as they were).
    '  absolute_redirect off;',
    '  server_tokens off;',
    '  default_type text/plain;',
    '  geo $dollar { default "$"; }',
    '  map $http_upgrade $connection_upgrade { default upgrade; "" ""; }',
    `  limit_req_zone $binary_remote_addr zone=auth:10m rate=${s.authRate}r/s;`,
    // Open connections from one client address, as the embedded plane caps them (one flood leaves room for the rest).
    '  limit_conn_zone $binary_remote_addr zone=peraddr:10m;',
    `  limit_conn peraddr ${s.maxConnectionsPerAddress};`,
    '  limit_req_status 429;',
    '  client_max_body_size 0;',
    `  client_header_timeout ${s.headersTimeoutS}s;`,
    `  keepalive_timeout ${s.keepAliveTimeoutS}s;`,
    `  large_client_header_buffers 4 ${Math.max(1024, s.maxHeaderBytes)};`,
    ...proxyCommon(s, layout).map((l) => `  ${l}`),
  );
  const seen = new Set<string>();
  for (const r of t.routes) {
    const list = routeInstances(r);
    if (list.length === 0) continue;
    const name = routeUpstreamName(r);
    if (seen.has(name)) continue;
    seen.add(name);
    const servers = list.map((i) => serverLine(i.upstream)).join(' ');
    L.push(`  upstream ${name} { ${list.length > 1 ? 'least_conn; ' : ''}${servers} keepalive 128; keepalive_timeout 4s; }`);
  }
  const routes = [...t.routes].sort((a, b) => b.mount.length - a.mount.length || a.mount.localeCompare(b.mount));
  const plainMode: TlsMode = { redirectTo: s.tls ? s.tls.port : null, secure: false };
  // The main port: mounts.
  L.push('  server {', `    listen ${listenAddr(s.listen, s.port)} default_server;`, ...ownPaths('    ', layout, s.shipSocket), ...mountLocations(routes, layout, plainMode), '  }');
  // Virtual hosts: the service is `/` of each name (mount order decides a name claimed twice, as in the embedded plane).
  const vhosts = virtualHosts(routes);
  for (const [r, names] of vhosts) {
    L.push('  server {', `    listen ${listenAddr(s.listen, s.port)};`, `    server_name ${names.join(' ')};`, ...ownPaths('    ', layout, s.shipSocket));
    L.push('    location / {', ...proxyBlock(r, layout, '', '/', '      ', plainMode), '    }', '  }');
  }
  if (s.tls) L.push(...httpsServers(s, s.tls, routes, vhosts, layout));
  // Published ports: the service is `/` of that port.
  for (const [port, service] of s.published) {
    const r = t.routes.find((x) => x.service === service);
    if (!r) continue;
    L.push('  server {', `    listen ${listenAddr(s.listen, port)};`, ...errorPages('    '), '    location / {', ...proxyBlock(r, layout, '', '/', '      '), '    }', '  }');
  }
  L.push('}');
  return `${L.join('\n')}\n`;
}

/** Mount locations of a server block: longest first, the mount stripped, 301 to the trailing slash. */
function mountLocations(routes: readonly WireRoute[], layout: NginxLayout, mode: TlsMode): string[] {
  const L: string[] = [];
  let hasRoot = false;
  for (const r of routes) {
    if (r.mount === '/') {
      hasRoot = true;
      L.push('    location / {', ...proxyBlock(r, layout, '', '/', '      ', mode), '    }');
      continue;
    }
    L.push(`    location = ${r.mount} { return 301 ${r.mount}/$is_args$args; }`);
    L.push(`    location ^~ ${r.mount}/ {`, ...proxyBlock(r, layout, '/', r.mount, '      ', mode), '    }');
  }
  if (!hasRoot) L.push('    location / { return 404 "404 no service at $uri\\n"; }');
  return L;
}

/** Each route with the proxy_for names it serves (a name claimed twice goes to the first in mount order). */
function virtualHosts(routes: readonly WireRoute[]): [WireRoute, string[]][] {
  const claimed = new Set<string>();
  const out: [WireRoute, string[]][] = [];
  for (const r of [...routes].reverse()) {
    const names = r.hosts.map((h) => h.toLowerCase()).filter((h) => /^[a-z0-9.-]+$/.test(h) && !claimed.has(h));
    if (names.length === 0) continue;
    for (const n of names) claimed.add(n);
    out.push([r, names]);
  }
  return out;
}

/**
 * The TLS port: the same mounts and virtual hosts, one server block per name so each gets its own certificate by SNI,
 * HTTP/2 by ALPN; TLS 1.2/1.3 with Mozilla's intermediate ciphers. Without any certificate, handshakes are refused.
 */
function httpsServers(s: NginxSettings, tls: NginxTls, routes: readonly WireRoute[], vhosts: readonly [WireRoute, string[]][], layout: NginxLayout): string[] {
  const mode: TlsMode = { redirectTo: null, secure: true };
  const addr = listenAddr(s.listen, tls.port);
  const certLines = (name: string | null): string[] => {
    const c = name === null ? undefined : tls.certs.get(name);
    const d = tls.defaultName === null ? undefined : tls.certs.get(tls.defaultName);
    const use = c ?? d;
    return use ? [`    ssl_certificate ${use.crt};`, `    ssl_certificate_key ${use.key};`] : ['    ssl_reject_handshake on;'];
  };
  const L: string[] = [
    '  ssl_protocols TLSv1.2 TLSv1.3;',
    `  ssl_ciphers ${MOZILLA_INTERMEDIATE_CIPHERS};`,
    '  ssl_prefer_server_ciphers off;',
    `  ssl_ecdh_curve ${TLS_CURVES};`,
    '  ssl_session_timeout 1d;',
    '  ssl_session_cache shared:starphleet_tls:10m;',
    '  ssl_session_tickets off;',
  ];
  L.push('  server {', `    listen ${addr} ssl http2 default_server;`, ...certLines(null), ...ownPaths('    ', layout, s.shipSocket), ...mountLocations(routes, layout, mode), '  }');
  const served = new Set<string>();
  for (const [r, names] of vhosts) {
    for (const n of names) {
      served.add(n);
      L.push('  server {', `    listen ${addr} ssl http2;`, `    server_name ${n};`, ...certLines(n), ...ownPaths('    ', layout, s.shipSocket));
      L.push('    location / {', ...proxyBlock(r, layout, '', '/', '      ', mode), '    }', '  }');
    }
  }
  // A name with a certificate and no proxy_for (STARPHLEET_HOSTNAME): the mounts, under its own certificate.
  for (const n of tls.certs.keys()) {
    if (served.has(n) || !/^[a-z0-9.-]+$/.test(n)) continue;
    L.push('  server {', `    listen ${addr} ssl http2;`, `    server_name ${n};`, ...certLines(n), ...ownPaths('    ', layout, s.shipSocket), ...mountLocations(routes, layout, mode), '  }');
  }
  return L;
}
