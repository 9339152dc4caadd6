import type { Problem } from './types.js';

/** A problem as one line, `file:line: message`: how `hq check`, `status` and the status JSON show it. */
export function formatProblem(p: Problem): string {
  return `${p.file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.message}`;
}
