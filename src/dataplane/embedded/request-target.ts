/**
 * A request target as the front door routes it (docs/http.md), the same on both planes (nginx does this itself):
 * percent-escapes decoded once (%2F and %2E included), duplicate slashes merged, `.` and `..` segments resolved; the
 * result is what routing matches and, escaped again, what the instance gets. A `..` above the root, a bad escape or a
 * NUL is refused. An absolute-form target (`GET http://host/path`) names the host routing uses.
 */
export type Target =
  | { readonly ok: true; readonly path: string; readonly query: string; readonly host: string | null }
  | { readonly ok: false; readonly error: string };

const HEX = /^[0-9a-fA-F]{2}$/;

/** Decodes %XX into bytes (nginx keeps raw bytes too; the target's other characters are latin1); null on a bad escape. */
function decode(path: string): Buffer | null {
  const out = Buffer.alloc(Buffer.byteLength(path, 'latin1'));
  let n = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25) {
      const hex = path.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return null;
      out[n++] = parseInt(hex, 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

/**
 * nginx's escaping of a normalised path before it goes upstream (ngx_escape_uri, NGX_ESCAPE_URI): controls, space,
 * `#`, `%`, `?`, DEL and every byte above 0x7f; the rest as it is.
 */
function escape(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    if (b <= 0x20 || b === 0x23 || b === 0x25 || b === 0x3f || b >= 0x7f) s += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
    else s += String.fromCharCode(b);
  }
  return s;
}

/** Merges slashes and resolves dot-segments of a decoded path; null when `..` climbs above the root. */
function resolveDots(bytes: Buffer): Buffer | null {
  const segs = bytes.toString('latin1').split('/');
  const out: string[] = [];
  let trailing = false;
  for (let i = 1; i < segs.length; i++) {
    const seg = segs[i] as string;
    const last = i === segs.length - 1;
    if (seg === '' || seg === '.') {
      if (last) trailing = true;
      continue;
    }
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
      if (last) trailing = true;
      continue;
    }
    out.push(seg);
  }
  const joined = `/${out.join('/')}${trailing && out.length > 0 ? '/' : ''}`;
  return Buffer.from(joined, 'latin1');
}

export function parseTarget(raw: string): Target {
  let rest = raw;
  let host: string | null = null;
  const abs = /^https?:\/\/([^/?#]*)/i.exec(raw);
  if (abs) {
    const authority = (abs[1] as string).replace(/^[^@]*@/, '').toLowerCase();
    if (authority === '') return { ok: false, error: 'an absolute-form target without a host' };
    // Without the port, as nginx's $host has it (the port is the listener's).
    host = authority.startsWith('[') ? authority.slice(0, authority.indexOf(']') + 1) : (authority.split(':')[0] as string);
    rest = raw.slice(abs[0].length) || '/';
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  if (!rest.startsWith('/')) return { ok: false, error: 'the request target is not a path' };
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q);
  const decoded = decode(path);
  if (decoded === null) return { ok: false, error: 'a bad percent-escape in the path' };
  if (decoded.includes(0)) return { ok: false, error: 'a NUL in the path' };
  const resolved = resolveDots(decoded);
  if (resolved === null) return { ok: false, error: 'the path climbs above the root' };
  return { ok: true, path: escape(resolved), query, host };
}
