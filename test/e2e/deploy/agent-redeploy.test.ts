import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CommandContext } from '../../../src/commands/command.js';
import { redeployCommand } from '../../../src/commands/redeploy.js';
import { silent } from '../../../src/log.js';
import { startShip, type Ship } from '../../../src/ship.js';
import { listServiceStatus } from '../../../src/state/services.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { httpGet } from '../../helpers/phleet.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** `redeploy <service>` against a real ship (in this process) building a real fixture. */
const root = tmpDir('sp-redeploy-');
const dataDir = join(root, 'data');
let ship: Ship;

before(async () => {
  fixtureRepo('procfile-app', join(root, 'app'));
  initRepo(join(root, 'hq'), { 'app/orders': `autodeploy ${join(root, 'app')}\n` });
  ship = await startShip({ headquarters: join(root, 'hq'), dataDir, listen: '127.0.0.1', sshPort: 0, httpPort: 0, pulseSeconds: 0.5, name: 'redeploy', evalTimeoutMs: 10_000, dataPlane: 'embedded' }, silent);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

function ctx(): CommandContext & { output: () => string } {
  let out = '';
  return { ship, caller: { via: 'cli' }, out: (t) => (out += t), err: (t) => (out += t), signal: new AbortController().signal, output: () => out };
}

test('redeploy rebuilds the current sha as a new release and swaps it in; bad arguments are refused', async () => {
  const port = ship.agent.frontDoor?.port ?? 0;
  await waitFor(async () => (await httpGet(port, '/app/')).status === 200, 'app serving', 120_000, 250);
  // The route serves a moment before the deploy records the service as serving.
  await waitFor(() => listServiceStatus(ship.db).find((s) => s.name === 'app')?.state === 'serving', 'app recorded as serving', 60_000, 100);
  const before = listServiceStatus(ship.db).find((s) => s.name === 'app');
  const c = ctx();
  assert.equal(await redeployCommand.run(['app'], c), 0, c.output());
  const afterRow = listServiceStatus(ship.db).find((s) => s.name === 'app');
  assert.equal(afterRow?.state, 'serving');
  assert.equal(afterRow?.sha, before?.sha, 'the same sha');
  assert.notEqual(afterRow?.release, before?.release, 'a new release');
  assert.match(c.output(), new RegExp(`release ${afterRow?.release} .* serves`));
  assert.match((await httpGet(port, '/app/x')).body, /procfile-app fixture says hello from \/x/);

  const bad = ctx();
  assert.equal(await redeployCommand.run([], bad), 2);
  assert.match(bad.output(), /usage: starphleet redeploy <service>/);
  const unknown = ctx();
  assert.equal(await redeployCommand.run(['nope'], unknown), 1);
  assert.match(unknown.output(), /no service named nope/);
});
