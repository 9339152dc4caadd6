import { fromAllows, parseFromPatterns } from '../../headquarters/from-pattern.js';
import type { Admiral } from '../../headquarters/types.js';
import { shipVerdict } from './ship-user.js';

/**
 * The one authorization decision of the SSH server. Every request a client makes after login goes through
 * `authorize`, and this is the only code that reads key options: backends only serve what it returns.
 */

/**
 * Who asks: the SSH user, the key (one entry per authorized_keys/ file that holds it: the same key in two files must
 * be allowed by both) and the client address.
 */
export interface GateIdentity {
  readonly user: string;
  readonly grants: readonly Admiral[];
  readonly remoteAddress: string;
}

export type ForwardKind = 'direct-tcpip' | 'tcpip-forward' | 'streamlocal-forward' | 'direct-streamlocal' | 'x11' | 'agent';

export type SshRequest =
  | { readonly kind: 'shell' }
  | { readonly kind: 'exec'; readonly command: string }
  | { readonly kind: 'pty' }
  | { readonly kind: 'env'; readonly name: string }
  | { readonly kind: 'sftp' }
  /** Legacy scp (`scp -O`): an exec of `scp -f` (download) or `scp -t` (upload), judged like SFTP. */
  | { readonly kind: 'scp'; readonly command: string; readonly direction: 'download' | 'upload' }
  | { readonly kind: 'git-receive-pack' | 'git-upload-pack'; readonly command: string }
  /** `ssh update@ship` (any command or a shell), or an exec of `starphleet update` as admiral. */
  | { readonly kind: 'update'; readonly command: string | null }
  | { readonly kind: 'subsystem'; readonly name: string }
  | { readonly kind: 'forward'; readonly what: ForwardKind; readonly detail: string };

/** What an allowed request serves: with a forced command, that command (the request goes to SSH_ORIGINAL_COMMAND). */
export type Verdict =
  | { readonly allow: true; readonly serve: SshRequest; readonly originalCommand?: string }
  | { readonly allow: false; readonly reason: string };

/** Env names a forced command's session accepts: nothing that changes what the command does (BASH_ENV, LD_PRELOAD). */
const SAFE_UNDER_FORCED_COMMAND = /^(LANG|LC_[A-Z_]+|TZ)$/;

const deny = (reason: string): Verdict => ({ allow: false, reason });

function has(grant: Admiral, option: string): boolean {
  return grant.options.some((o) => o.name === option);
}

/** OpenSSH: `restrict` and `no-pty` switch the pty off, a later `pty` switches it back on. */
function ptyAllowed(grant: Admiral): boolean {
  let pty = true;
  for (const o of grant.options) {
    if (o.name === 'restrict' || o.name === 'no-pty') pty = false;
    else if (o.name === 'pty') pty = true;
  }
  return pty;
}

function optionValue(grant: Admiral, option: 'command' | 'from'): string | undefined {
  let value: string | undefined;
  for (const o of grant.options) if (o.name === option) value = o.value;
  return value;
}

/** A one-line description of a request for the audit and the log. */
export function describeRequest(r: SshRequest): string {
  switch (r.kind) {
    case 'exec':
    case 'scp':
    case 'git-receive-pack':
    case 'git-upload-pack':
      return `${r.kind} ${JSON.stringify(r.command.slice(0, 200))}`;
    case 'update':
      return r.command === null ? 'update' : `update ${JSON.stringify(r.command.slice(0, 200))}`;
    case 'env':
      return `env ${r.name.slice(0, 64)}`;
    case 'subsystem':
      return `subsystem ${JSON.stringify(r.name.slice(0, 64))}`;
    case 'forward':
      return `${r.what}${r.detail ? ` ${r.detail}` : ''}`;
    default:
      return r.kind;
  }
}

/**
 * The key as a whole, before any request: from= of every file must allow the address, and files that force
 * different commands admit nothing (there is no command both would allow). Used at login and for every request.
 */
export function admit(grants: readonly Admiral[], remoteAddress: string): { ok: true; forced?: { command: string; file: string } } | { ok: false; reason: string } {
  if (grants.length === 0) return { ok: false, reason: 'key is not an admiral' };
  for (const g of grants) {
    const from = optionValue(g, 'from');
    if (from === undefined) continue;
    const patterns = parseFromPatterns(from);
    // keys.ts refuses a key with a bad from= list, so an error here means a bug: fail closed all the same.
    if ('error' in patterns || !fromAllows(patterns, remoteAddress)) return { ok: false, reason: `from= in ${g.file} does not allow ${remoteAddress}` };
  }
  let forced: { command: string; file: string } | undefined;
  for (const g of grants) {
    const command = optionValue(g, 'command');
    if (command === undefined) continue;
    if (forced && forced.command !== command) {
      return { ok: false, reason: `${forced.file} and ${g.file} force different commands for this key: it admits nothing` };
    }
    forced ??= { command, file: g.file };
  }
  return { ok: true, ...(forced ? { forced } : {}) };
}

function files(grants: readonly Admiral[], pick: (g: Admiral) => boolean): string {
  return grants.filter(pick).map((g) => g.file).join(' and ');
}

/** Allow or deny-with-reason, as OpenSSH applies authorized_keys options, for one request of one identity. */
export function authorize(identity: GateIdentity, request: SshRequest): Verdict {
  const { user, grants } = identity;
  const admitted = admit(grants, identity.remoteAddress);
  if (!admitted.ok) return deny(admitted.reason);
  // Other ships of the phleet: their own, separate rules (ship-user.ts), before anything admirals may do.
  if (user === 'ship') return shipVerdict(request);
  const forced = admitted.forced;

  switch (request.kind) {
    case 'forward':
      // Nobody forwards through a ship: it would turn the control plane into a way into the ship's network.
      return deny(`${describeRequest(request)} refused: this ship forwards no ports, sockets, agents or X11${grants.some((g) => has(g, 'restrict')) ? ` (and ${files(grants, (g) => has(g, 'restrict'))} says restrict)` : ''}`);
    case 'subsystem':
      return deny(`no subsystem ${JSON.stringify(request.name.slice(0, 64))} here (only sftp)`);
    case 'pty': {
      if (user === 'git') return deny('the git user gets no terminal');
      const without = files(grants, (g) => !ptyAllowed(g));
      return without ? deny(`no pty for this key (no-pty or restrict in ${without})`) : { allow: true, serve: request };
    }
    case 'env':
      if (user === 'git') return request.name === 'GIT_PROTOCOL' ? { allow: true, serve: request } : deny(`the git user accepts only GIT_PROTOCOL, not ${request.name}`);
      if (user === 'update') return deny('the update user accepts no environment');
      if (forced && !SAFE_UNDER_FORCED_COMMAND.test(request.name)) return deny(`env ${request.name} refused: ${forced.file} forces a command`);
      return { allow: true, serve: request };
    default:
      break;
  }

  if (forced) {
    const only = `this key may only run its forced command (command= in ${forced.file})`;
    if (user !== 'admiral') return deny(`${only}, not as ${user}`);
    switch (request.kind) {
      case 'shell':
        return { allow: true, serve: { kind: 'exec', command: forced.command } };
      case 'exec':
      case 'update':
        return { allow: true, serve: { kind: 'exec', command: forced.command }, ...(request.command !== null ? { originalCommand: request.command } : {}) };
      case 'sftp':
      case 'scp':
        return deny(`${only}: no file transfer`);
      default:
        return deny(`${only}, not ${request.kind}`);
    }
  }

  switch (user) {
    case 'admiral':
      if (request.kind === 'shell' || request.kind === 'exec' || request.kind === 'sftp' || request.kind === 'scp' || request.kind === 'update') return { allow: true, serve: request };
      return deny(`the admiral user does not serve ${request.kind}`);
    case 'git':
      if (request.kind === 'git-receive-pack' || request.kind === 'git-upload-pack') return { allow: true, serve: request };
      return deny('the git user only runs git-receive-pack (git push) and git-upload-pack (git clone/fetch)');
    case 'update':
      if (request.kind === 'update') return { allow: true, serve: request };
      return deny(`the update user only updates the ship, not ${request.kind}`);
    default:
      return deny(`no such user ${JSON.stringify(user.slice(0, 64))}`);
  }
}

/** True when two verdicts serve the same thing: a session stays open across an HQ change only if it does. */
export function sameOutcome(a: Verdict, b: Verdict): boolean {
  if (!a.allow || !b.allow) return false;
  return JSON.stringify([a.serve, a.originalCommand ?? null]) === JSON.stringify([b.serve, b.originalCommand ?? null]);
}
