import type { DrainResult } from '../dataplane/embedded/plane-routes.js';
import type { GitAccess } from '../headquarters/git.js';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import type { BuildSide } from './releases/build-side.js';
import type { ServiceController } from './deploy/controller.js';
import type { Instance } from './runtime/instances.js';
import type { AgentLimits } from './limits.js';
import type { Runtime } from './runtime/runtime.js';
import type { AgentEvent } from './events.js';
import type { SecretsKeeper } from './secrets/keeper.js';
import type { Traffic } from './traffic/traffic.js';

/** Where things are and how to build and run them: given to the agent, shared by all its parts. */
export interface AgentSetup {
  readonly db: Db;
  readonly dataDir: string;
  readonly shipName: string;
  readonly access: GitAccess;
  readonly log: Logger;
  readonly build: BuildSide;
  readonly runtime: Runtime;
  readonly limits: AgentLimits;
}

/** What every part of the run side shares: the setup, and how to publish routes and watch instances. */
export interface AgentContext extends AgentSetup {
  /** Front door URL of a mount (for status). */
  urlFor(mount: string): string;
  /**
   * Rebuilds the front door's route table from every service's serving instance; resolves once the data plane has
   * it (a status of `serving` waits on it: nginx may take seconds to reload on a loaded machine).
   */
  publishRoutes(): Promise<void>;
  /** Waits until the data plane has nothing open to the instance (up to timeoutMs; what is left then is closed). */
  drain(instance: string, timeoutMs: number): Promise<DrainResult>;
  /** Ports of every instance the agent knows, so a new one gets another. */
  takenPorts(): Set<number>;
  /** Watches a serving instance: an exit nobody asked for is a crash, restarted with backoff. */
  watch(ctrl: ServiceController, instance: Instance): void;
  /** Tells the agent's listeners (agent.onEvent: notifications, metrics) what happened; never throws. */
  emit(e: AgentEvent): void;
  /** HQ secrets.age opened with the host key: which apply to a deploy, and the values of a release at each start. */
  readonly secrets: SecretsKeeper;
  /** Maintenance, pauses and rollouts (traffic/): what routes carry, a release phase under pause, a rollout's switch. */
  readonly traffic: Traffic;
}
