import type { PlaneClient } from '../../src/dataplane/ship-side/plane-client.js';
import { startDataPlane, type PlaneStart } from '../../src/dataplane/ship-side/plane-process.js';
import { PLANE_PROGRAM } from './cli-entry.js';

/**
 * startDataPlane running the code under test (cli-entry.ts PLANE_PROGRAM: dist's plane-main when the tests run dist/),
 * not the caller's own source through tsx. Apart from planes.ts, whose PLANES needs nginx on the machine: unit files
 * start planes too.
 */
export function startDataPlaneUnderTest(o: Omit<PlaneStart, 'program'>): Promise<PlaneClient> {
  return startDataPlane({ ...o, program: PLANE_PROGRAM });
}
