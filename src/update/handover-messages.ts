
/**
 * The hand-over conversation between the running ship (parent) and its successor (child, started with --takeover and
 * an IPC channel). The child asks for each piece when it is ready to use it, so a socket is never held by a process
 * that does not serve it yet:
 *   child: {want:'control'}  parent closes its control socket, then {give:'control'}; the child binds a fresh one
 *   child: {want:'ssh'}      parent sends its listening SSH socket {give:'ssh'} (+handle); both accept for a while
 *   child: {want:'agent'}    parent stops reconciling, then {give:'agent'}; the child adopts the instances and the
 *                            data plane (its own process: HTTP is never handed over)
 *   child: {ready: version}  the child serves everything and holds the data-dir lock; the parent stops accepting,
 *                            lets in-flight requests and SSH sessions finish, and exits
 *   child: {failed: reason}  (or the child exits): the parent takes everything back and keeps serving
 */
export type Want = 'control' | 'ssh' | 'agent';

export type ToParent = { readonly want: Want } | { readonly ready: string } | { readonly failed: string };

export type ToChild = { readonly give: 'control' | 'ssh' | 'agent' };

export function isToParent(m: unknown): m is ToParent {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return o.want === 'control' || o.want === 'ssh' || o.want === 'agent' || typeof o.ready === 'string' || typeof o.failed === 'string';
}

export function isToChild(m: unknown): m is ToChild {
  if (typeof m !== 'object' || m === null) return false;
  const o = m as Record<string, unknown>;
  return o.give === 'control' || o.give === 'ssh' || o.give === 'agent';
}

import { handoverGraceMs } from '../settings/update-settings.js';
export { handoverGraceMs };
