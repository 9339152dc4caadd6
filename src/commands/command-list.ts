import { auditCommand } from './audit.js';
import { dashboardCommand } from './dashboard.js';
import { certsCommand } from './certs.js';
import type { CommandMeta, ShipCommand } from './command.js';
import { INTERNAL_COMMAND_META, SHIP_COMMAND_META, type CommandName } from './meta/command-table.js';

// What a caller of the registry (the control socket) needs besides the commands themselves.
export type { Caller, CommandShip, ShipCommand } from './command.js';
import { greetingCommand } from './greeting.js';
import { logsCommand } from './logs.js';
import { pushBuildCommand } from './push/push-build.js';
import { pushServeCommand } from './push/push-serve.js';
import { phleetCommand } from './phleet/phleet.js';
import { redeployCommand } from './redeploy.js';
import { registryToolCommand } from './registry-tool.js';
import { releasesCommand } from './releases.js';
import { previewsCommand } from './previews.js';
import { rollbackCommand } from './rollback.js';
import { runCommand } from './run.js';
import { unpinCommand } from './unpin.js';
import { statusCommand } from './status.js';
import { syncCommand } from './sync.js';
import { updateCommand } from './update.js';
import { versionCommand } from './version.js';
import { maintenanceCommand } from './traffic/maintenance.js';
import { pauseCommand, resumeCommand } from './traffic/pause.js';
import { rolloutCommand } from './traffic/rollout.js';

/**
 * The implementation of every name of the command table (meta/command-table.ts): a name missing here, or one the
 * table does not have, fails the typecheck. Only the ship loads this module (the CLI lists commands from the table).
 */
const IMPLEMENTATIONS: { readonly [N in CommandName]: ShipCommand } = {
  status: statusCommand,
  logs: logsCommand,
  redeploy: redeployCommand,
  releases: releasesCommand,
  previews: previewsCommand,
  rollback: rollbackCommand,
  unpin: unpinCommand,
  maintenance: maintenanceCommand,
  pause: pauseCommand,
  resume: resumeCommand,
  rollout: rolloutCommand,
  run: runCommand,
  registry: registryToolCommand,
  phleet: phleetCommand,
  sync: syncCommand,
  audit: auditCommand,
  dashboard: dashboardCommand,
  certs: certsCommand,
  version: versionCommand,
  update: updateCommand,
  'push-build': pushBuildCommand,
  'push-serve': pushServeCommand,
  greeting: greetingCommand,
};

const implementationOf = (m: CommandMeta & { readonly name: CommandName }): ShipCommand => IMPLEMENTATIONS[m.name];

/** Every operation the running ship answers on its control socket (and so in admirals' SSH sessions), in table order. */
export const SHIP_COMMANDS: readonly ShipCommand[] = SHIP_COMMAND_META.map(implementationOf);

/** The ship's own plumbing (git push's hook and session), on the control socket only: not in the CLI or its help. */
export const INTERNAL_COMMANDS: readonly ShipCommand[] = INTERNAL_COMMAND_META.map(implementationOf);

export function findCommand(name: string): ShipCommand | undefined {
  return SHIP_COMMANDS.find((c) => c.name === name) ?? INTERNAL_COMMANDS.find((c) => c.name === name);
}
