import { statusJson } from '../agent/status-json.js';
import { sourceCommit, VERSION } from '../version.js';
import { refuseArguments, type ShipCommand } from './command.js';
import { greetingMeta } from './meta/internal-meta.js';

/**
 * What an admiral's interactive shell prints first (its login rc runs it, like sshd's motd): ship name, version and
 * commit, HQ sha, each service with its state, and the problems if any. Short on purpose: `starphleet status` has more.
 */
export const greetingCommand: ShipCommand = {
  ...greetingMeta,
  async run(args, ctx) {
    const refused = refuseArguments('greeting', args, ctx);
    if (refused !== null) return refused;
    const s = statusJson(ctx.ship.db, ctx.ship.options.name, ctx.ship.headquarters.url);
    const commit = sourceCommit();
    const lines = [
      `starphleet ship ${s.ship.name}, starphleet ${s.ship.version}${commit ? ` @ ${commit.slice(0, 7)}` : ''}${s.ship.version !== VERSION ? ` (CLI ${VERSION})` : ''}`,
      `headquarters ${s.ship.headquarters.url} at ${s.ship.headquarters.sha?.slice(0, 7) ?? '(not synced yet)'}`,
    ];
    if (s.services.length === 0) lines.push('services: none');
    else {
      lines.push('services:');
      for (const v of s.services) lines.push(`  ${v.name.padEnd(16)} ${v.state.padEnd(9)} ${v.sha?.slice(0, 7) ?? '-'}${v.state === 'failed' && v.message ? `  ${v.message.split('\n')[0]}` : ''}`);
    }
    if (s.problems.length > 0) lines.push(`problems (${s.problems.length}):`, ...s.problems.slice(0, 10).map((p) => `  ${p}`), ...(s.problems.length > 10 ? ['  ... (starphleet status)'] : []));
    lines.push('`starphleet --help` lists the commands.');
    ctx.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
