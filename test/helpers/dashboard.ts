import assert from 'node:assert/strict';

/** A dashboard session as app.js holds it: the origin of the one-time link and the session id it was traded for. */
export interface DashboardSession {
  readonly origin: string;
  readonly session: string;
  /** GET a path of the dashboard with the session (Bearer), as app.js does. */
  get(path: string, signal?: AbortSignal): Promise<Response>;
  /** The overview's HTML, as GET /api/overview hands it to the page. */
  overview(): Promise<string>;
}

/**
 * Logs in with a link from `starphleet dashboard` (`http://host:port/#login=<token>`): the token is posted once, as
 * the page's script posts it, for a session id (the dashboard has an origin of its own and no cookie).
 */
export async function dashboardLogin(link: string): Promise<DashboardSession> {
  const origin = new URL(link).origin;
  const token = /#login=([A-Za-z0-9_-]+)$/.exec(link)?.[1] ?? '';
  const r = await fetch(`${origin}/api/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }) });
  assert.equal(r.status, 200, `login answered ${r.status}`);
  const { session } = (await r.json()) as { session: string };
  const get = (path: string, signal?: AbortSignal): Promise<Response> => fetch(`${origin}${path}`, { headers: { authorization: `Bearer ${session}` }, ...(signal ? { signal } : {}) });
  return {
    origin,
    session,
    get,
    async overview() {
      const o = await get('/api/overview');
      assert.equal(o.status, 200);
      return ((await o.json()) as { overview: string }).overview;
    },
  };
}

/** What an event stream of the dashboard (the live log) sent within ms; then the stream is dropped. */
export async function firstBytes(res: Response, ms: number, ac: AbortController): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const timer = setTimeout(() => ac.abort(), ms);
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
  } catch {
    // aborted: the stream stays open by design
  } finally {
    clearTimeout(timer);
  }
  return text;
}
