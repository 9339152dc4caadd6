import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lookupRef, RemoteRefs } from '../../../src/agent/refs/remote-refs.js';
import { LsRemoteGate } from '../../../src/headquarters/ls-remote-gate.js';
import { HeadquartersClone } from '../../../src/headquarters/sync.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

/** The HQ peek (sync.ts) and the services' poll (agent/refs/remote-refs.ts) both go through the one gate. */

const ahead = (): number => Date.now() + 10_000;

function bareWithClone(): { bare: string; work: string; base: string } {
  const base = tmpDir('sp-peek-gate-');
  const work = join(base, 'work');
  initRepo(work, { 'hello/orders': 'autodeploy /nowhere\n' });
  const bare = join(base, 'hq.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'master', bare]);
  gitIn(work, 'push', '-q', bare, 'master');
  return { bare, work, base };
}

describe('one gate for the HQ peek and the service poll', () => {
  for (const form of ['bare', 'checkout'] as const) {
    test(`HQ on this machine (${form}): an idle sync forks no ls-remote; a push is followed at the next sync`, async () => {
      const { bare, work, base } = bareWithClone();
      const url = form === 'bare' ? bare : work;
      const gate = new LsRemoteGate({ now: ahead });
      const hq = new HeadquartersClone(url, join(base, 'clone'), {}, 120_000, 30_000, gate);
      const first = await hq.sync();
      assert.ok(first.ok && first.changed);
      for (let i = 0; i < 4; i++) assert.deepEqual(await hq.sync(), { ok: true, sha: first.sha, changed: false, recloned: false });
      assert.deepEqual([gate.runs, gate.skips], [1, 3], 'one ls-remote, then three answers without git');
      const next = commit(work, { 'hello/orders': 'autodeploy /elsewhere\n' });
      if (form === 'bare') gitIn(work, 'push', '-q', bare, 'master');
      assert.deepEqual(await hq.sync(), { ok: true, sha: next, changed: true, recloned: false });
      assert.equal(gate.runs, 2);
      assert.deepEqual(await hq.sync(), { ok: true, sha: next, changed: false, recloned: false });
      assert.equal(gate.runs, 2, 'the fetch from HQ changed nothing HQ holds');
    });
  }

  test('service repo on this machine: every poll counts, git only when the refs moved', async () => {
    const { bare, work } = bareWithClone();
    let now = 1_000_000;
    const gate = new LsRemoteGate({ now: ahead });
    const refs = new RemoteRefs({ access: {}, settings: { pollMs: 1000, webhookPollMs: 60_000, rate: 100 }, gate, now: () => now, random: () => 0.5 });
    const sha = gitIn(work, 'rev-parse', 'HEAD');
    for (let i = 0; i < 5; i++) {
      now += 2000;
      assert.equal(lookupRef((await refs.refs(`file://${bare}`)).refs, 'master'), sha);
    }
    assert.equal(refs.polls, 5, 'the pace is unchanged');
    assert.deepEqual([gate.runs, gate.skips], [1, 4]);
    gitIn(work, 'tag', 'v1');
    gitIn(work, 'push', '-q', bare, 'v1');
    now += 2000;
    assert.equal(lookupRef((await refs.refs(`file://${bare}`)).refs, 'v1'), sha, 'the new tag is seen at the next poll');
    assert.equal(gate.runs, 2);
  });
});
