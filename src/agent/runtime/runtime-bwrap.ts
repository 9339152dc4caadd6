import { resolve } from 'node:path';
import { dataPaths } from '../data-paths.js';
import { baseBin, baseMount, pathWithBase } from '../build/bases/base-paths.js';
import { openDataDirForSandboxes } from '../sandbox/data-dir.js';
import { ensurePreviewShare } from '../sandbox/preview-data.js';
import { prepareSandbox, type SandboxHost } from '../sandbox/sandbox.js';
import { sandboxLimits } from '../sandbox/settings.js';
import { RuntimeError, type InstanceSpec, type Launch, type Runtime } from './runtime-types.js';

/**
 * bubblewrap as the sandbox user (see src/agent/sandbox/): the host's system read-only without its secrets, the
 * release dir read-only at its own path (builds may bake absolute paths in), a private /tmp, /var/data the shared data
 * tree read-write, and a network namespace of its own: the app listens on PORT there and the front door reaches it
 * through the bridge's unix socket. The service's memory, CPU and pid limits are its cgroup's.
 */
export function bwrapRuntime(host: SandboxHost): Runtime {
  return {
    kind: 'bwrap',
    sandbox: () => host,
    launch(spec: InstanceSpec, script: string, env: Record<string, string>): Launch {
      openDataDirForSandboxes(spec.dataDir, host);
      const releaseDir = resolve(spec.release.dir);
      let limits;
      try {
        limits = sandboxLimits(spec.release.config.env);
      } catch (e) {
        throw new RuntimeError((e as Error).message);
      }
      const base = spec.release.config.base;
      // A preview (docs/previews.md) never shares production's data: its own /var/data, removed with it.
      const data = spec.release.config.env.STARPHLEET_PREVIEW !== undefined ? ensurePreviewShare(spec.dataDir, spec.release.config.service, host) : dataPaths.shared(spec.dataDir);
      const p = prepareSandbox(host, {
        id: spec.id,
        dataDir: spec.dataDir,
        mounts: [
          { src: releaseDir, dest: releaseDir, rw: false },
          { src: data, dest: '/var/data', rw: true },
          ...(base ? [baseMount(spec.dataDir, base)] : []),
        ],
        chdir: releaseDir,
        env: { ...env, HOME: '/tmp', ...(base ? { PATH: pathWithBase(env.PATH, baseBin(spec.dataDir, base, true)) } : {}) },
        hostname: spec.release.config.service.slice(0, 63),
        limits,
        init: spec.oneOff ? { kind: 'step', argv: ['bash', '-c', script] } : { kind: 'instance', script, bridge: spec.routed !== false },
      });
      return { file: p.file, args: p.args, env: p.env, cwd: '/' };
    },
  };
}
