import type { GitAccess } from '../../headquarters/git.js';
import type { SandboxHost } from '../sandbox/sandbox.js';
import { buildRelease, listReleases, markServing, pruneReleases, removeService, servingRelease } from './build-release.js';
import { resolveRef } from './source.js';
import { isRegistryUrl } from '../../headquarters/registry-spec.js';
import { buildRegistryRelease, resolveRegistryRef } from './registry-release.js';
import type { BuildInput, LineSink, Release } from '../types.js';

export interface BuildOptions {
  readonly dataDir: string;
  readonly access: GitAccess;
  readonly log: LineSink;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** A build step silent this long says what it waits for (STARPHLEET_BUILD_QUIET). */
  readonly quietMs?: number;
  /** The sandbox buildpack scripts run in (null: the process runtime); left out: this host's. */
  readonly sandbox?: SandboxHost | null;
}

/**
 * What the run side needs from the build side (source, buildpacks, releases). The ship wires the real one; unit
 * tests of the reconcile loop pass releases made by hand.
 */
export interface BuildSide {
  resolveRef(giturl: string, ref: string | undefined, access: GitAccess, dataDir: string): Promise<string>;
  buildRelease(input: BuildInput, o: BuildOptions): Promise<Release>;
  /** The release `current` points at, or null. */
  servingRelease(dataDir: string, service: string): Promise<Release | null>;
  /** Finished releases, oldest first. */
  listReleases(dataDir: string, service: string): Promise<Release[]>;
  markServing(dataDir: string, service: string, id: string): Promise<void>;
  pruneReleases(dataDir: string, service: string, keep: number): Promise<void>;
  removeService(dataDir: string, service: string): Promise<void>;
}

/** The build side as shipped: source.ts and build-release.ts. */
export const releaseBuildSide: BuildSide = {
  // registry:<N> and registry://ship/<N> (#22) are configurations of layers, not git repos: registry-release.ts.
  resolveRef: (giturl, ref, access, dataDir) => (isRegistryUrl(giturl) ? resolveRegistryRef(giturl, dataDir) : resolveRef(giturl, ref, access, dataDir)),
  buildRelease: (input, o) => (isRegistryUrl(input.giturl) ? buildRegistryRelease(input, o) : buildRelease(input, o)),
  servingRelease: (dataDir, service) => servingRelease(dataDir, service),
  listReleases: (dataDir, service) => listReleases(dataDir, service),
  markServing: async (dataDir, service, id) => {
    await markServing(dataDir, service, id);
  },
  pruneReleases: async (dataDir, service, keep) => {
    await pruneReleases(dataDir, service, keep);
  },
  removeService: (dataDir, service) => removeService(dataDir, service),
};
