import assert from 'node:assert/strict';
import { writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Ships that may write ships/ only: HQ refuses every push (a host-side rule, here a pre-receive hook), and
 * STARPHLEET_WRITEBACK in HQ .starphleet names a repository of its own. Both ships write their entries there, read
 * each other's from there (phleet status over user ship, whose keys come from there too), and HQ stays untouched.
 */
describe('ships/ in a write-back repository of its own (STARPHLEET_WRITEBACK)', { timeout: 600_000 }, () => {
  const root = tmpDir('sp-wbsep-');
  const hq = join(root, 'hq.git');
  const wb = join(root, 'writeback.git');
  const ships: ShipProcess[] = [];

  before(async () => {
    initRepo(join(root, 'wb-seed'), { 'README': 'the phleet writes ships/ here\n' });
    gitIn(root, 'clone', '-q', '--bare', join(root, 'wb-seed'), wb);
    initRepo(join(root, 'hq-seed'), { '.starphleet': `export STARPHLEET_WRITEBACK=${wb}#master\n` });
    gitIn(root, 'clone', '-q', '--bare', join(root, 'hq-seed'), hq);
    // The git host's rule: nobody but the admirals pushes to HQ (here: nobody at all).
    writeFileSync(join(hq, 'hooks', 'pre-receive'), '#!/bin/sh\necho "HQ is read-only for ships" >&2\nexit 1\n');
    chmodSync(join(hq, 'hooks', 'pre-receive'), 0o755);
    for (const n of ['w1', 'w2']) ships.push(await startShip({ headquarters: hq, dataDir: join(root, `data-${n}`), pulse: 0.5, args: ['--name', n] }));
  });
  after(async () => {
    await Promise.all(ships.map((s) => s.stop()));
    for (const n of ['w1', 'w2']) await killRecordedInstances(join(root, `data-${n}`));
  });

  test('entries land in the write-back repo, not in HQ; phleet status reads them and reaches both ships', async () => {
    const inWb = (): string[] => {
      const out = gitIn(wb, 'ls-tree', '--name-only', 'master', 'ships/');
      return out ? out.split('\n') : [];
    };
    await waitFor(() => inWb().length === 2, () => `both entries in the write-back repo (now: ${inWb().join(', ')})`, 120_000, 500);
    assert.deepEqual(inWb(), ['ships/w1', 'ships/w2']);
    assert.equal(gitIn(hq, 'ls-tree', '--name-only', 'master', 'ships/'), '', 'HQ holds no ships/');
    assert.equal(gitIn(hq, 'rev-list', '--count', 'master'), '1', 'HQ was not written');
    let r = { code: -1, stdout: '', stderr: '' };
    await waitFor(async () => {
      r = await cli(join(root, 'data-w1'), 'phleet', 'status');
      return r.code === 0 && /^w1 /m.test(r.stdout) && /^w2 /m.test(r.stdout);
    }, () => `phleet status with both ships:\n${r.stdout}${r.stderr}`, 120_000, 1000);
    for (const s of ships) assert.doesNotMatch(s.output(), /write-back failed/);
  });
});
