import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandShip } from '../commands/command.js';
import type { Logger } from '../log.js';
import { SAFE_NAME } from '../paths.js';
import { listServiceStatus } from '../state/services.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import { streamLogs } from './log-stream.js';
import { overview, shell } from './page.js';
import type { DashboardSessions, DashboardUser } from './sessions.js';
import { readView } from './view.js';

/**
 * Sent with every answer: nothing loads from elsewhere, nothing frames the page, no URL leaks in a Referer, no other
 * origin may embed or read an answer, and a window this page opens (or that opens it) shares no browsing context.
 */
const SECURITY: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-resource-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
};

const LOGIN_AGAIN = 'ssh admiral@<ship> starphleet dashboard';
const MAX_LOGIN_BODY = 4096;

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY, 'content-type': `${type}; charset=utf-8`, ...headers });
  res.end(body);
}

const json = (res: ServerResponse, status: number, body: unknown): void => send(res, status, 'application/json', `${JSON.stringify(body)}\n`);

/** The session id of an `Authorization: Bearer <id>` header, or null. */
export function bearer(header: string | undefined): string | null {
  const m = /^Bearer ([A-Za-z0-9_-]{16,128})$/.exec(header ?? '');
  return m ? (m[1] as string) : null;
}

/**
 * The dashboard on its own listener (its own origin: no service's page can script it). No cookie at all: the browser
 * keeps the session id in the page's sessionStorage (per origin, out of reach of every other origin) and sends it as
 * `Authorization: Bearer`, which another origin's page cannot add to a request here without a CORS preflight that is
 * never granted. So a service's responses cannot read, set or toss it, and no request made elsewhere carries it.
 * The one-time link `starphleet dashboard` prints holds its token in the URL fragment (never sent to a server, not in
 * a Referer); app.js posts it once to /api/login. Everything under /api/ needs the session; the page shell, the script
 * and the stylesheet hold no data.
 */
export class Dashboard {
  constructor(
    private readonly ship: CommandShip,
    private readonly sessions: DashboardSessions,
    private readonly log: Logger,
  ) {}

  /** The session's admiral, while the session lasts and the key is still an admiral's in HQ. */
  private who(req: IncomingMessage): { id: string; user: DashboardUser } | null {
    const id = bearer(req.headers.authorization);
    if (id === null) return null;
    const user = this.sessions.user(id);
    if (!user) return null;
    if (!this.stillAdmiral(user)) {
      this.sessions.end(id);
      return null;
    }
    return { id, user };
  }

  /** Its admiral (or, when the command did not know which, every admiral of then) is still in HQ. */
  private stillAdmiral(user: DashboardUser): boolean {
    const now = new Set((this.ship.headquarters.current?.admirals ?? []).map((a) => a.fingerprint));
    if (user.fingerprint !== null) return now.has(user.fingerprint);
    return user.admirals.every((f) => now.has(f));
  }

  handle(req: IncomingMessage, res: ServerResponse, remote: string): void | Promise<void> {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const path = url.pathname;
    if (path === '/api/login') return this.login(req, res, remote);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', '405 the dashboard only reads: GET\n', { allow: 'GET, HEAD' });
    if (path === '/') return send(res, 200, 'text/html', shell());
    if (path === '/style.css') return send(res, 200, 'text/css', STYLE_CSS);
    if (path === '/app.js') return send(res, 200, 'text/javascript', APP_JS);
    if (!path.startsWith('/api/')) return send(res, 404, 'text/plain', `404 not found: ${path}\n`);
    const me = this.who(req);
    if (!me) return json(res, 401, { error: 'not logged in', login: LOGIN_AGAIN });
    if (path === '/api/overview') {
      const v = readView(this.ship.db, this.ship.options.name, this.ship.headquarters.url, me.user.by);
      return json(res, 200, { ship: v.status.ship.name, user: v.user, services: v.status.services.map((s) => s.name), overview: overview(v).html });
    }
    if (path.startsWith('/api/logs/')) {
      const service = decodeURIComponent(path.slice('/api/logs/'.length));
      if (!SAFE_NAME.test(service) || !listServiceStatus(this.ship.db).some((s) => s.name === service)) return json(res, 404, { error: `no service named ${service}` });
      return streamLogs(res, this.ship, service, SECURITY, () => this.sessions.user(me.id) !== null && this.stillAdmiral(me.user));
    }
    return json(res, 404, { error: `not found: ${path}` });
  }

  /**
   * POST /api/login {"token": ...}: the one-time token for a session id. CSRF-safe: a JSON body (a form of another
   * origin cannot send one without a preflight), the Origin, when sent, must be this dashboard's own, and the token is
   * a secret only the admiral who asked for it holds.
   */
  private async login(req: IncomingMessage, res: ServerResponse, remote: string): Promise<void> {
    if (req.method !== 'POST') return send(res, 405, 'text/plain', '405 POST a login token here\n', { allow: 'POST' });
    const refuse = (status: number, why: string): void => {
      this.log(`dashboard: refused a login from ${remote}: ${why}`);
      req.resume();
      json(res, status, { error: why, login: LOGIN_AGAIN });
    };
    if (!/^application\/json\b/i.test(String(req.headers['content-type'] ?? ''))) return refuse(415, 'the login takes a JSON body');
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== 'null' && hostOf(origin) !== String(req.headers.host ?? '')) return refuse(403, `a login from another origin (${origin})`);
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') return refuse(403, `a login from another site (${String(site)})`);
    let body = '';
    for await (const chunk of req) {
      body += (chunk as Buffer).toString('utf8');
      if (body.length > MAX_LOGIN_BODY) return refuse(413, 'the login body is too large');
    }
    let token = '';
    try {
      const v = JSON.parse(body) as { token?: unknown };
      if (typeof v.token === 'string') token = v.token;
    } catch {
      // token stays '': refused below
    }
    const got = token ? this.sessions.exchange(token) : null;
    if (!got || !this.stillAdmiral(got.user)) return refuse(403, 'unknown, used or expired login link');
    this.log(`dashboard: ${got.user.by} logged in from ${remote}`);
    json(res, 200, { session: got.session, seconds: got.seconds, user: got.user.by });
  }
}

/** The host:port of an Origin header, or '' when it is not a URL. */
function hostOf(origin: string): string {
  try {
    return new URL(origin).host;
  } catch {
    return '';
  }
}
