import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { helpExamples } from '../commands/help.js';
import { DEFAULT_SANDBOX_USER } from '../settings/agent-settings.js';
import { InstallError } from './install-error.js';

export { InstallError };


/** systemctl, when this machine runs systemd and the files are the machine's own (no --root). */
function systemctl(root: string, ...args: string[]): boolean {
  if (resolve(root) !== '/' || !existsSync('/run/systemd/system')) return false;
  try {
    execFileSync('systemctl', args, { stdio: 'inherit' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `starphleet install | uninstall | stop`: putting a ship under systemd on a machine, and taking it off again. Their
 * code is imported by their actions: every other command's start would otherwise load the data plane and the db.
 */
export function addInstallCommands(program: Command, dataDirFor: (flags: { data?: string }) => string): void {
  program
    .command('install')
    .description('as root: create the sandbox user, the data dir and a systemd unit that runs this ship')
    .option('--sandbox-user <name>', 'unprivileged user that builds and instances run as', DEFAULT_SANDBOX_USER)
    .option('--data <dir>', 'data directory', '/var/starphleet')
    .option('--headquarters <url>', 'HQ git url or path (url#branch); else set it in /etc/starphleet/ship.env')
    .option('--http-port <port>', 'HTTP front door port', '80')
    .option('--ssh-port <port>', 'SSH port of the ship (the machine\'s own sshd keeps 22)', '2222')
    .option('--root <dir>', 'write everything under this directory instead of / (packaging, tests)', '/')
    .addHelpText('after', helpExamples('sudo starphleet install --headquarters https://github.com/you/hq.git', 'sudo systemctl enable --now starphleet', 'starphleet install --root /tmp/image --data /var/starphleet'))
    .action(async (o: { sandboxUser: string; data: string; headquarters?: string; httpPort: string; sshPort: string; root: string }) => {
      const { install } = await import('./install.js');
      process.stdout.write(
        install({ sandboxUser: o.sandboxUser, dataDir: o.data, ...(o.headquarters !== undefined ? { headquarters: o.headquarters } : {}), httpPort: o.httpPort, sshPort: o.sshPort, root: o.root }),
      );
    });

  program
    .command('uninstall')
    .description('as root: stop the ship and its instances, remove the unit, settings and sandbox user install made')
    .option('--remove-data', 'also delete the data dir (releases, state, HQ checkout, host keys)')
    .option('--root <dir>', 'the directory install wrote under', '/')
    .addHelpText('after', helpExamples('sudo starphleet uninstall', 'sudo starphleet uninstall --remove-data'))
    .action(async (o: { removeData?: boolean; root: string }) => {
      const [{ installedDataDir, uninstall, UNIT_NAME }, { stopShip }] = await Promise.all([import('./install.js'), import('./stop.js')]);
      const dataDir = installedDataDir(o.root);
      if (systemctl(o.root, 'disable', '--now', UNIT_NAME)) process.stdout.write(`stopped and disabled ${UNIT_NAME}\n`);
      if (dataDir !== null) await stopShip({ dataDir: join(o.root, dataDir), all: true, graceMs: 30_000, out: (s) => process.stdout.write(s) });
      process.stdout.write(uninstall({ root: o.root, removeData: o.removeData === true }));
      systemctl(o.root, 'daemon-reload');
    });

  program
    .command('stop')
    .description('stop the ship of a data dir; --all also stops every instance of it (instances outlive a ship)')
    .option('--all', 'also stop every instance recorded in the data dir')
    .option('--data <dir>', 'data directory (env STARPHLEET_DATA, default /var/starphleet)')
    .option('--grace <seconds>', 'seconds before SIGKILL', '90')
    .addHelpText('after', helpExamples('starphleet stop --all --data /var/starphleet', 'sudo systemctl stop starphleet && sudo starphleet stop --all'))
    .action(async (o: { all?: boolean; data?: string; grace: string }) => {
      const grace = Number(o.grace);
      if (!(grace > 0)) throw new InstallError(`--grace ${JSON.stringify(o.grace)}: needs a positive number of seconds`);
      const { stopShip } = await import('./stop.js');
      process.exitCode = await stopShip({ dataDir: dataDirFor(o), all: o.all === true, graceMs: grace * 1000, out: (s) => process.stdout.write(s) });
    });
}
