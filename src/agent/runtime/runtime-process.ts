import { homedir } from 'node:os';
import type { Runtime } from './runtime-types.js';

/**
 * No isolation beyond its own process group: bash runs the command in the release dir as the ship's user, on the
 * ship's loopback. Only with STARPHLEET_RUNTIME=process set explicitly: unsafe for code you do not trust.
 */
export const processRuntime: Runtime = {
  kind: 'process',
  launch: (spec, script, env) => ({ file: 'bash', args: ['-c', script], env: { ...env, HOME: process.env.HOME ?? homedir() }, cwd: spec.release.dir }),
  sandbox: () => null,
};
