import type { ShipOptions } from '../config.js';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { Agent } from './agent.js';
import { releaseBuildSide } from './build/build-side.js';
import { agentLimits } from './limits.js';
import { chooseRuntime } from './runtime/runtime.js';
import { killLeftoverBuilds } from './sandbox/build-groups.js';
import { setKv } from '../state/hq.js';
import { RemoteRefs } from './refs/remote-refs.js';
import { pacedBuildSide } from './refs/paced-build-side.js';
import { pollSettings } from './refs/poll-settings.js';

/** The agent as `starphleet ship` runs it: the real build side, the runtime this machine supports, limits from env. */
export function createAgent(options: ShipOptions, db: Db, log: Logger, env: NodeJS.ProcessEnv = process.env): Agent {
  const { runtime, problem } = chooseRuntime(env);
  if (runtime.kind === 'process') log('instances run with the process runtime: WARNING: STARPHLEET_RUNTIME=process: builds and instances run WITHOUT a sandbox, as the ship\'s user (unsafe for untrusted code)');
  else if (problem !== null) log(`WARNING: sandbox: ${problem}`);
  else log('instances run with the bwrap runtime: builds and instances run in the bubblewrap sandbox');
  setKv(db, 'ship.sandbox', runtime.kind === 'process' ? 'none: STARPHLEET_RUNTIME=process (unsafe for untrusted code)' : problem === null ? 'bubblewrap' : `bubblewrap, but: ${problem}`);
  const left = killLeftoverBuilds(options.dataDir);
  if (left > 0) log(`ended ${left} build step(s) an earlier ship process left running`);
  const access = { ...(options.privateKey ? { privateKey: options.privateKey } : {}), knownHostsFile: `${options.dataDir}/known_hosts` };
  // One batched ls-remote per service repo at its own pace (refs/remote-refs.ts); previews may share it.
  const refs = new RemoteRefs({ access, settings: pollSettings(options.pulseSeconds, {}, env).settings });
  return new Agent({
    db,
    dataDir: options.dataDir,
    shipName: options.name,
    access,
    log,
    build: pacedBuildSide(releaseBuildSide, refs),
    refs,
    runtime,
    limits: agentLimits(env),
    pulseSeconds: options.pulseSeconds,
    http: { listen: options.listen, port: options.httpPort },
    publicHost: options.name,
    ...(options.tags ? { tags: options.tags } : {}),
  });
}
