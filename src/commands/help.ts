import type { CommandMeta } from './command.js';

/** `--help` or `-h` among a command's arguments (before a `--`, after which everything is an operand). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** The examples block of a commander command's --help: `.addHelpText('after', helpExamples('starphleet x ...'))`. */
export function helpExamples(...lines: string[]): string {
  return `\nexamples:\n${lines.map((l) => `  ${l}`).join('\n')}\n`;
}

/**
 * `starphleet <name> --help`, from the command's own fields (its "docstring"): usage, summary, details, examples.
 * The CLI prints it without asking the ship, so it answers the same on a laptop and in `ssh admiral@ship`.
 */
export function commandHelp(cmd: CommandMeta, extraUsage = ''): string {
  const usage = `usage: starphleet ${cmd.name}${cmd.usage ? ` ${cmd.usage}` : ''}${extraUsage ? ` ${extraUsage}` : ''}`;
  const parts = [usage, '', cmd.summary];
  if (cmd.details) parts.push('', cmd.details);
  parts.push('', 'examples:', ...cmd.examples.map((e) => `  ${e}`));
  return `${parts.join('\n')}\n`;
}
