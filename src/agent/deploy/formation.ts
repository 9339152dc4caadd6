import type { Release } from '../types.js';
import { newSlot, type Slot } from './controller.js';

/** How many instances of each type: the orders' `scale` over app.json's `formation` over one each; 0 runs none. */
export function formationOf(release: Release, scale: Readonly<Record<string, number>> | undefined): { process: string; count: number }[] {
  const cfg = release.config;
  const types = Object.keys(cfg.processes ?? (cfg.command ? { web: cfg.command } : {}));
  types.sort((a, b) => (a === 'web' ? -1 : b === 'web' ? 1 : a.localeCompare(b)));
  return types.map((process) => ({ process, count: scale?.[process] ?? cfg.manifest?.formation[process] ?? 1 }));
}

/** The slots a formation asks for, in order: web.1, web.2, worker.1... */
export function slotsOf(formation: readonly { process: string; count: number }[]): Slot[] {
  return formation.flatMap((f) => Array.from({ length: f.count }, (_, i) => newSlot(f.process, i + 1)));
}

/** `web=2 worker=1` for logs and status. */
export function describeFormation(slots: readonly Slot[]): string {
  const n = new Map<string, number>();
  for (const s of slots) n.set(s.process, (n.get(s.process) ?? 0) + 1);
  return [...n].map(([t, c]) => `${t}=${c}`).join(' ') || 'nothing';
}
