import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { WriteBack } from '../../../src/phleet/writeback.js';
import { WriteBackLoop } from '../../../src/phleet/writeback-loop.js';
import type { ShipRecord } from '../../../src/phleet/record.js';
import { gitIn, initRepo } from '../../helpers/git.js';
import { startGitDaemon } from '../../helpers/git-daemon.js';
import { freePort } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/** A WriteBack that counts its writes. */
class Counted extends WriteBack {
  calls = 0;
  override write(record: ShipRecord): ReturnType<WriteBack['write']> {
    this.calls++;
    return super.write(record);
  }
}

const record = (hq: string): ShipRecord => ({ name: 's1', addresses: ['127.0.0.1'], sshPort: 1, httpPort: 2, hostKeys: [], clientKey: 'k', version: '0', hq, services: {} });

test('an HQ on this machine that refuses the push as a setting is tried again when its git config changes, not every pulse nor for every new record', async () => {
  const root = tmpDir('sp-wb-refused-');
  const hq = join(root, 'hq');
  initRepo(hq, { 'a/orders': 'autodeploy /srv/a\n' });
  const logs: string[] = [];
  const writer = new Counted({ target: () => ({ url: hq, ref: undefined }), dir: join(root, 'clone'), access: {}, name: 's1', log: (m) => logs.push(m) });
  let current = record('a'.repeat(40));
  const loop = new WriteBackLoop(writer, () => current, 50, (m) => logs.push(m));
  loop.start();
  try {
    // 2 s at a 50 ms pulse: 40 attempts when every pulse tries; one while HQ's config stays as it was.
    await sleep(1000);
    // A new record changes nothing HQ refuses.
    current = record('c'.repeat(40));
    await sleep(1000);
    assert.equal(writer.calls, 1, `${writer.calls} writes in 2 s`);
    assert.equal(logs.filter((l) => /not written back: HQ is a checkout/.test(l)).length, 1, logs.join('\n'));
    // The admiral makes HQ writable (its config changes), and the record changes: written at the next pulse, not after 60 s.
    gitIn(hq, 'config', 'receive.denyCurrentBranch', 'updateInstead');
    current = record('b'.repeat(40));
    // (A write of the old record already under way when HQ became writable may land first: the new one follows it.)
    await waitFor(() => /^ships\/s1: hq bbbbbbb/.test(gitIn(hq, 'log', '-1', '--format=%s')), 'the new record in HQ', 30_000, 20);
    // Said once the push has returned (a moment after HQ has the commit).
    await waitFor(() => logs.some((l) => /write-back works again/.test(l)), () => `"works again" in the log:\n${logs.join('\n')}`, 10_000, 20);
  } finally {
    await loop.stop();
  }
});

test('a remote HQ (git daemon) that refuses the push as a setting is tried at a doubling interval, and a new record at once', async () => {
  const root = tmpDir('sp-wb-refused-remote-');
  const hq = join(root, 'repos', 'hq');
  initRepo(hq, { 'a/orders': 'autodeploy /srv/a\n' });
  const daemon = await startGitDaemon(join(root, 'repos'), { port: await freePort() });
  const logs: string[] = [];
  const writer = new Counted({ target: () => ({ url: daemon.url('hq'), ref: undefined }), dir: join(root, 'clone'), access: {}, name: 's1', log: (m) => logs.push(m) });
  let current = record('a'.repeat(40));
  const loop = new WriteBackLoop(writer, () => current, 50, (m) => logs.push(m));
  loop.start();
  try {
    // 2 s at a 50 ms pulse: 40 attempts when every pulse tries; doubling from one pulse, about six.
    await sleep(2000);
    const before = writer.calls;
    assert.ok(before >= 1 && before <= 8, `${before} writes in 2 s`);
    assert.equal(logs.filter((l) => /not written back: HQ is a checkout/.test(l)).length, 1, logs.join('\n'));
    // The ship cannot look at a remote's setting: a new record is tried at the next pulse.
    current = record('b'.repeat(40));
    await waitFor(() => writer.calls > before, () => `a try of the new record (${writer.calls} writes)`, 5_000, 20);
  } finally {
    await loop.stop();
    await daemon.stop();
  }
});
