import { ago, describeContact, parseContact, type HqContactState } from '../../headquarters/contact.js';
import { placedOn, tagsOf } from '../../headquarters/placement.js';
import type { DesiredState } from '../../headquarters/types.js';
import type { ShipAnswer } from '../../phleet/fanout.js';
import type { ShipRecord } from '../../phleet/record.js';
import { visible } from '../../util/terminal-safe.js';

/** What `phleet status` reads of each ship's `starphleet status --json` (anything else in it is ignored). */
interface RemoteStatus {
  readonly ship: { readonly name: string; readonly tags?: unknown; readonly headquarters?: { readonly sha?: unknown; readonly contact?: unknown } };
  readonly services: readonly { name: string; state: string; sha: string | null; release: string | null; message: string }[];
}

function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** A ship's own answer, or why there is none: a ship that did not answer is unreachable, never "failed". */
type Seen = { readonly ship: ShipRecord; readonly status: RemoteStatus | null; readonly unreachable: string | null; readonly unreadable: string | null };

function short(v: unknown): string {
  return typeof v === 'string' && /^[0-9a-f]{7,40}$/.test(v) ? v.slice(0, 7) : '-';
}

/**
 * The report of `phleet status`: one line per ship (the HQ sha it runs, its last contact with HQ, its tags; a ship
 * that did not answer is `unreachable` with what its ships/ entry last said), the services of every ship, and where
 * each service is placed and runs. Everything from other ships is shown through visible() by the caller.
 */
export function phleetStatusReport(ships: readonly ShipRecord[], answers: readonly ShipAnswer[], outputs: ReadonlyMap<string, string[]>, desired: DesiredState | null, now = Date.now()): string[] {
  const seen: Seen[] = ships.map((ship) => {
    const a = answers.find((x) => x.ship === ship.name);
    if (!a || a.code === null) return { ship, status: null, unreachable: a?.unreachable ?? 'no answer', unreadable: null };
    if (a.code !== 0) return { ship, status: null, unreachable: null, unreadable: `its status exited ${a.code}` };
    try {
      return { ship, status: JSON.parse((outputs.get(ship.name) ?? []).join('\n')) as RemoteStatus, unreachable: null, unreadable: null };
    } catch (e) {
      return { ship, status: null, unreachable: null, unreadable: (e as Error).message };
    }
  });
  const shipRows = [['SHIP', 'HQ', 'HQ CONTACT', 'TAGS']];
  for (const s of seen) {
    const tags = [...tagsOf(s.ship.name, Array.isArray(s.status?.ship.tags) ? (s.status?.ship.tags as unknown[]) : s.ship.tags, desired?.tags)].join(' ') || '-';
    if (s.status) {
      const contact = parseContact(JSON.stringify(s.status.ship.headquarters?.contact ?? null)) as HqContactState | null;
      shipRows.push([s.ship.name, short(s.status.ship.headquarters?.sha), contactCell(contact, now), tags]);
    } else if (s.unreachable !== null) shipRows.push([s.ship.name, short(s.ship.hq), `unreachable from here (its ships/ entry says hq ${short(s.ship.hq)})`, tags]);
    else shipRows.push([s.ship.name, short(s.ship.hq), `unreadable status: ${s.unreadable ?? ''}`, tags]);
  }
  const rows = [['SHIP', 'SERVICE', 'STATE', 'SHA', 'RELEASE', 'MESSAGE']];
  for (const s of seen) {
    if (s.status) {
      if (s.status.services.length === 0) rows.push([s.ship.name, '-', 'no services', '-', '-', '']);
      for (const v of s.status.services) rows.push([s.ship.name, v.name, v.state, v.sha?.slice(0, 7) ?? '-', v.release ?? '-', v.message]);
    } else if (s.unreachable !== null) {
      // Not failed: nobody knows. What the ship last wrote into ships/ is all there is to show.
      const entries = Object.entries(s.ship.services);
      if (entries.length === 0) rows.push([s.ship.name, '-', 'unreachable', '-', '-', 'its ships/ entry lists no services']);
      for (const [name, v] of entries) rows.push([s.ship.name, name, 'unreachable', short(v.sha), v.release ?? '-', `its ships/ entry says ${v.state} since ${v.since}`]);
    } else rows.push([s.ship.name, '-', 'unreadable status', '-', '-', s.unreadable ?? '']);
  }
  return [...table(shipRows), '', ...table(rows), ...placement(seen, desired)];
}

function contactCell(c: HqContactState | null, now: number): string {
  if (c === null) return 'not contacted yet';
  if (c.failingSince === null && !(c.checkingSince && now - Date.parse(c.checkingSince) >= 10_000)) return c.lastContact ? `${ago(c.lastContact, now)}` : 'never';
  return describeContact(c, now);
}

/** Per service of HQ: the ships its `on` places it on (every ship when none) and those that run it now. */
function placement(seen: readonly Seen[], desired: DesiredState | null): string[] {
  if (!desired || desired.services.length === 0) return [];
  const rows = [['SERVICE', 'ON', 'PLACED ON', 'RUNS ON']];
  for (const svc of desired.services) {
    const placed = seen.filter((s) => placedOn(svc.orders.on, s.ship.name, tagsOf(s.ship.name, s.ship.tags, desired.tags))).map((s) => s.ship.name);
    const runs = seen
      .filter((s) => (s.status ? s.status.services.some((v) => v.name === svc.name && v.state === 'serving') : s.ship.services[svc.name]?.state === 'serving'))
      .map((s) => (s.status ? s.ship.name : `${s.ship.name} (unreachable; its entry)`));
    rows.push([svc.name, svc.orders.on?.join(' ') ?? '(every ship)', placed.join(', ') || 'no ship', runs.join(', ') || 'nowhere']);
  }
  return ['', ...table(rows)];
}

/** The lines as printed: every cell came from another ship or HQ, so control characters are made visible. */
export function printable(lines: readonly string[]): string {
  return lines.map((l) => `${visible(l)}\n`).join('');
}
