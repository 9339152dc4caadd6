import { PROOF_TOKEN } from '../../phleet/request-proof.js';
import type { Verdict } from './gate.js';

/** A service name as status shows it (mount path with `/` turned into `.`): nothing a shell could read otherwise. */
const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The phleet operations another ship may run here as user `ship` (the fan-out of `starphleet phleet`, src/phleet):
 * `starphleet status --json` and `starphleet sync` on their own; `starphleet logs <service> [-f] [--raw] --proof <token>` and
 * `starphleet redeploy <service> --proof <token>` only with an admiral's signed request, which the command checks
 * (src/phleet/verify-proof.ts) before it reads or does anything: a ship cannot read logs or redeploy on its own.
 * The command that runs is rebuilt from the checked words, never the string as sent. Null: not a phleet operation.
 */
export function phleetExec(command: string): Verdict | null {
  const words = command.trim().split(/ +/);
  if (words[0] !== 'starphleet' || command.includes('\n') || command.includes('\t')) return null;
  const [, verb, service, ...flags] = words;
  const serve = (c: string): Verdict => ({ allow: true, serve: { kind: 'exec', command: c } });
  if (verb === 'status' && service === '--json' && flags.length === 0) return serve('starphleet status --json');
  // An HQ check now (phleet sync): it reads and changes nothing but when the next check runs.
  if (verb === 'sync' && service === undefined) return serve('starphleet sync');
  if ((verb !== 'logs' && verb !== 'redeploy') || service === undefined || !SERVICE.test(service)) return null;
  let follow = false;
  let raw = false;
  let proof: string | undefined;
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    if (verb === 'logs' && f === '-f' && !follow) follow = true;
    else if (verb === 'logs' && f === '--raw' && !raw) raw = true;
    else if (f === '--proof' && proof === undefined && PROOF_TOKEN.test(flags[i + 1] ?? '')) proof = flags[++i];
    else return null;
  }
  if (proof === undefined) return null;
  return serve(`starphleet ${verb} ${service}${follow ? ' -f' : ''}${raw ? ' --raw' : ''} --proof ${proof}`);
}
