import type { SshRequest } from './gate.js';

/**
 * `scp` (or a path ending in /scp) with a -f or -t among its words, wherever it stands: scp-legacy parses (and
 * refuses) the rest, so an odd flag order never turns a file transfer into a plain exec.
 */
function scpDirection(words: readonly string[]): 'download' | 'upload' | null {
  if (words[0] !== 'scp' && !/\/scp$/.test(words[0] ?? '')) return null;
  for (const w of words.slice(1)) {
    if (/^-[A-Za-z]*f/.test(w)) return 'download';
    if (/^-[A-Za-z]*t/.test(w)) return 'upload';
  }
  return null;
}

/**
 * What an exec is, as a request for the gate: a command is a request too, so an exec of `starphleet update` is an
 * update, `scp -f`/`scp -t` is a file transfer, and everything the `git`/`update` users run is git/update. No exec
 * path gets round a deny of the request it amounts to.
 */
export function classifyExec(user: string, command: string): SshRequest {
  const words = command.trim().split(/\s+/);
  if (user === 'update') return { kind: 'update', command };
  if (user === 'git') {
    const program = words[0];
    if (program === 'git-receive-pack' || program === 'git-upload-pack') return { kind: program, command };
    return { kind: 'exec', command };
  }
  const direction = scpDirection(words);
  if (direction) return { kind: 'scp', command, direction };
  // `starphleet update --help` only prints the help (the CLI answers it without asking the ship): an exec, not an update.
  if (words[0] === 'starphleet' && words[1] === 'update' && !words.slice(2).some((w) => w === '--help' || w === '-h')) return { kind: 'update', command };
  return { kind: 'exec', command };
}

/** A shell request as a request: for `update` it is the update, for everyone else a shell. */
export function classifyShell(user: string): SshRequest {
  return user === 'update' ? { kind: 'update', command: null } : { kind: 'shell' };
}
