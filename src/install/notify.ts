import { execFile } from 'node:child_process';
import { unitMainPidSetting } from '../settings/update-settings.js';

/**
 * Tells systemd (a `Type=notify` unit, NotifyAccess=main) about the ship: READY=1 once it serves, and after an
 * update's hand-over the new ship's pid as MAINPID. Node 20 cannot send on a unix datagram socket, so
 * `systemd-notify` sends it; run by root it sends in the name of its parent (the ship: the main process), or of the
 * pid given as `from` (the old ship, still the main process while the new one takes over). Without --no-block it
 * waits until systemd has read the message (a BARRIER). Returns null when sent or when not under systemd (no
 * NOTIFY_SOCKET), else why it failed (the ship runs on).
 */
export function notifySystemd(fields: { readonly ready?: boolean; readonly mainPid?: number; readonly from?: number; readonly status?: string }, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(null);
  const args: string[] = [];
  // --pid=X sends in X's name; a MAINPID= word after it wins over the MAINPID=X that --pid also adds.
  if (fields.from !== undefined) args.push(`--pid=${fields.from}`);
  if (fields.mainPid !== undefined) args.push(`MAINPID=${fields.mainPid}`);
  if (fields.ready) args.push('READY=1');
  if (fields.status !== undefined) args.push(`STATUS=${fields.status.replace(/\n/g, ' ')}`);
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env, timeout: 30_000 }, (e, _out, stderr) => {
      resolve(e ? `systemd-notify ${args.join(' ')}: ${stderr.trim() || e.message}` : null);
    });
  });
}

/**
 * The pid systemd tracks as the unit's main process, as this ship knows it: the process systemd started
 * (SYSTEMD_EXEC_PID: the launcher, <data>/bin/ship), or the ship that took over last (STARPHLEET_UNIT_MAIN_PID, which
 * a ship sets in its own env once it is main, so its successor inherits it). null when not known (not under systemd).
 */
export function unitMainPid(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = Number(unitMainPidSetting(env) ?? env.SYSTEMD_EXEC_PID);
  return Number.isInteger(v) && v > 1 ? v : null;
}
