import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

function q(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * bash for an admiral's shell on a PTY. Debian's and Ubuntu's /etc/profile set PATH from scratch, so a login shell
 * would lose <data>/bin (and `starphleet`). In POSIX mode a login shell reads only $ENV: the rc below then does
 * what bash -l does (/etc/profile, then the first of ~/.bash_profile, ~/.bash_login, ~/.profile), leaves POSIX mode,
 * puts <data>/bin first and greets. The shell stays a real login shell (`logout`, ~/.bash_logout, login_shell).
 */
export const LOGIN_SHELL_ARGS: readonly string[] = ['--posix', '-l'];

function rcText(dataDir: string): string {
  const bin = join(dataDir, 'bin');
  return `# Written by the starphleet ship: do not edit. The startup file of admirals' shells (see src/server/sessions/login-shell.ts).
# A PTY shell (bash --posix -l) reads it as ENV; a shell without a terminal (bash -l) as BASH_ENV, after the profile.
unset ENV BASH_ENV
if shopt -qo posix; then
  set +o posix
  if [ -r /etc/profile ]; then . /etc/profile; fi
  for __sp_f in "$HOME/.bash_profile" "$HOME/.bash_login" "$HOME/.profile"; do
    if [ -r "$__sp_f" ]; then . "$__sp_f"; break; fi
  done
  unset __sp_f
fi
__sp_bin=${q(bin)}
__sp_p=":$PATH:"; __sp_p=\${__sp_p//":$__sp_bin:"/:}; __sp_p=\${__sp_p#:}; __sp_p=\${__sp_p%:}
PATH="$__sp_bin\${__sp_p:+:$__sp_p}"
export PATH STARPHLEET_DATA=${q(dataDir)}
case $- in *i*) "$__sp_bin/starphleet" greeting 2>/dev/null ;; esac
unset __sp_bin __sp_p
`;
}

const written = new Map<string, string>();

/** Env for an admiral's shell (not for commands): the rc as ENV and BASH_ENV. Writes the rc when it is not there. */
export function loginShellEnv(dataDir: string): Record<string, string> {
  const path = join(dataDir, 'bin', 'login-shell.rc');
  const text = rcText(dataDir);
  if (written.get(path) !== text) {
    let current: string | null = null;
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = null;
    }
    if (current !== text) {
      mkdirSync(join(dataDir, 'bin'), { recursive: true, mode: 0o755 });
      writeFileSync(path, text, { mode: 0o644 });
    }
    written.set(path, text);
  }
  return { ENV: path, BASH_ENV: path };
}
