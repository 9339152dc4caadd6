import type { Guards } from '../../dataplane/ship-side/guards.js';
import type { WireRoute } from '../../dataplane/protocol/wire.js';
import type { DesiredState } from '../../headquarters/types.js';
import type { ServiceController } from './controller.js';
import type { Traffic } from '../traffic/traffic.js';
import { hqHttpsOnlySetting } from '../../settings/agent-settings.js';

/** HTTPS_ONLY / STARPHLEET_HTTPS_ONLY: `true`, `1` or `yes`. */
function httpsOnly(v: string | undefined): boolean {
  return v !== undefined && /^(true|1|yes)$/i.test(v.trim());
}

/**
 * The whole route table: one route per published service (its serving web instances, or none: 503 while it has no
 * healthy one), then the `git push` test routes on mounts no HQ service holds.
 */
export function routeTable(ctrls: Iterable<ServiceController>, desired: DesiredState | null, guards: Guards, testRoutes: Iterable<WireRoute>, traffic: Traffic): WireRoute[] {
  const routes: WireRoute[] = [];
  for (const c of ctrls) {
    // A deploy-only registry release (#22: its `deploy` script, no process) routes nothing, as if unpublished; nor
    // does a release with no web process (a worker-only Procfile) or with web scaled to 0.
    if (c.removed || !c.published || c.serving?.release.config.deployOnly === true || c.unrouted !== null) continue;
    const orders = desired?.services.find((s) => s.name === c.name)?.orders;
    const publishPort = orders?.env.PUBLISH_PORT;
    // Its serving web instances, or a rollout's two sides; maintenance and pauses (traffic/route-of.ts).
    const { instances, traffic: t } = traffic.route(c, orders, c.serving);
    routes.push({
      mount: c.mount,
      service: c.name,
      instance: instances[0] ?? null,
      ...(instances.length > 1 ? { instances } : {}),
      hosts: orders?.proxyFor ?? [],
      ...(publishPort !== undefined ? { publishPort } : {}),
      auth: guards.of(c.mount, desired),
      ...(httpsOnly(orders?.env.HTTPS_ONLY) || httpsOnly(hqHttpsOnlySetting(desired?.env)) ? { httpsOnly: true } : {}),
      ...(t ? { traffic: t } : {}),
    });
  }
  const taken = new Set(routes.map((r) => r.mount));
  for (const r of testRoutes) if (!taken.has(r.mount)) routes.push(r);
  return routes;
}
