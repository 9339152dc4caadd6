import { createHash, randomBytes } from 'node:crypto';
import type { Caller } from '../command.js';

/**
 * Who is behind a command that reaches the control socket from an admiral's SSH session. The session's shell gets a
 * random token in STARPHLEET_SESSION (a name the client cannot set); the CLI it runs sends the token with its request,
 * and the control socket turns it back into the admiral's key file and fingerprint. Without it every command over
 * SSH ran as "local cli" (a rollback's pin, the deploy history, the dashboard's header).
 *
 * The map lives in the ship process that serves both the SSH sessions and the control socket. A token names its
 * session only while the session lasts; an unknown one makes the caller the local CLI, which is what anyone who can
 * open the 0600 control socket is anyway (root or the ship's user). The variable's name is in control-wire.ts (the
 * client reads it).
 */

export interface SessionAdmiral {
  readonly file: string;
  readonly fingerprint: string;
}

/** By the token's sha256: what sits in memory cannot be replayed. */
const live = new Map<string, SessionAdmiral>();
const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

/** A token for one SSH session's programs; `end()` forgets it when the session closes. */
export function issueSessionToken(admiral: SessionAdmiral): { token: string; end(): void } {
  const token = randomBytes(32).toString('base64url');
  const key = digest(token);
  live.set(key, admiral);
  return { token, end: () => void live.delete(key) };
}

/** The caller a control request stands for: the admiral of a live session token, or the local CLI. */
export function callerOf(token: string | undefined): Caller {
  const admiral = token === undefined || token.length > 100 ? undefined : live.get(digest(token));
  return admiral ? { via: 'ssh', admiral } : { via: 'cli' };
}
