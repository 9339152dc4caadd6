import type { ShipCommand } from './command.js';
import { logsCommand } from './logs.js';
import { redeployCommand } from './redeploy.js';
import { statusCommand } from './status.js';
import { versionCommand } from './version.js';

/** Every operation the running ship answers on its control socket (and so in admirals' SSH sessions). */
export const SHIP_COMMANDS: readonly ShipCommand[] = [statusCommand, logsCommand, redeployCommand, versionCommand];

export function findCommand(name: string): ShipCommand | undefined {
  return SHIP_COMMANDS.find((c) => c.name === name);
}
