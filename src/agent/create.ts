import type { ShipOptions } from '../settings/ship-options.js';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { Agent } from './agent.js';
import { releaseBuildSide } from './releases/build-side.js';
import { agentLimits } from './limits.js';
import { chooseRuntime } from './runtime/runtime.js';
import { killLeftoverBuilds } from './sandbox/build-groups.js';
import type { SandboxHost } from './sandbox/sandbox.js';
import { applyHqNetwork, startShipNetwork } from './sandbox/ship-network.js';
import { setKv } from '../state/hq.js';
import type { DesiredState } from '../headquarters/types.js';
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
  const host = sandboxHost(runtime, problem);
  let network: string;
  try {
    network = startShipNetwork(options.dataDir, host, env, log, [options.httpPort, ...(options.httpsPort !== undefined ? [options.httpsPort] : [])]);
  } catch (e) {
    network = `direct, but it could not be set up: ${(e as Error).message}`;
    log(`WARNING: network: ${network}`);
  }
  log(`network: ${network}`);
  setKv(db, 'ship.network', network);
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

function sandboxHost(runtime: Agent['ctx']['runtime'], problem: string | null): SandboxHost | null {
  if (runtime.kind !== 'bwrap' || problem !== null) return null;
  return runtime.sandbox();
}

/**
 * What of a desired state the ship's network follows: STARPHLEET_HOST_PORTS from HQ `.starphleet`, put in force at
 * once (instances already running included). A bad value is logged once and keeps the ports in force.
 */
export function followHqNetwork(agent: Agent, db: Db, dataDir: string, log: Logger, env: NodeJS.ProcessEnv = process.env): (desired: DesiredState) => void {
  let lastProblem: string | null = null;
  return (desired) => {
    const { runtime } = agent.ctx;
    let host: SandboxHost | null = null;
    try {
      host = runtime.kind === 'bwrap' ? runtime.sandbox() : null;
    } catch {
      return;
    }
    try {
      const r = applyHqNetwork(dataDir, host, desired.env, env, log);
      if (r.problem !== null && r.problem !== lastProblem) log(`WARNING: network: ${r.problem}`);
      lastProblem = r.problem;
      setKv(db, 'ship.network', r.problem === null ? r.line : `${r.line}; problem: ${r.problem}`);
    } catch (e) {
      log(`WARNING: network: applying STARPHLEET_HOST_PORTS failed: ${(e as Error).message}`);
    }
  };
}
