import { homedir } from 'node:os';
import type { Runtime } from './runtime.js';

/** The fallback: bash runs the command in the release dir, no isolation beyond its own process group. */
export const processRuntime: Runtime = {
  kind: 'process',
  argv: (_spec, script) => ({ file: 'bash', args: ['-c', script] }),
  home: () => process.env.HOME ?? homedir(),
};
