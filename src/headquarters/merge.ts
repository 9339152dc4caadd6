import type { DesiredState, Service } from './types.js';

/**
 * A broken orders file must not take its service down: where this commit's orders for a mount failed, the last good
 * orders for that mount stay in force (marked stale; the problem is still reported). Everything else follows the commit.
 */
export function keepLastGoodOrders(next: DesiredState, previous: DesiredState | null): DesiredState {
  if (!previous || next.brokenOrders.length === 0) return next;
  const kept: Service[] = [];
  for (const mount of next.brokenOrders) {
    const prev = previous.services.find((s) => s.mount === mount);
    if (prev) kept.push({ ...prev, stale: true });
  }
  if (kept.length === 0) return next;
  const services = [...next.services, ...kept].sort((a, b) => a.mount.localeCompare(b.mount));
  return Object.freeze({ ...next, services: Object.freeze(services) });
}

export interface ServiceChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly removed: readonly string[];
  /** Only their placement (`on`) changed: nothing redeploys where they stay. */
  readonly placed: readonly string[];
}

/** The same deploy inputs from HQ's side; `on` is placement, not an input (a move redeploys nothing where it stays). */
function sameService(a: Service, b: Service): boolean {
  return a.ordersDigest === b.ordersDigest && JSON.stringify({ ...a.orders, on: undefined }) === JSON.stringify({ ...b.orders, on: undefined });
}

/** Service names added, changed (orders) and removed between two desired states. */
export function serviceChanges(previous: DesiredState | null, next: DesiredState): ServiceChanges {
  const before = new Map((previous?.services ?? []).map((s) => [s.name, s]));
  const after = new Map(next.services.map((s) => [s.name, s]));
  const added = [...after.keys()].filter((n) => !before.has(n));
  const removed = [...before.keys()].filter((n) => !after.has(n));
  const changed = [...after.keys()].filter((n) => {
    const b = before.get(n);
    return b !== undefined && !sameService(b, after.get(n) as Service);
  });
  const placed = [...after.keys()].filter((n) => {
    const b = before.get(n);
    return b !== undefined && !changed.includes(n) && JSON.stringify(b.orders.on ?? null) !== JSON.stringify(after.get(n)?.orders.on ?? null);
  });
  return { added, changed, removed, placed };
}

/** HQ `.starphleet` names that differ between two states; STARPHLEET_* names are ship settings and redeploy nothing. */
function changedEnvNames(before: Readonly<Record<string, string>>, after: Readonly<Record<string, string>>): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names].filter((n) => !n.startsWith('STARPHLEET_') && before[n] !== after[n]).sort();
}

/**
 * Each service kept from the previous state whose deploy inputs this change touches, with why: its orders changed,
 * HQ `.starphleet` env changed (the names), or both. Added services deploy anyway; a new sha of a service repo is
 * not an HQ change (the agent's deploy line says it).
 */
export function redeployReasons(previous: DesiredState | null, next: DesiredState): { readonly name: string; readonly why: string }[] {
  if (!previous) return [];
  const before = new Map(previous.services.map((s) => [s.name, s]));
  const env = changedEnvNames(previous.env, next.env);
  const out: { name: string; why: string }[] = [];
  for (const s of next.services) {
    const b = before.get(s.name);
    if (!b) continue;
    const why = [!sameService(b, s) ? 'orders changed' : '', env.length > 0 ? `HQ env changed: ${env.join(', ')}` : ''].filter(Boolean);
    if (why.length > 0) out.push({ name: s.name, why: why.join(', ') });
  }
  return out;
}
