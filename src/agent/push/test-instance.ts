import type { WireRoute } from '../../dataplane/protocol/wire.js';
import { pushMount, pushServiceName } from '../../data-dir/push-names.js';
import type { AgentContext } from '../context.js';
import { launch } from '../deploy/launch.js';
import { releasePhase } from '../deploy/deploy.js';
import type { Instance } from '../runtime/instances.js';
import type { LineSink, Release } from '../types.js';

/** A test instance must go within seconds of the admiral's Ctrl-C, whatever grace HQ services get. */
const TEST_STOP_GRACE_MS = 2000;
/** Releases of a push name kept on disk: the one starting and the one before it. */
const KEEP_TEST_RELEASES = 2;

/** The agent's test routes (agent.ts keeps them beside HQ's, whose mounts win). */
export interface TestRoutes {
  set(route: WireRoute): Promise<boolean>;
  remove(route: WireRoute): Promise<void>;
}

/** A built push to serve: its name (`git push ship <name>`), commit and release, and where its start says what happens. */
export interface TestServe {
  readonly name: string;
  readonly sha: string;
  readonly release: Release;
  readonly signal: AbortSignal;
  /** Progress and the release phase's output, line by line, for the pusher's stream. */
  readonly line: LineSink;
}

export type TestStart =
  | { readonly ok: true; readonly instance: Instance; readonly mount: string; readonly url: string; stop(why: string): Promise<void> }
  /** phase: the Procfile's release: line failed; launch: the instance did not come up; mount: an HQ service has the mount. */
  | { readonly ok: false; readonly stage: 'phase' | 'launch' | 'mount'; readonly reason: string; readonly mount: string };

/**
 * The test instance of an accepted push, started as autodeploy starts a release (the same release phase and launch:
 * runtime, env, healthcheck) and routed at `/<name>-<sha7>/`. Not an HQ service: no controller, no status, no crash
 * restarts; whoever started it stops it.
 */
export async function startTestInstance(ctx: AgentContext, routes: TestRoutes, t: TestServe): Promise<TestStart> {
  const service = pushServiceName(t.name);
  const mount = pushMount(t.name, t.sha);
  await ctx.build.pruneReleases(ctx.dataDir, service, KEEP_TEST_RELEASES).catch(() => undefined);
  t.line(`-----> Starting test instance of ${t.name} at ${t.sha.slice(0, 7)} (release ${t.release.config.id}, ${ctx.runtime.kind} runtime)`);
  // The Procfile's release: line runs before the test instance starts, its output in the pusher's stream (#15).
  const phase = await releasePhase(ctx, service, t.release, t.signal, t.line);
  if (phase !== null) return { ok: false, stage: 'phase', reason: phase, mount };
  const started = await launch(ctx, service, t.release, t.signal);
  if (!started.ok) return { ok: false, stage: 'launch', reason: started.reason, mount };
  const { instance } = started;
  instance.setState('serving');
  const route: WireRoute = { mount, service, instance: { id: instance.id, upstream: instance.backend.upstream }, hosts: [], auth: null };
  if (!(await routes.set(route))) {
    await instance.stop(TEST_STOP_GRACE_MS);
    return { ok: false, stage: 'mount', reason: `${mount} is an HQ service's mount`, mount };
  }
  const stop = async (why: string): Promise<void> => {
    await routes.remove(route);
    instance.note(`stopping test instance (${why})`);
    await instance.stop(TEST_STOP_GRACE_MS);
  };
  return { ok: true, instance, mount, url: ctx.urlFor(mount), stop };
}
