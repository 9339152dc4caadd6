/**
 * Sends signal to the whole process group pgid (a child started with `detached: true` leads its own), so its
 * children get it too. Returns false when nothing was sent: no pid yet (spawn failed), the group is gone (ESRCH), or
 * it is no longer one we may signal (EPERM: the ids were reused). Never throws: callers signal from timers and
 * exit handlers, where "already gone" is the normal end.
 */
export function killGroup(pgid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pgid === undefined || pgid <= 0) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}
