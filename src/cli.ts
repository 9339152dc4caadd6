#!/usr/bin/env node
import { Command, Option } from 'commander';
import { commandHelp, helpExamples, wantsHelp } from './commands/help.js';
import { ConfigError, evalTimeoutMs, shipOptions, type ShipFlags } from './settings/ship-options.js';
import { SHIP_COMMAND_META } from './commands/meta/command-table.js';
import { inlinePage } from './commands/traffic/traffic-args.js';
import { registerAdmiralCommands } from './admiral/register.js';
import { addInstallCommands, InstallError } from './install/cli-commands.js';
import { notifySystemd, unitMainPid } from './install/notify.js';
import { runOnShip } from './commands/control/run-on-ship.js';
import { callShip } from './commands/control/control-client.js';
import { runOneOffHere } from './commands/run-client.js';
import { log } from './log.js';
import { Predecessor } from './update/handover-new-ship.js';
import { DataDirBusy } from './state/lock.js';
import { VERSION, versionLine } from './version.js';
import { dataDirSetting, recordUnitMainPid } from './settings/env-settings.js';


const program = new Command();
program
  .name('starphleet')
  .description('continuous deployment for a phleet of ships driven by a git headquarters')
  .version(versionLine(), '-V, --version', 'print the version and the commit it was built from')
  .addHelpText('after', `${helpExamples('starphleet hq check                 # check the HQ checkout in this directory', 'starphleet ship --headquarters https://github.com/you/hq.git --data ./data', 'starphleet status --data ./data', 'starphleet logs --help')}\nEvery command answers --help, here and in \`ssh admiral@ship\`. Docs: docs/ in the package.\n`);

program
  .command('ship')
  .description('run a ship: follow the headquarters and serve what it orders')
  .option('--headquarters <url>', 'HQ git url or path, optionally url#branch (env STARPHLEET_HEADQUARTERS)')
  .option('--data <dir>', 'data directory (env STARPHLEET_DATA, default /var/starphleet)')
  .option('--listen <addr>', 'address the ship listens on', '0.0.0.0')
  .option('--ssh-port <port>', 'SSH port', '2222')
  .option('--http-port <port>', 'HTTP front door port', '8080')
  .option('--https-port <port>', 'HTTPS front door port (certificates from HQ ssl/ or ACME; see docs/https.md)')
  .option('--data-plane <kind>', 'HTTP data plane: embedded, nginx or auto (env STARPHLEET_DATA_PLANE, default embedded)')
  .option('--pulse <seconds>', 'seconds between HQ and service checks (env STARPHLEET_PULSE, default 5)')
  .option('--metrics-listen <addr>', 'Prometheus metrics at http://ADDR/metrics: host:port or off (env STARPHLEET_METRICS_LISTEN, default 127.0.0.1:9464)')
  .option('--dashboard-listen <addr>', 'the web dashboard on its own origin, http://ADDR/: host:port or off (env STARPHLEET_DASHBOARD_LISTEN, default 127.0.0.1:9465)')
  .option('--private-key <file>', 'private key for git over ssh (env STARPHLEET_PRIVATE_KEY)')
  .option('--name <name>', 'ship name: its file in HQ ships/ (env STARPHLEET_NAME, default ship-<hash of the host key fingerprint>)')
  .option('--tag <tag>', 'a tag of this ship, repeatable: orders with `on <tag>` run here (env STARPHLEET_TAGS, space or comma separated)', (v: string, all: string[]) => [...all, v], [] as string[])
  // Only `starphleet update` passes it, to the new version it starts: take over from the ship that started it.
  .addOption(new Option('--takeover', 'take over sockets and instances from the parent ship (update)').hideHelp())
  .addHelpText('after', helpExamples('starphleet ship --headquarters ./hq --data ./data', 'starphleet ship --headquarters git@github.com:you/hq.git#main --private-key ~/.ssh/id_ed25519', 'starphleet ship --headquarters ./hq --tag web --tag eu'))
  .action(async (flags: ShipFlags & { takeover?: boolean }) => {
    const options = shipOptions(flags);
    // Under systemd (Type=notify): the new ship of an update becomes the unit's main process before the old one goes.
    const predecessor = flags.takeover
      ? Predecessor.fromParent(async () => {
          // In the name of the unit's main process (the launcher, or the ship that took over last): NotifyAccess=main.
          const failed = await notifySystemd({ mainPid: process.pid, from: unitMainPid() ?? process.ppid, ready: true, status: `serving (took over, pid ${process.pid})` });
          if (failed) log(`systemd: ${failed}`);
          else recordUnitMainPid(process.pid);
        })
      : undefined;
    // Loaded here, not at the top: every other command of this CLI is a small client of the running ship.
    const { startShip } = await import('./ship.js');
    const ship = await startShip(options, log, predecessor);
    if (!predecessor) {
      const main = unitMainPid();
      const failed = await notifySystemd({ ready: true, status: `serving ${ship.options.name}`, ...(main !== null ? { from: main } : {}) });
      if (failed) log(`systemd: ${failed}`);
    }
    // Ctrl-C reaches the whole foreground group, so a wrapper (npm run example) may pass on a second SIGINT: one stop.
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return log(`${signal}: already stopping`);
      stopping = true;
      log(`${signal}: stopping`);
      void ship.stop().then(() => process.exit(0));
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });

/** Commands the running ship answers: sent over its control socket, same code as in admirals' SSH sessions. */
function dataDirFor(flags: { data?: string }): string {
  return dataDirSetting(flags.data);
}

// From the command table's metadata alone: a command's code is the ship's, which runs it when asked.
for (const cmd of SHIP_COMMAND_META.filter((c) => c.name !== 'version')) {
  program
    .command(cmd.name)
    .description(cmd.summary)
    .usage(`${cmd.usage} [--data DIR]`.trim())
    .option('--data <dir>', 'data directory of the ship to ask (env STARPHLEET_DATA)')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    // --help is the command's own (its fields, commands/help.ts), answered here without asking the ship.
    .helpOption(false)
    .action(async (flags: { data?: string }, command: Command) => {
      if (wantsHelp(command.args)) {
        process.stdout.write(commandHelp(cmd, '[--data DIR]'));
        return;
      }
      // run spawns the one-off here, with this process's stdin and terminal; the ship only prepares its sandbox.
      if (cmd.name === 'run') process.exitCode = await runOneOffHere(dataDirFor(flags), command.args, callShip);
      // maintenance --page FILE: the file is read here, with this user's access, and sent as text (traffic-args.ts).
      else process.exitCode = await runOnShip(dataDirFor(flags), [cmd.name, ...(cmd.name === 'maintenance' ? inlinePage(command.args) : command.args)], process.stdout, process.stderr);
    });
}

// The greeting of admirals' interactive shells (server/login-shell.ts runs it): not a command to list.
program
  .command('greeting', { hidden: true })
  .option('--data <dir>')
  .action(async (flags: { data?: string }) => {
    process.exitCode = await runOnShip(dataDirFor(flags), ['greeting'], process.stdout, process.stderr);
  });

const hq = program.command('hq').description('headquarters tools').addHelpText('after', helpExamples('starphleet hq check', 'starphleet hq check path/to/hq'));
hq.command('check')
  .argument('[dir]', 'an HQ checkout (default: the current directory)')
  .description('validate an HQ checkout; exit 1 with file:line errors')
  .option('--ships <dir>', 'a checkout of the repository ships write back to (STARPHLEET_WRITEBACK); default: the one .starphleet names (cloned), else HQ ships/')
  .addHelpText('after', helpExamples('cd my-hq && starphleet hq check', 'starphleet hq check ~/src/hq   # exit 0 when clean, 1 with problems as file:line: message'))
  .action(async (dir: string | undefined, flags: { ships?: string }) => {
    // Imported here: the HQ reader (keys, cron, orders) is the heaviest part of the CLI, and only this command needs it.
    const { hqCheck } = await import('./commands/hq-check.js');
    process.exitCode = await hqCheck(dir ?? process.cwd(), (s) => process.stdout.write(s), evalTimeoutMs(), flags.ships !== undefined ? { ships: flags.ships } : {});
  });

program
  .command('version')
  .description('print the starphleet version (--version adds the commit)')
  .addHelpText('after', helpExamples('starphleet version', 'starphleet --version', 'ssh -p 2222 admiral@ship starphleet version   # the running ship\'s'))
  .action(() => {
    process.stdout.write(`${VERSION}\n`);
  });

addInstallCommands(program, dataDirFor);
// The admiral's laptop side (remote, -s <ship>, push, hq init, completion): last, it completes what is above.
registerAdmiralCommands(program);

program.parseAsync(process.argv).catch((e: unknown) => {
  const expected = e instanceof ConfigError || e instanceof DataDirBusy || e instanceof InstallError;
  process.stderr.write(`starphleet: ${expected ? (e as Error).message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(e instanceof ConfigError || e instanceof InstallError ? 2 : 1);
});
