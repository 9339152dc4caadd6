import { placedOn, tagsOf } from '../headquarters/placement.js';
import type { DesiredState, Problem } from '../headquarters/types.js';
import type { ShipRecord } from '../phleet/record.js';

/**
 * `on` words that name no ship and no tag `hq check` can see (ships/ entries, their tags, HQ `tags`): the service
 * would run nowhere, or a typo keeps it off the ship meant. Not checked while the phleet has no entry and HQ no `tags`
 * (a new phleet: the ships have not written themselves yet).
 */
export function placementProblems(state: DesiredState, ships: readonly ShipRecord[], from: string): Problem[] {
  const hqTags = state.tags ?? {};
  if (ships.length === 0 && Object.keys(hqTags).length === 0) return [];
  const known = new Set<string>([...ships.map((s) => s.name), ...Object.keys(hqTags)]);
  for (const s of ships) for (const t of tagsOf(s.name, s.tags, hqTags)) known.add(t);
  for (const tags of Object.values(hqTags)) for (const t of tags) known.add(t);
  const problems: Problem[] = [];
  for (const svc of state.services) {
    const unknown = (svc.orders.on ?? []).filter((w) => !known.has(w));
    if (unknown.length === 0) continue;
    const runs = ships.filter((r) => placedOn(svc.orders.on, r.name, tagsOf(r.name, r.tags, hqTags))).length;
    problems.push({ file: svc.ordersFile, message: `on ${unknown.join(' ')}: no ship in ships/ (${from}) is named or tagged so${runs === 0 ? ': the service runs on no ship' : ''}` });
  }
  return problems;
}

/** The report's placement section: each placed service and the ships of ships/ it runs on. */
export function placementLines(state: DesiredState, ships: readonly ShipRecord[]): string[] {
  const placed = state.services.filter((s) => s.orders.on !== undefined);
  if (placed.length === 0) return [];
  const lines = ['placement:'];
  for (const s of placed) {
    const on = ships.filter((r) => placedOn(s.orders.on, r.name, tagsOf(r.name, r.tags, state.tags))).map((r) => r.name);
    lines.push(`  ${s.mount} on ${s.orders.on?.join(' ') ?? ''} -> ${on.length > 0 ? on.join(', ') : ships.length > 0 ? 'no ship in ships/' : '(no ships/ entries to match yet)'}`);
  }
  return lines;
}
