import { admiralBackend } from './admiral-session.js';
import { gitBackend } from './git-session.js';
import type { UserBackend } from './session-context.js';
import { updateBackend } from './update-session.js';

/**
 * SSH user name -> what that user can do. A Map, not an object: a user named `constructor` or `__proto__` must find
 * nothing. One file and one entry per user: `git` pushes and clones test builds (git-session.ts), `update` updates
 * the ship (update-session.ts). Any other user name is refused at authentication.
 */
export const USERS: ReadonlyMap<string, UserBackend> = new Map<string, UserBackend>([['admiral', admiralBackend], ['git', gitBackend], ['update', updateBackend]]);

export const USER_NAMES: ReadonlySet<string> = new Set(USERS.keys());
