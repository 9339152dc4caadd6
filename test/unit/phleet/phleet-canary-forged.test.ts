import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canaryHold } from '../../../src/phleet/canary.js';
import { tmpDir } from '../../helpers/tmp.js';

/** A canary's ships/ entry as any ship that can write ships/ could word it. */
function entry(hq: string, name: string, service: Record<string, unknown>): void {
  mkdirSync(join(hq, 'ships'), { recursive: true });
  writeFileSync(join(hq, 'ships', name), JSON.stringify({ name, addresses: ['127.0.0.1'], sshPort: 1, httpPort: 2, hostKeys: [], clientKey: 'x', version: '0', hq: null, services: { web: service } }));
}

describe('canary gate', () => {
  const sha = 'c'.repeat(40);
  const env = { STARPHLEET_CANARY_SECONDS: '60' };

  it("a canary entry with a forged since (1970) does not open the gate early: the window counts from this ship's own sight", () => {
    const hq = tmpDir('sp-canary-');
    writeFileSync(join(hq, 'canary'), 'can1\n');
    entry(hq, 'can1', { sha, release: 'r1', state: 'serving', since: '1970-01-01T00:00:00.000Z' });
    const t0 = 1_800_000_000_000;
    assert.match(canaryHold(hq, 'other', 'web', sha, env, t0) ?? 'open', /held by canary can1: c{7} seen serving here for 0 of 60 s/);
    assert.match(canaryHold(hq, 'other', 'web', sha, env, t0 + 59_000) ?? 'open', /seen serving here for 59 of 60 s/);
    assert.equal(canaryHold(hq, 'other', 'web', sha, env, t0 + 60_000), null, 'open once this ship saw it serve the whole window');
  });

  it('the window starts again when the entry stops reporting the sha serving, whatever since it then claims', () => {
    const hq = tmpDir('sp-canary-');
    writeFileSync(join(hq, 'canary'), 'can2\n');
    const t0 = 1_900_000_000_000;
    entry(hq, 'can2', { sha, release: 'r1', state: 'serving', since: '2000-01-01T00:00:00.000Z' });
    assert.notEqual(canaryHold(hq, 'other', 'web', sha, env, t0), null);
    entry(hq, 'can2', { sha, release: 'r1', state: 'failed', since: '2000-01-01T00:00:00.000Z' });
    assert.match(canaryHold(hq, 'other', 'web', sha, env, t0 + 30_000) ?? 'open', /failed there/);
    entry(hq, 'can2', { sha, release: 'r1', state: 'serving', since: '1970-01-01T00:00:00.000Z' });
    assert.match(canaryHold(hq, 'other', 'web', sha, env, t0 + 61_000) ?? 'open', /seen serving here for 0 of 60 s/);
    assert.equal(canaryHold(hq, 'can2', 'web', sha, env, t0), null, 'the canary itself goes first');
  });
});
