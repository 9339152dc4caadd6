import { posixShellQuote } from '../util/shell-quote.js';
import { audited } from './command-audit.js';
import { RUN_LAUNCH_MARK } from './control/control-wire.js';
import type { ShipCommand } from './command.js';
import { runMeta } from './meta/service-meta.js';


const USAGE = 'usage: starphleet run <service> [--] <command...>';

/** `run svc -- ls -la` runs those words; `run svc 'echo $PORT'` (one word) is a shell command line, as on Heroku. */
export function oneOffCommand(words: readonly string[]): string {
  return words.length === 1 ? (words[0] as string) : words.map(posixShellQuote).join(' ');
}

/**
 * `starphleet run`: the ship prepares a fresh sandbox of the serving release (its env, its limits, no bridge: never
 * routed) and hands the CLI what to spawn; the CLI runs it with its own stdin, terminal and exit code (commands/
 * run-client.ts), so a PTY of `ssh -t admiral@ship` reaches the command. The sandbox's run dir and cgroup go when the
 * CLI hangs up.
 */
export const runCommand: ShipCommand = {
  ...runMeta,
  async run(args, ctx) {
    const [service, ...rest] = args;
    const words = rest[0] === '--' ? rest.slice(1) : rest;
    if (service === undefined || service.startsWith('-') || words.length === 0) {
      ctx.err(`${USAGE}\n`);
      return 2;
    }
    const release = ctx.ship.agent.servingOf(service);
    if (!release) {
      ctx.err(`starphleet run: ${service} has no serving release (see starphleet status)\n`);
      return 1;
    }
    return audited(ctx, ['run', ...args], async () => {
      const p = await ctx.ship.agent.prepareOneOff(release, oneOffCommand(words));
      ctx.ship.log(`${service}: one-off ${p.id} of release ${release.config.id}: ${oneOffCommand(words)}`);
      ctx.out(`${RUN_LAUNCH_MARK}${JSON.stringify(p.launch)}\n`);
      // The client runs it; its hang-up (the command ended, or Ctrl-C) is when the sandbox's leftovers go.
      await new Promise<void>((r) => (ctx.signal.aborted ? r() : ctx.signal.addEventListener('abort', () => r(), { once: true })));
      p.cleanup();
      return 0;
    });
  },
};
