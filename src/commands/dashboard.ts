import { callerName } from './command-audit.js';
import { refuseArguments, type ShipCommand } from './command.js';

/** `starphleet dashboard`: a one-time login link to /starphleet/dashboard, the only way into it. */
export const dashboardCommand: ShipCommand = {
  name: 'dashboard',
  summary: 'print a one-time login link to the web dashboard of the ship (/starphleet/dashboard)',
  usage: '',
  details: `The dashboard shows the services (state, sha, release, health, processes), the recent deploys, the HQ problems,
the ship, and a live log of a chosen service. Only admirals get in, through the link this prints: it works once and
for STARPHLEET_DASHBOARD_LOGIN_SECONDS (HQ .starphleet, default 120 s); opening it sets an HttpOnly, SameSite=Strict
session cookie for STARPHLEET_DASHBOARD_SESSION_SECONDS (default 28800 s). The link names the ship's front door as
status does; behind another name or proxy, keep its path and query.`,
  examples: ['ssh -p 2222 admiral@ship starphleet dashboard'],
  async run(args, ctx) {
    const refused = refuseArguments('dashboard', args, ctx);
    if (refused !== null) return refused;
    const sessions = ctx.ship.dashboard;
    if (!sessions) {
      ctx.err('starphleet dashboard: this ship serves no dashboard\n');
      return 1;
    }
    let login: { token: string; seconds: number };
    try {
      // Commands reach the ship without the admiral's key (control socket): the admirals of now stand in for it, and a
      // session ends as soon as any of them leaves HQ.
      const admirals = (ctx.ship.headquarters.current?.admirals ?? []).map((a) => a.fingerprint);
      login = sessions.issueLogin({ by: callerName(ctx), fingerprint: ctx.caller.admiral?.fingerprint ?? null, admirals });
    } catch (e) {
      ctx.err(`starphleet dashboard: ${(e as Error).message} (HQ .starphleet)\n`);
      return 1;
    }
    const base = ctx.ship.agent.ctx.urlFor('/');
    ctx.out(`${base}starphleet/dashboard/login?token=${login.token}\n`);
    ctx.err(`(works once, for ${login.seconds} s)\n`);
    return 0;
  },
};
