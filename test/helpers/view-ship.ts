import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureRepo } from './fixtures.js';
import { gitIn, initRepo } from './git.js';
import { killRecordedInstances } from './instances.js';
import { makeKey, type TestKey } from './keys.js';
import { httpGet } from './phleet.js';
import { startShip, type ShipProcess } from './ship.js';
import { tmpDir } from './tmp.js';
import { waitFor } from './wait.js';

/** The commit time every view test's release has: far from "now" and from 1970, so a wrong date cannot pass. */
export const COMMIT_DATE = '2021-03-04T05:06:07Z';
export const COMMIT_TIME = Date.parse(COMMIT_DATE) / 1000;

export interface ViewShip {
  readonly ship: ShipProcess;
  readonly root: string;
  readonly dataDir: string;
  /** The service's source repo (a fixture) and the sha it serves. */
  readonly app: string;
  readonly sha: string;
  readonly service: string;
  readonly admiral: TestKey;
  /** The id of the release that serves now, from configs/<service>.json. */
  releaseId(): string;
  stop(): Promise<void>;
}

/** A ship with one admiral that serves `fixture` (default static-site) as service `site`, committed at COMMIT_DATE. */
export async function startViewShip(fixture = 'static-site'): Promise<ViewShip> {
  const root = tmpDir('sp-view-');
  const dataDir = join(root, 'data');
  const app = join(root, 'app');
  const admiral = makeKey(root, 'admiral');
  fixtureRepo(fixture, app);
  execFileSync('git', ['commit', '-q', '--amend', '--no-edit', `--date=${COMMIT_DATE}`], {
    cwd: app,
    env: { ...process.env, GIT_COMMITTER_DATE: COMMIT_DATE, GIT_COMMITTER_NAME: 'Test Admiral', GIT_COMMITTER_EMAIL: 'admiral@example.com', GIT_CONFIG_NOSYSTEM: '1' },
  });
  const sha = gitIn(app, 'rev-parse', 'HEAD');
  initRepo(join(root, 'hq'), { 'authorized_keys/admiral': admiral.pub, 'site/orders': `autodeploy ${app}\n` });
  const ship = await startShip({ headquarters: join(root, 'hq'), dataDir });
  await waitFor(async () => (await httpGet(ship.httpPort, '/site/')).status === 200, 'site to serve', 180_000, 250);
  return {
    ship, root, dataDir, app, sha, service: 'site', admiral,
    releaseId: () => (JSON.parse(readFileSync(join(dataDir, 'configs', 'site.json'), 'utf8')) as { id: string }).id,
    async stop() {
      await ship.stop();
      await killRecordedInstances(dataDir);
    },
  };
}
