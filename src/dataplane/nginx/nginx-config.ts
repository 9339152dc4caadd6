import type { Upstream } from '../protocol/upstream.js';
import { MOZILLA_INTERMEDIATE_CIPHERS, TLS_CURVES } from '../tls/tls-settings.js';
import { routeInstances, type WireRoute, type WireTable } from '../protocol/wire.js';
import { rolloutSide, trafficMaps } from '../traffic/nginx-traffic.js';
import { errorPages, ownPaths, proxyBlock, routeUpstreamName, statsFormats, type NginxLayout, type TlsMode } from './nginx-locations.js';

export { htpasswdPath, type NginxLayout } from './nginx-locations.js';

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
  readonly workers: number | 'auto';
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
  /**
   * nginx >= 1.25.1: `http2 on;` serves HTTP/2 beside HTTP/1.1 on every port, h2c by prior knowledge on the clear
   * ones. Older (Debian 12's 1.22): `listen ... ssl http2` on the TLS port only, since `listen ... http2` on a clear
   * port makes it HTTP/2-only (HTTP/1.1 clients get nothing).
   */
  readonly http2On?: boolean;
  /** The ship's HTTP server (unix socket) for /starphleet/webhook; null: that is 404. */
  readonly shipSocket?: string | null;
  readonly tls?: NginxTls | undefined;
}

function serverLine(u: Upstream): string {
  return u.kind === 'tcp' ? `server ${u.host.includes(':') ? `[${u.host}]` : u.host}:${u.port};` : `server unix:${u.path};`;
}

function listenAddr(listen: string, port: number): string {
  return listen.includes(':') ? `[${listen}]:${port}` : `${listen}:${port}`;
}

/** The .htpasswd nginx reads for a route: exactly the users the ship sent (htpasswd's own line format). */
export function htpasswdText(r: WireRoute): string {
  return (r.auth?.users ?? []).map((u) => `${u.user}:${u.hash}\n`).join('');
}

/**
 * What docs/http.md's table needs of nginx, as variables: only a WebSocket upgrade passes; the Host the instance gets
 * (an absolute-form target's host, else the client's Host, else the address it came to, as the embedded plane's
 * inbound.ts); Forwarded's quoting of IPv6; and a Connection header naming anything but hop-by-hop names (refused).
 */
function requestMaps(): string[] {
  return [
    'map $http_upgrade $sp_upgrade { "~*^\\s*websocket\\s*$" websocket; default ""; }',
    'map $sp_upgrade $connection_upgrade { websocket upgrade; default ""; }',
    'map $server_addr $sp_server_addr { "~:" "[$server_addr]"; default $server_addr; }',
    'map $http_host $sp_given_host { "" "$sp_server_addr:$server_port"; default $http_host; }',
    'map $request $sp_host { "~^\\S+\\s+[hH][tT][tT][pP][sS]?://" $host; default $sp_given_host; }',
    'map $remote_addr $sp_forwarded_for { "~:" "\\"[$remote_addr]\\""; default $remote_addr; }',
    'map $http_connection $sp_connection_refused { "" 0; "~*^[\\s,]*((close|keep-alive|upgrade|te|trailer|http2-settings|proxy-connection)[\\s,]*)*$" 0; default 1; }',
  ];
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
    // A client that half-closes after its request still gets the answer (docs/http.md); a client that is really gone
    // ends the exchange at the next write, as the embedded plane's does.
    'proxy_ignore_client_abort on;',
    'proxy_next_upstream_tries 2;',
    `client_body_temp_path ${layout.tempDir}/body;`,
    `proxy_temp_path ${layout.tempDir}/proxy;`,
    `fastcgi_temp_path ${layout.tempDir}/fastcgi;`,
    `uwsgi_temp_path ${layout.tempDir}/uwsgi;`,
    `scgi_temp_path ${layout.tempDir}/scgi;`,
  ];
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
    ...requestMaps().map((l) => `  ${l}`),
    ...trafficMaps(t).map((l) => `  ${l}`),
    `  limit_req_zone $binary_remote_addr zone=auth:10m rate=${s.authRate}r/s;`,
    // Open connections from one client address, as the embedded plane caps them (one flood leaves room for the rest).
    '  limit_conn_zone $binary_remote_addr zone=peraddr:10m;',
    `  limit_conn peraddr ${s.maxConnectionsPerAddress};`,
    '  limit_req_status 429;',
    '  client_max_body_size 0;',
    `  client_header_timeout ${s.headersTimeoutS}s;`,
    `  keepalive_timeout ${s.keepAliveTimeoutS}s;`,
    // One request head of about maxHeaderBytes at most, as the embedded plane's limit (1 KiB first, then one large buffer).
    '  client_header_buffer_size 1k;',
    `  large_client_header_buffers 1 ${Math.max(1024, s.maxHeaderBytes)};`,
    '  keepalive_requests 10000;',
    ...proxyCommon(s, layout).map((l) => `  ${l}`),
    ...(s.http2On ? ['  http2 on;'] : []),
  );
  const seen = new Set<string>();
  // A rollout's new instances get an upstream block of their own, as a route of them would.
  for (const r of [...t.routes, ...t.routes.flatMap((x) => rolloutSide(x) ?? [])]) {
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
  L.push('  server {', `    listen ${listenAddr(s.listen, s.port)} default_server;`, ...ownPaths('    ', layout, s.maxHeaderBytes, s.shipSocket), ...mountLocations(routes, layout, plainMode), '  }');
  // Virtual hosts: the service is `/` of each name (mount order decides a name claimed twice, as in the embedded plane).
  const vhosts = virtualHosts(routes);
  for (const [r, names] of vhosts) {
    L.push('  server {', `    listen ${listenAddr(s.listen, s.port)};`, `    server_name ${names.join(' ')};`, ...ownPaths('    ', layout, s.maxHeaderBytes, s.shipSocket));
    L.push('    location / {', ...proxyBlock(r, layout, '/', '/', '      ', plainMode), '    }', '  }');
  }
  if (s.tls) L.push(...httpsServers(s, s.tls, routes, vhosts, layout));
  // Published ports: the service is `/` of that port.
  for (const [port, service] of s.published) {
    const r = t.routes.find((x) => x.service === service);
    if (!r) continue;
    L.push('  server {', `    listen ${listenAddr(s.listen, port)};`, ...errorPages('    ', s.maxHeaderBytes), '    location / {', ...proxyBlock(r, layout, '/', '/', '      '), '    }', '  }');
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
      L.push('    location / {', ...proxyBlock(r, layout, '/', '/', '      ', mode), '    }');
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
  const ssl = s.http2On ? 'ssl' : 'ssl http2';
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
  L.push('  server {', `    listen ${addr} ${ssl} default_server;`, ...certLines(null), ...ownPaths('    ', layout, s.maxHeaderBytes, s.shipSocket), ...mountLocations(routes, layout, mode), '  }');
  const served = new Set<string>();
  for (const [r, names] of vhosts) {
    for (const n of names) {
      served.add(n);
      L.push('  server {', `    listen ${addr} ${ssl};`, `    server_name ${n};`, ...certLines(n), ...ownPaths('    ', layout, s.maxHeaderBytes, s.shipSocket));
      L.push('    location / {', ...proxyBlock(r, layout, '/', '/', '      ', mode), '    }', '  }');
    }
  }
  // A name with a certificate and no proxy_for (STARPHLEET_HOSTNAME): the mounts, under its own certificate.
  for (const n of tls.certs.keys()) {
    if (served.has(n) || !/^[a-z0-9.-]+$/.test(n)) continue;
    L.push('  server {', `    listen ${addr} ${ssl};`, `    server_name ${n};`, ...certLines(n), ...ownPaths('    ', layout, s.maxHeaderBytes, s.shipSocket), ...mountLocations(routes, layout, mode), '  }');
  }
  return L;
}
