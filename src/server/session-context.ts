import type { Session } from 'ssh2';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import type { Identity } from './auth.js';
import type { Peer } from './session-env.js';

/** What a user backend gets for each session channel of an authenticated connection. */
export interface SessionContext {
  /** Bound when the signed auth request was accepted; a session cannot ask to be anyone else. */
  readonly identity: Identity;
  readonly peer: Peer;
  readonly dataDir: string;
  readonly db: Db;
  readonly log: Logger;
  /** Session traffic: keeps the idle timer from closing the connection. */
  touch(): void;
}

/**
 * One SSH user name's capability (admiral: shell and exec; later git, update). Handles one session channel and
 * returns how to tear it down when the connection goes away (key removed, idle, ship stopping).
 */
export interface UserBackend {
  startSession(session: Session, ctx: SessionContext): () => void;
}
