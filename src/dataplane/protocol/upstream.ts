/**
 * Where the data plane reaches an instance. Sandboxed instances live in a network namespace of their own and are
 * reached through a unix socket bridged into it; the `process` runtime (no sandbox) listens on the ship's loopback.
 * Every dialer (proxy, upgrade, health check, nginx config) takes this one type, so none of them assumes TCP.
 */
export type Upstream =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

/** The node:http request options that dial an upstream. */
export function dialOptions(u: Upstream): { host: string; port: number } | { socketPath: string } {
  return u.kind === 'tcp' ? { host: u.host, port: u.port } : { socketPath: u.path };
}

/** For logs and status: `127.0.0.1:4000` or `unix:/path/http.sock`. */
export function describeUpstream(u: Upstream): string {
  return u.kind === 'tcp' ? `${u.host}:${u.port}` : `unix:${u.path}`;
}

export function loopbackUpstream(port: number): Upstream {
  return { kind: 'tcp', host: '127.0.0.1', port };
}
