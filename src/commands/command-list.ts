import { auditCommand } from './audit.js';
import { dashboardCommand } from './dashboard.js';
import { certsCommand } from './certs.js';
import type { ShipCommand } from './command.js';

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

/** Every operation the running ship answers on its control socket (and so in admirals' SSH sessions). */
export const SHIP_COMMANDS: readonly ShipCommand[] = [
  statusCommand,
  logsCommand,
  redeployCommand,
  releasesCommand,
  previewsCommand,
  rollbackCommand,
  unpinCommand,
  maintenanceCommand,
  pauseCommand,
  resumeCommand,
  rolloutCommand,
  runCommand,
  registryToolCommand,
  phleetCommand,
  syncCommand,
  auditCommand,
  dashboardCommand,
  certsCommand,
  versionCommand,
  updateCommand,
];

/** The ship's own plumbing (git push's hook and session), on the control socket only: not in the CLI or its help. */
export const INTERNAL_COMMANDS: readonly ShipCommand[] = [pushBuildCommand, pushServeCommand, greetingCommand];

export function findCommand(name: string): ShipCommand | undefined {
  return SHIP_COMMANDS.find((c) => c.name === name) ?? INTERNAL_COMMANDS.find((c) => c.name === name);
}
