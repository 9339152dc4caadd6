import type { Verdict } from './gate.js';

/** A service name as status shows it (mount path with `/` turned into `.`): nothing a shell could read otherwise. */
const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The phleet operations another ship may run here as user `ship` (the fan-out of `starphleet phleet`, src/phleet):
 * exactly `starphleet status --json`, `starphleet logs <service> [-f]` and `starphleet redeploy <service>`. The
 * command that runs is rebuilt from the checked words, never the string as sent. Null: not a phleet operation.
 */
export function phleetExec(command: string): Verdict | null {
  const words = command.trim().split(/ +/);
  if (words[0] !== 'starphleet' || command.includes('\n') || command.includes('\t')) return null;
  const [, verb, a, b, ...more] = words;
  if (more.length > 0) return null;
  const serve = (c: string): Verdict => ({ allow: true, serve: { kind: 'exec', command: c } });
  if (verb === 'status' && a === '--json' && b === undefined) return serve('starphleet status --json');
  if (verb === 'logs' && a !== undefined && SERVICE.test(a) && (b === undefined || b === '-f')) return serve(`starphleet logs ${a}${b ? ' -f' : ''}`);
  if (verb === 'redeploy' && a !== undefined && SERVICE.test(a) && b === undefined) return serve(`starphleet redeploy ${a}`);
  return null;
}
