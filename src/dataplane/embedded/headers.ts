import type { IncomingMessage } from 'node:http';

/** Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110 7.6.1), nor are our own x-forwarded-*. */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
  'transfer-encoding',
  'proxy-authorization',
  'proxy-authenticate',
  'http2-settings',
  // The front door answers `Expect: 100-continue` itself; the instance gets the body at once.
  'expect',
]);
/**
 * Who the client is and how it came, as proxies tell it: set by the front door from the real peer, never passed from the
 * client (the nginx plane clears the same list, nginx-locations.ts).
 */
export const FORWARDING = [
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-prefix',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'x-forwarded-scheme',
  'x-forwarded-protocol',
  'x-forwarded-uri',
  'x-real-ip',
  'x-client-ip',
  'forwarded',
] as const;
const OURS = new Set<string>(FORWARDING);

/** Names the Connection header lists are hop-by-hop too. */
function connectionListed(raw: readonly string[]): Set<string> | null {
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const t = token.trim().toLowerCase();
      if (t && t !== 'close' && t !== 'keep-alive' && t !== 'upgrade') (listed ??= new Set()).add(t);
    }
  }
  return listed;
}

/** End-to-end headers of a message as a flat [name, value, ...] list, their case as received. */
export function endToEnd(raw: readonly string[], dropOurs: boolean): string[] {
  const listed = connectionListed(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    // HTTP/2's pseudo-headers (:method, :path, :authority, :scheme) are the request line, not headers.
    if (lower.charCodeAt(0) === 0x3a || HOP.has(lower) || (dropOurs && OURS.has(lower)) || listed?.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/** The Forwarded header's `for=` value: an IPv6 address quoted in brackets (RFC 7239 6). */
function forwardedFor(addr: string): string {
  return addr.includes(':') ? `"[${addr}]"` : addr;
}

/**
 * Request headers for the instance: end-to-end ones, Host as the front door routed it, and who the client is from the
 * connection itself: X-Forwarded-For/-Proto/-Host/-Port/-Prefix, X-Real-IP and Forwarded (whatever the client sent
 * under those names is dropped).
 */
export function upstreamHeaders(req: IncomingMessage, mount: string, host: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const raw = endToEnd(req.rawHeaders, true);
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (name === 'cookie') out[name] = `${String(had)}; ${value}`;
    else out[name] = Array.isArray(had) ? [...had, value] : [had, value];
  }
  let remote = req.socket.remoteAddress ?? '';
  if (remote.startsWith('::ffff:')) remote = remote.slice(7);
  // An HTTP/2 request's socket is a proxy of the session's: `encrypted` is read through it, `in` would not see it.
  const proto = (req.socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  out.host = host;
  out['x-forwarded-for'] = remote;
  out['x-real-ip'] = remote;
  out.forwarded = `for=${forwardedFor(remote)};proto=${proto}`;
  out['x-forwarded-proto'] = proto;
  out['x-forwarded-host'] = host;
  out['x-forwarded-port'] = String(req.socket.localPort ?? '');
  if (mount !== '/') out['x-forwarded-prefix'] = mount;
  return out;
}
