import { resolve } from 'node:path';
import { dataPaths } from '../../data-dir/data-paths.js';
import { baseBin, baseMount, pathWithBase } from '../releases/bases/base-paths.js';
import { openDataDirForSandboxes, openServiceDirs } from '../sandbox/data-dir.js';
import { prepareSandbox, type SandboxHost } from '../sandbox/sandbox.js';
import { serviceUid } from '../sandbox/service-users.js';
import { sandboxLimits } from '../sandbox/settings.js';
import { ensureVolume, linkSharedData, SHARED_DATA_MOUNT } from '../sandbox/volumes.js';
import { APP_DIR, RuntimeError, type InstanceSpec, type Launch, type Runtime } from './runtime-types.js';

/**
 * bubblewrap as the service's own uid (see src/agent/sandbox/): the host's system read-only without its secrets, the
 * release read-only at /app (working directory and HOME, as Heroku runs it) and at its own path (builds may bake
 * absolute paths in), /var/data and /tmp on the service's own volume (bounded by STARPHLEET_DISK; data orders linked
 * into /var/data from the ship's read-only tree), and a network namespace of its own: the app listens on
 * PORT there; the front door reaches it at its address on the ship's bridge (as root) or through the bridge's unix
 * socket (the fallback). The service's memory, CPU and pid limits are its cgroup's.
 */
export function bwrapRuntime(host: SandboxHost): Runtime {
  return {
    kind: 'bwrap',
    sandbox: () => host,
    launch(spec: InstanceSpec, script: string, env: Record<string, string>): Launch {
      const service = spec.release.config.service;
      let limits;
      let user;
      try {
        limits = sandboxLimits(spec.release.config.env);
        user = host.switchUser ? serviceUid(spec.dataDir, service) : host.user;
      } catch (e) {
        throw new RuntimeError((e as Error).message);
      }
      openDataDirForSandboxes(spec.dataDir, host);
      openServiceDirs(spec.dataDir, service, host, user);
      let volume;
      try {
        volume = ensureVolume(host, spec.dataDir, service, limits.diskBytes, user);
      } catch (e) {
        throw new RuntimeError(`the volume of ${service} (STARPHLEET_DISK): ${(e as Error).message}`);
      }
      linkSharedData(spec.dataDir, volume);
      const releaseDir = resolve(spec.release.dir);
      const base = spec.release.config.base;
      const name = spec.name ?? spec.process ?? 'web';
      const p = prepareSandbox(host, {
        id: spec.id,
        dataDir: spec.dataDir,
        user,
        volume,
        title: `${service} ${name} ${spec.release.config.id}`,
        mounts: [
          { src: releaseDir, dest: APP_DIR, rw: false },
          { src: releaseDir, dest: releaseDir, rw: false },
          { src: volume.data, dest: '/var/data', rw: true },
          { src: dataPaths.shared(spec.dataDir), dest: SHARED_DATA_MOUNT, rw: false },
          ...(base ? [baseMount(spec.dataDir, base)] : []),
        ],
        chdir: APP_DIR,
        env: { ...env, HOME: APP_DIR, ...(base ? { PATH: pathWithBase(env.PATH, baseBin(spec.dataDir, base, true)) } : {}) },
        hostname: service.slice(0, 63),
        limits,
        init: spec.oneOff ? { kind: 'step', argv: ['bash', '-c', script] } : { kind: 'instance', script, port: spec.routed !== false ? spec.port : null },
      });
      return { file: p.file, args: p.args, argv0: p.argv0, env: p.env, cwd: '/', address: p.address };
    },
  };
}
