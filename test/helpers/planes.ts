import type { PlaneEvent } from '../../src/dataplane/protocol/plane.js';
import type { PlaneClient } from '../../src/dataplane/ship-side/plane-client.js';
import { nginxInstalled, stopDataPlane } from '../../src/dataplane/ship-side/plane-process.js';
import { silent } from '../../src/log.js';
import { tmpDir } from './tmp.js';
import { startDataPlaneUnderTest } from './plane-under-test.js';

/**
 * The data planes a front-door test runs against: both (CI installs nginx). STARPHLEET_TEST_PLANES narrows it
 * (`embedded` or `nginx`); a machine without nginx fails loudly rather than skipping.
 */
export const PLANES: readonly ('embedded' | 'nginx')[] = (() => {
  const want = (process.env.STARPHLEET_TEST_PLANES ?? 'embedded,nginx').split(',').map((s) => s.trim());
  const out = want.filter((p): p is 'embedded' | 'nginx' => p === 'embedded' || p === 'nginx');
  if (out.includes('nginx') && !nginxInstalled()) throw new Error('the nginx data plane tests need nginx (apt-get install nginx)');
  return out;
})();

/** A data plane process of its own for a test (in a temp data dir), and its teardown (it outlives its owner by design). */
export async function startTestPlane(kind: 'embedded' | 'nginx', onEvent: (e: PlaneEvent) => void = () => undefined): Promise<{ client: PlaneClient; dir: string; stop(): Promise<void> }> {
  const dir = tmpDir(`sp-plane-${kind}-`);
  const client = await startDataPlaneUnderTest({ dataDir: dir, kind, listen: '127.0.0.1', port: 0, log: silent, onEvent });
  return {
    client,
    dir,
    async stop() {
      client.close();
      await stopDataPlane(dir);
    },
  };
}
