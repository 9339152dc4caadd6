import { homedir } from 'node:os';
import { SANDBOX_PATH, type Runtime } from './runtime-types.js';
import { baseBin, pathWithBase } from '../releases/bases/base-paths.js';

/**
 * No isolation beyond its own process group: bash runs the command in the release dir as the ship's user, on the
 * ship's loopback. Only with STARPHLEET_RUNTIME=process set explicitly: unsafe for code you do not trust.
 */
export const processRuntime: Runtime = {
  kind: 'process',
  launch: (spec, script, env) => {
    const base = spec.release.config.base;
    // Nothing is mounted here: a container base's bin/ is its tree in the data dir (its PREFIX when it was built).
    // No sandbox: it runs as the ship, with the ship's PATH (where its tools are) unless the release set its own.
    const own = env.PATH === SANDBOX_PATH && process.env.PATH ? process.env.PATH : env.PATH;
    const path: Record<string, string> = { PATH: base ? pathWithBase(own, baseBin(spec.dataDir, base, false)) : (own ?? SANDBOX_PATH) };
    return { file: 'bash', args: ['-c', script], env: { ...env, HOME: process.env.HOME ?? homedir(), ...path }, cwd: spec.release.dir };
  },
  sandbox: () => null,
};
