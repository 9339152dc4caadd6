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
  // The front door answers `Expect: 100-continue` itself; the instance gets the body at once.
  'expect',
]);
const OURS = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-prefix']);

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
    if (HOP.has(lower) || (dropOurs && OURS.has(lower)) || listed?.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

/**
 * Request headers for the instance: end-to-end ones plus X-Forwarded-For (appended to the client's), -Proto, -Host
 * and -Prefix (the mount, which the instance does not see in the path). Earlier -Proto/-Host/-Prefix values come from
 * the client and are not trusted.
 */
export function upstreamHeaders(req: IncomingMessage, mount: string): Record<string, string | string[]> {
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
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${prior}, ${remote}` : remote;
  out['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted === true ? 'https' : 'http';
  out['x-forwarded-host'] = req.headers.host ?? '';
  if (mount !== '/') out['x-forwarded-prefix'] = mount;
  return out;
}
