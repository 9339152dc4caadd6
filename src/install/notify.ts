import { execFile } from 'node:child_process';

/**
 * Tells systemd (a `Type=notify` unit) about the ship: READY=1 once it serves, and after an update's hand-over the
 * new ship's pid as MAINPID, so systemd keeps tracking the ship that runs. Node 20 cannot send on a unix datagram
 * socket, so `systemd-notify` sends it; without --no-block it waits until systemd has read the message (a
 * BARRIER), which the man page says is the race-free way for a process systemd did not start itself.
 * Returns null when sent or when not under systemd (no NOTIFY_SOCKET), else why it failed (the ship runs on).
 */
export function notifySystemd(fields: { readonly ready?: boolean; readonly mainPid?: number; readonly status?: string }, env: NodeJS.ProcessEnv = process.env): Promise<string | null> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(null);
  const args: string[] = [];
  if (fields.mainPid !== undefined) args.push(`--pid=${fields.mainPid}`);
  if (fields.ready) args.push('READY=1');
  if (fields.status !== undefined) args.push(`STATUS=${fields.status.replace(/\n/g, ' ')}`);
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { env, timeout: 30_000 }, (e, _out, stderr) => {
      resolve(e ? `systemd-notify ${args.join(' ')}: ${stderr.trim() || e.message}` : null);
    });
  });
}
