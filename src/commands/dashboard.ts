import { callerName } from './command-audit.js';
import { refuseArguments, type ShipCommand } from './command.js';
import { dashboardUrlSetting } from '../settings/phleet-settings.js';
import { dashboardMeta } from './meta/ship-meta.js';

/** `starphleet dashboard`: a one-time login link to the dashboard's own listener, the only way into it. */
export const dashboardCommand: ShipCommand = {
  ...dashboardMeta,
  async run(args, ctx) {
    const refused = refuseArguments('dashboard', args, ctx);
    if (refused !== null) return refused;
    const dashboard = ctx.ship.dashboard;
    if (!dashboard) {
      ctx.err('starphleet dashboard: this ship serves no dashboard (--dashboard-listen off)\n');
      return 1;
    }
    const configured = dashboardUrlSetting(ctx.ship.headquarters.current?.env);
    const base = configured ? `${configured.replace(/\/+$/, '')}/` : dashboard.url();
    if (base === null) {
      ctx.err('starphleet dashboard: the dashboard is not listening yet: its address is taken (the ship log says which); try again in a few seconds\n');
      return 1;
    }
    if (!/^https?:\/\/[^/?#]+\/$/.test(base)) {
      ctx.err(`starphleet dashboard: STARPHLEET_DASHBOARD_URL must be an http(s) URL of the dashboard's root, got ${JSON.stringify(configured)} (HQ .starphleet)\n`);
      return 1;
    }
    let login: { token: string; seconds: number };
    try {
      // Over SSH the session token names the admiral (server/session-tokens.ts); from the ship's own shell the admirals
      // of now stand in, and the session ends as soon as any of them leaves HQ.
      const admirals = (ctx.ship.headquarters.current?.admirals ?? []).map((a) => a.fingerprint);
      login = dashboard.issueLogin({ by: callerName(ctx), fingerprint: ctx.caller.admiral?.fingerprint ?? null, admirals });
    } catch (e) {
      ctx.err(`starphleet dashboard: ${(e as Error).message} (HQ .starphleet)\n`);
      return 1;
    }
    // In the fragment: never sent to a server, never in a Referer; the page posts it once and drops it.
    ctx.out(`${base}#login=${login.token}\n`);
    ctx.err(`(works once, for ${login.seconds} s)\n`);
    return 0;
  },
};
