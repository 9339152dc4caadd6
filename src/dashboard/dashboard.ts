import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CommandShip } from '../commands/command.js';
import type { Logger } from '../log.js';
import { SAFE_NAME } from '../paths.js';
import { listServiceStatus } from '../state/services.js';
import { APP_JS, STYLE_CSS } from './assets.js';
import { streamLogs } from './log-stream.js';
import { notice, overview, page } from './page.js';
import type { DashboardSessions, DashboardUser } from './sessions.js';
import { readView } from './view.js';

export const COOKIE = 'starphleet_dashboard';
const BASE = '/starphleet/dashboard';

/** Sent with every answer: nothing loads from elsewhere, nothing frames the page, no URL leaks in a Referer. */
const SECURITY: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { ...SECURITY, 'content-type': `${type}; charset=utf-8`, ...headers });
  res.end(body);
}

/** The session id from the Cookie header (the first of that name), or null. */
export function sessionCookie(header: string | undefined): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

const LOGIN_AGAIN = 'ssh admiral@<ship> starphleet dashboard';

/**
 * /starphleet/dashboard for admirals: a one-time login link from `starphleet dashboard` becomes an HttpOnly,
 * SameSite=Strict session cookie (then a redirect drops the token from the address bar); every other path needs it.
 */
export class Dashboard {
  constructor(
    private readonly ship: CommandShip,
    private readonly sessions: DashboardSessions,
    private readonly log: Logger,
  ) {}

  /** The session's admiral, while the session lasts and the key is still an admiral's in HQ. */
  private who(req: IncomingMessage): { id: string; user: DashboardUser } | null {
    const id = sessionCookie(req.headers.cookie);
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

  handle(req: IncomingMessage, res: ServerResponse, remote: string): void {
    const url = new URL(req.url ?? '/', 'http://ship');
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', '405 the dashboard only reads: GET\n', { allow: 'GET, HEAD' });
    if (path === `${BASE}/style.css`) return send(res, 200, 'text/css', STYLE_CSS);
    if (path === `${BASE}/app.js`) return send(res, 200, 'text/javascript', APP_JS);
    if (path === `${BASE}/login`) return this.login(req, res, url, remote);
    const me = this.who(req);
    if (!me) return send(res, 401, 'text/html', notice('Not logged in', 'The dashboard is for admirals. Get a one-time login link on the ship:', LOGIN_AGAIN));
    const view = (): ReturnType<typeof readView> => readView(this.ship.db, this.ship.options.name, this.ship.headquarters.url, me.user.by);
    if (path === BASE || path === `${BASE}/`) return send(res, 200, 'text/html', page(view(), url.searchParams.get('service')));
    if (path === `${BASE}/overview`) return send(res, 200, 'text/html', overview(view()).html);
    if (path.startsWith(`${BASE}/logs/`)) {
      const service = decodeURIComponent(path.slice(`${BASE}/logs/`.length));
      if (!SAFE_NAME.test(service) || !listServiceStatus(this.ship.db).some((s) => s.name === service)) return send(res, 404, 'text/plain', `404 no service named ${service}\n`);
      return streamLogs(res, this.ship, service, () => this.sessions.user(me.id) !== null && this.stillAdmiral(me.user));
    }
    send(res, 404, 'text/plain', `404 not found: ${path}\n`);
  }

  private login(req: IncomingMessage, res: ServerResponse, url: URL, remote: string): void {
    const token = url.searchParams.get('token') ?? '';
    const got = token ? this.sessions.exchange(token) : null;
    if (!got || !this.stillAdmiral(got.user)) {
      this.log(`dashboard: refused a login link from ${remote} (unknown, used or expired)`);
      return send(res, 403, 'text/html', notice('This login link does not work', 'A login link works once, for a short time. Get a new one on the ship:', LOGIN_AGAIN));
    }
    this.log(`dashboard: ${got.user.by} logged in from ${remote}`);
    const secure = req.headers['x-forwarded-proto'] === 'https' ? '; Secure' : '';
    const cookie = `${COOKIE}=${got.session}; Path=${BASE}; Max-Age=${got.seconds}; HttpOnly; SameSite=Strict${secure}`;
    // 303 to the bare page: the token leaves the address bar and the history; Referrer-Policy keeps it out of Referers.
    send(res, 303, 'text/plain', 'logged in\n', { location: BASE, 'set-cookie': cookie });
  }
}
