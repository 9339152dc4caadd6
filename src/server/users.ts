import { admiralBackend } from './admiral-session.js';
import { gitBackend } from './git-session.js';
import type { UserBackend } from './session-context.js';
import { updateBackend } from './update-session.js';

/**
 * SSH user name -> what that user can do. A Map, not an object: a user named `constructor` or `__proto__` must find
 * nothing. `git` and `update` are reserved for their own backends (one file and one entry each); until then they
 * are refused at authentication like any unknown user.
 */
export const USERS: ReadonlyMap<string, UserBackend> = new Map<string, UserBackend>([['admiral', admiralBackend], ['git', gitBackend], ['update', updateBackend]]);

export const USER_NAMES: ReadonlySet<string> = new Set(USERS.keys());
