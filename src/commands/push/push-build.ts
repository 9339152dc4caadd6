import type { ShipCommand } from '../command.js';
import { pushBuildMeta } from '../meta/internal-meta.js';

/**
 * Internal (not in the CLI): the pre-receive hook of a push repo runs it with the push id, git's quarantine dir and
 * the ref updates (`<old> <new> <ref>` lines). Builds the new commit with the autodeploy pipeline, streaming every
 * line back; exit 0 lets git accept the ref, anything else rejects the push. Its code (the build pipeline) is
 * imported when it runs: the CLI, which lists every command, loads none of it.
 */
export const pushBuildCommand: ShipCommand = {
  ...pushBuildMeta,
  async run(args, ctx) {
    const { pushBuild } = await import('./push-build-run.js');
    return pushBuild(args, ctx);
  },
};
