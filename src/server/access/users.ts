/**
 * The SSH user names this ship serves; what each may do is the gate's decision (gate.ts). A Set, not an object: a
 * user named `constructor` or `__proto__` must find nothing. Any other user name is refused at authentication.
 */
export const USER_NAMES: ReadonlySet<string> = new Set(['admiral', 'git', 'update', 'ship']);
