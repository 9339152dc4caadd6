import type { DesiredState } from '../headquarters/types.js';
import { hqHostnameSetting } from '../settings/dataplane-settings.js';

/** The names a ship needs certificates for: every proxy_for name and STARPHLEET_HOSTNAME. */
export function certificateNames(d: DesiredState): string[] {
  const names = new Set<string>();
  for (const s of d.services) for (const h of s.orders.proxyFor) names.add(h.toLowerCase());
  const host = hqHostnameSetting(d.env);
  if (host) names.add(host);
  return [...names].filter((n) => /^[a-z0-9.-]+$/.test(n)).sort();
}
