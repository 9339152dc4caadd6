#!/usr/bin/env node
import { Command, Option } from 'commander';
import { hqCheck } from './commands/hq-check.js';
import { ConfigError, evalTimeoutMs, shipOptions, type ShipFlags } from './config.js';
import { resolve } from 'node:path';
import { SHIP_COMMANDS } from './commands/registry.js';
import { runOnShip } from './server/run-on-ship.js';
import { log } from './log.js';
import { startShip } from './ship.js';
import { Predecessor } from './update/handover-new-ship.js';
import { DataDirBusy } from './state/lock.js';
import { VERSION } from './version.js';

const program = new Command();
program.name('starphleet').description('continuous deployment for a phleet of ships driven by a git headquarters').version(VERSION, '-V, --version-flag');

program
  .command('ship')
  .description('run a ship: follow the headquarters and serve what it orders')
  .option('--headquarters <url>', 'HQ git url or path, optionally url#branch (env STARPHLEET_HEADQUARTERS)')
  .option('--data <dir>', 'data directory (env STARPHLEET_DATA, default /var/starphleet)')
  .option('--listen <addr>', 'address the ship listens on', '0.0.0.0')
  .option('--ssh-port <port>', 'SSH port', '2222')
  .option('--http-port <port>', 'HTTP front door port', '8080')
  .option('--pulse <seconds>', 'seconds between HQ and service checks (env STARPHLEET_PULSE, default 5)')
  .option('--private-key <file>', 'private key for git over ssh (env STARPHLEET_PRIVATE_KEY)')
  .option('--name <name>', 'ship name (default: hostname)')
  // Only `starphleet update` passes it, to the new version it starts: take over from the ship that started it.
  .addOption(new Option('--takeover', 'take over sockets and instances from the parent ship (update)').hideHelp())
  .action(async (flags: ShipFlags & { takeover?: boolean }) => {
    const ship = await startShip(shipOptions(flags), log, flags.takeover ? Predecessor.fromParent() : undefined);
    const shutdown = (signal: string): void => {
      log(`${signal}: stopping`);
      void ship.stop().then(() => process.exit(0));
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });

/** Commands the running ship answers: sent over its control socket, same code as in admirals' SSH sessions. */
function dataDirFor(flags: { data?: string }): string {
  return resolve(flags.data ?? process.env.STARPHLEET_DATA ?? '/var/starphleet');
}

for (const cmd of SHIP_COMMANDS.filter((c) => c.name !== 'version')) {
  program
    .command(cmd.name)
    .description(cmd.summary)
    .usage(`${cmd.usage} [--data DIR]`.trim())
    .option('--data <dir>', 'data directory of the ship to ask (env STARPHLEET_DATA)')
    .allowUnknownOption(true)
    .allowExcessArguments(true)
    .helpOption(false)
    .action(async (flags: { data?: string }, command: Command) => {
      process.exitCode = await runOnShip(dataDirFor(flags), [cmd.name, ...command.args], process.stdout, process.stderr);
    });
}

const hq = program.command('hq').description('headquarters tools');
hq.command('check')
  .argument('<dir>', 'an HQ checkout')
  .description('validate an HQ checkout; exit 1 with file:line errors')
  .action(async (dir: string) => {
    process.exitCode = await hqCheck(dir, (s) => process.stdout.write(s), evalTimeoutMs());
  });

program
  .command('version')
  .description('print the starphleet version')
  .action(() => {
    process.stdout.write(`${VERSION}\n`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  const expected = e instanceof ConfigError || e instanceof DataDirBusy;
  process.stderr.write(`starphleet: ${expected ? (e as Error).message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
