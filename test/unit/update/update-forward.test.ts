import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { forwardProblem, higherVersion } from '../../../src/update/forward.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

const pkg = (version: string): string => `${JSON.stringify({ name: 'starphleet', version })}\n`;

describe('updates only go forward', () => {
  test('higher versions are plain x.y.z and strictly greater', () => {
    assert.equal(higherVersion('0.2.0', '0.1.9'), true);
    assert.equal(higherVersion('1.0.0', '0.99.99'), true);
    assert.equal(higherVersion('0.1.10', '0.1.9'), true);
    assert.equal(higherVersion('0.1.9', '0.1.9'), false);
    assert.equal(higherVersion('0.1.8', '0.1.9'), false);
    assert.equal(higherVersion('9.9.9-rc1', '0.1.0'), false, 'a pre-release proves nothing');
    assert.equal(higherVersion('', '0.1.0'), false);
  });

  test('a descendant of the running commit goes forward; an ancestor or a stranger with no higher version does not', async () => {
    const repo = join(tmpDir('sp-forward-'), 'r');
    initRepo(repo, { 'package.json': pkg('0.1.0') });
    const a = gitIn(repo, 'rev-parse', 'HEAD');
    const b = commit(repo, { 'x.txt': 'b\n' }, 'b');
    const c = commit(repo, { 'x.txt': 'c\n' }, 'c');
    // The clone an update checks is checked out at the fetched commit: its package.json is the new version.
    assert.equal(await forwardProblem(repo, c, a, '0.1.0'), null, 'c descends from a');
    gitIn(repo, 'checkout', '-q', a);
    const back = await forwardProblem(repo, a, c, '0.1.0');
    assert.match(back ?? '', new RegExp(`^commit ${a} \\(0\\.1\\.0\\) does not descend from the running commit ${c} \\(0\\.1\\.0\\) and does not carry a higher version: refused as a downgrade; an admiral who means it runs the update with --allow-downgrade$`));
    gitIn(repo, 'checkout', '-q', b);
    assert.notEqual(await forwardProblem(repo, b, c, '0.1.0'), null, 'b is behind c');
    // A commit of another history, or a running commit the clone does not know: only a higher version goes.
    const other = join(tmpDir('sp-forward-'), 'o');
    initRepo(other, { 'package.json': pkg('0.2.0') });
    const o = gitIn(other, 'rev-parse', 'HEAD');
    assert.equal(await forwardProblem(other, o, c, '0.1.0'), null);
    assert.match((await forwardProblem(other, o, c, '0.2.0')) ?? '', /does not descend from the running commit/);
    assert.match((await forwardProblem(other, o, null, '0.3.0')) ?? '', /does not descend from the running version 0\.3\.0 \(its commit is not known\)/);
  });
});
