import type { Logger } from '../../log.js';
import type { Db } from '../../state/db.js';
import type { Identity } from '../access/auth.js';
import type { ConnectionGate } from '../access/connection-gate.js';
import type { Peer } from './session-env.js';

/** What the session handler and the backends get for each session channel of an authenticated connection. */
export interface SessionContext {
  /** The key and user bound when the signed auth request was accepted, with its current HQ entries. */
  readonly identity: Identity;
  /** Every request of the session goes through it; backends serve only what it allowed. */
  readonly gate: ConnectionGate;
  readonly peer: Peer;
  readonly dataDir: string;
  readonly db: Db;
  readonly log: Logger;
  /** Session traffic: keeps the idle timer from closing the connection. */
  touch(): void;
}
