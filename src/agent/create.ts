import type { ShipOptions } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { Agent } from './agent.js';
import { releaseBuildSide } from './build/build-side.js';
import { agentLimits } from './limits.js';
import { selectRuntime } from './runtime/runtime.js';

/** The agent as `starphleet ship` runs it: the real build side, the runtime this machine supports, limits from env. */
export function createAgent(options: ShipOptions, db: Db, log: Logger, env: NodeJS.ProcessEnv = process.env): Agent {
  const runtime = selectRuntime(env);
  log(`instances run with the ${runtime.kind} runtime`);
  return new Agent({
    db,
    dataDir: options.dataDir,
    shipName: options.name,
    access: { ...(options.privateKey ? { privateKey: options.privateKey } : {}), knownHostsFile: `${options.dataDir}/known_hosts` },
    log,
    build: releaseBuildSide,
    runtime,
    limits: agentLimits(env),
    pulseSeconds: options.pulseSeconds,
    http: { listen: options.listen, port: options.httpPort },
    publicHost: options.name,
  });
}
