import { existsSync } from 'node:fs';
import { Command, Option } from 'commander';
import { helpExamples } from '../commands/help.js';
import { SHIP_COMMAND_META } from '../commands/meta/command-table.js';
import { controlSocketPath } from '../commands/control/control-wire.js';
import { completionScript } from './completion.js';
import { configDir } from './config-dir.js';
import { AdmiralError, readRemotes } from './remotes.js';
import { registerSecretsCommand } from './secrets-command.js';
import { dataDirSetting } from '../settings/env-settings.js';

export { AdmiralError } from './remotes.js';

/** Commands that run on this machine even with -s / STARPHLEET_TARGET set (push uses the target itself). */
const LOCAL = new Set(['remote', 'hq', 'completion', 'push', 'ship', 'help']);

/** argv after the program name without the -s/--ship option (before any `--`): what the ship should run. */
export function remoteArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let literal = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!literal && a === '--') literal = true;
    if (!literal && (a === '-s' || a === '--ship')) i++;
    else if (!literal && (a.startsWith('--ship=') || (a.startsWith('-s') && a.length > 2 && !a.startsWith('--')))) continue;
    else out.push(a);
  }
  return out;
}

function err(s: string): void {
  process.stderr.write(s);
}

/**
 * The code behind remote, push and -s <ship> is imported when one of them runs: it reaches ssh2 (host keys, request
 * proofs), which every other start of the CLI would load for nothing.
 */
const remoteCommands = (): Promise<typeof import('./remote-commands.js')> => import('./remote-commands.js');
async function runOnTarget(configDir: string, name: string, argv: readonly string[], err: (s: string) => void): Promise<number> {
  return (await import('./run-remote.js')).runOnTarget(configDir, name, argv, err);
}

/** Runs an admiral action; expected failures print one line and exit 1 (bad input changes nothing). */
async function guarded(fn: () => Promise<number> | number): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (!(e instanceof AdmiralError)) throw e;
    err(`starphleet: ${e.message}\n`);
    process.exitCode = 1;
  }
}

function knownShips(): string {
  try {
    const names = readRemotes(configDir()).map((r) => r.name);
    return names.length > 0 ? `known: ${names.join(', ')}` : 'none known yet: starphleet remote add <name> admiral@<host>[:port]';
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The admiral's side of the CLI (issue #23): `remote add|list|remove`, `-s <ship>` / STARPHLEET_TARGET to run any
 * ship command over the user's ssh, `push [<app>]`, `hq init <dir>`, `completion bash|zsh`. Call it once, after
 * the other commands are registered (completion and `-s` look at them).
 */
export function registerAdmiralCommands(program: Command): void {
  program.addOption(new Option('-s, --ship <name>', 'run the command on this remote ship over ssh (see `remote`)').env('STARPHLEET_TARGET'));
  const target = (): string | undefined => (program.opts() as { ship?: string }).ship;

  const remote = program.command('remote').description('ships this machine drives over ssh, with pinned host keys');
  remote
    .command('add')
    .argument('<name>', 'a name for the ship, used as -s <name>')
    .argument('<target>', 'admiral@host[:port] (port 2222 when not given)')
    .option('--fingerprint <SHA256:...>', 'the host key fingerprint you expect (otherwise you confirm it on the terminal)')
    .description("add a ship: fetch its host key over your ssh, check it, pin it in the config dir")
    .addHelpText('after', helpExamples('starphleet remote add prod admiral@ship.example.com:2222', 'starphleet remote add prod admiral@ship --fingerprint SHA256:...'))
    .action((name: string, spec: string, flags: { fingerprint?: string }) => guarded(async () => { const r = await remoteCommands(); return r.remoteAdd(configDir(), name, spec, flags, r.terminalIo()); }));
  remote
    .command('list')
    .option('--names', 'only the names, one per line')
    .description('the ships added, with their addresses and pinned fingerprints')
    .addHelpText('after', helpExamples('starphleet remote list', 'starphleet remote list --names'))
    .action((flags: { names?: boolean }) => guarded(async () => { const r = await remoteCommands(); return r.remoteList(configDir(), flags, r.terminalIo()); }));
  remote
    .command('remove')
    .argument('<name>', 'the remote to forget')
    .description('forget a ship and its pinned host key')
    .addHelpText('after', helpExamples('starphleet remote remove prod'))
    .action((name: string) => guarded(async () => { const r = await remoteCommands(); return r.remoteRemove(configDir(), name, r.terminalIo()); }));

  program
    .command('push')
    .argument('[app]', 'the test-build name (default: the repo directory name)')
    .description('with -s <ship>: git push the current branch to the ship as a test build (adds the git remote if missing)')
    .addHelpText('after', helpExamples('starphleet -s prod push', 'starphleet -s prod push myapp'))
    .action((app: string | undefined) =>
      guarded(async () => {
        const ship = target();
        if (ship === undefined) throw new AdmiralError(`push needs a ship: starphleet -s <ship> push [<app>] (${knownShips()})`);
        return (await import('./push.js')).pushToShip(configDir(), ship, app, process.cwd(), err);
      }),
    );

  registerSecretsCommand(program, guarded);

  const hq = program.commands.find((c) => c.name() === 'hq') ?? program.command('hq').description('headquarters tools');
  hq.command('init')
    .argument('<dir>', 'a new (or empty) directory')
    .option('--key <file.pub>', 'an admiral public key (repeatable; default: ~/.ssh/id_*.pub)', (v: string, prev: string[] = []) => [...prev, v])
    .description('make a new HQ git repo: example orders (the bundled hello service), your key, .starphleet, README')
    .addHelpText('after', helpExamples('starphleet hq init my-hq', 'starphleet hq init my-hq --key ~/.ssh/id_ed25519.pub'))
    .action((dir: string, flags: { key?: string[] }) => guarded(async () => (await import('./hq-init.js')).hqInit(dir, flags, (s) => process.stdout.write(s))));

  program
    .command('completion')
    .argument('<shell>', 'bash or zsh')
    .description('print the shell completion script: source <(starphleet completion bash)')
    .addHelpText('after', helpExamples('source <(starphleet completion bash)', 'starphleet completion zsh > ~/.zfunc/_starphleet'))
    .action((shell: string) => guarded(() => (process.stdout.write(completionScript(program, shell)), 0)));

  // With a target, a ship command (known here or not: the ship may know more commands than this CLI) runs there.
  program.hook('preSubcommand', async (_program, sub) => {
    const ship = target();
    if (ship === undefined || LOCAL.has(sub.name())) return;
    await guarded(() => runOnTarget(configDir(), ship, remoteArgv(process.argv.slice(2)), err));
    process.exit();
  });
  program.on('command:*', (operands: string[]) => {
    const ship = target();
    if (ship === undefined) {
      program.error(`error: unknown command '${operands[0]}'`, { code: 'commander.unknownCommand' });
      return;
    }
    void guarded(() => runOnTarget(configDir(), ship, remoteArgv(process.argv.slice(2)), err)).then(() => process.exit());
  });
  // No ship here and no target: say how to pick one, after the command's own error.
  const shipCommands = new Set<string>(SHIP_COMMAND_META.map((c) => c.name));
  program.hook('postAction', (_program, action) => {
    if (!shipCommands.has(action.name()) || process.exitCode === 0 || process.exitCode === undefined) return;
    const data = dataDirSetting((action.opts() as { data?: string }).data);
    if (existsSync(controlSocketPath(data))) return;
    err(`starphleet: to run it on a ship elsewhere, pick one: starphleet -s <ship> ${action.name()} (or export STARPHLEET_TARGET=<ship>); ${knownShips()}\n`);
  });
}
