import { PUSH_NAME as NAME, pushRepoPath } from '../../data-dir/push-names.js';

/** The two programs the `git` user runs: push and clone/fetch. Nothing else (no upload-archive, no shell). */
export type GitProgram = 'git-receive-pack' | 'git-upload-pack';

export type GitCommand = { readonly program: GitProgram; readonly name: string; readonly repo: string } | { readonly error: string };

/** What git sends: the program, one space, one shell-quoted argument. Anything else is refused, never guessed at. */
const COMMAND = /^(git-receive-pack|git-upload-pack) ('.*')$/s;
const MAX_COMMAND = 1024;

/**
 * Un-quotes one argument as git's sq_quote_buf() writes it: the whole of it in '...', with a `'` written as `'\''`
 * and a `!` as `'\!'`. Returns null for anything git would not have produced.
 */
export function unquoteGitArg(quoted: string): string | null {
  if (!quoted.startsWith("'")) return null;
  let out = '';
  let i = 1;
  for (;;) {
    const close = quoted.indexOf("'", i);
    if (close < 0) return null;
    out += quoted.slice(i, close);
    i = close + 1;
    if (i === quoted.length) return out;
    const escaped = quoted[i + 1];
    if (quoted[i] !== '\\' || (escaped !== "'" && escaped !== '!') || quoted[i + 2] !== "'") return null;
    out += escaped;
    i += 3;
  }
}

/** The push-repo name of the path git asked for: one optional leading `/`, one optional trailing `.git`, then NAME. */
export function pushName(path: string): string | null {
  let name = path.startsWith('/') ? path.slice(1) : path;
  if (name.endsWith('.git')) name = name.slice(0, -4);
  return NAME.test(name) ? name : null;
}

function shown(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}...` : s);
}

export const GIT_USAGE = 'the git user only runs git-receive-pack (git push) and git-upload-pack (git clone/fetch)';

/** Parses the exec request of a `git` session strictly; the error is the one line the client sees. */
export function parseGitCommand(command: string, dataDir: string): GitCommand {
  const usage = GIT_USAGE;
  if (command.length > MAX_COMMAND) return { error: `command too long: ${usage}` };
  const m = COMMAND.exec(command);
  if (!m) return { error: `${shown(command)} refused: ${usage}` };
  const program = m[1] as GitProgram;
  const path = unquoteGitArg(m[2] as string);
  if (path === null) return { error: `${shown(command)} refused: the repository argument is not quoted as git quotes it` };
  const name = pushName(path);
  const repo = name === null ? null : pushRepoPath(dataDir, name);
  if (name === null || repo === null) {
    return { error: `bad repository name ${shown(path)}: use ssh://git@SHIP:PORT/<name> with <name> of 1-63 characters a-z 0-9 . _ - starting with a letter or digit` };
  }
  return { program, name, repo };
}
