import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { writeFiles } from '../../helpers/git.js';
import { makeKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

function hqCheck(dir: string) {
  return spawnSync(process.execPath, [...CLI_ARGS, 'hq', 'check', dir], { encoding: 'utf8', env: { ...process.env, STARPHLEET_EVAL_TIMEOUT: '2' } });
}

test('hq check: a clean HQ prints services and admirals and exits 0', () => {
  const hq = tmpDir('sp-check-');
  const key = makeKey(tmpDir('sp-k-'), 'alice', 'ecdsa');
  writeFiles(hq, { orders: 'autodeploy https://example.com/r.git#main\n', 'authorized_keys/alice': key.pub });
  const r = hqCheck(hq);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^services:\n {2}\/ -> https:\/\/example\.com\/r\.git#main\n/);
  assert.ok(r.stdout.includes(`authorized_keys/alice -> ${key.fingerprint}`), r.stdout);
  assert.doesNotMatch(r.stdout, /problems:/);
});

test('hq check: problems are printed as file:line: message and exit 1', () => {
  const hq = tmpDir('sp-check-');
  const key = makeKey(tmpDir('sp-k-'), 'bob');
  writeFiles(hq, {
    'good/orders': 'autodeploy /srv/good\n',
    'bad/orders': 'autodeploy /srv/bad\n\nexport X=1\nfrobnicate now\n',
    'slow/orders': 'autodeploy /srv/slow\nsleep 1000\n',
    'authorized_keys/bob': key.pub,
    'authorized_keys/broken': 'ssh-ed25519 notbase64!!\n',
    jobs: '* * * * * /ok\n99 * * * * /bad\n',
  });
  const r = hqCheck(hq);
  assert.equal(r.status, 1);
  const lines = r.stdout.split('\n');
  for (const expected of [
    "bad/orders:4: unknown verb 'frobnicate'",
    'authorized_keys/broken:1: key data is not base64',
    'slow/orders: did not finish within 2 s',
  ]) {
    assert.ok(lines.includes(expected), `missing ${JSON.stringify(expected)} in\n${r.stdout}`);
  }
  assert.ok(lines.includes('jobs:2: minute field "99" is out of range (0-59)'), r.stdout);
  // The good parts still load; every service is listed, those with a problem marked.
  assert.ok(lines.includes('  /good -> /srv/good'), r.stdout);
  assert.ok(lines.includes('  /bad -> (orders not usable)  ! 1 problem below'), r.stdout);
  assert.ok(lines.includes('  /slow -> (orders not usable)  ! 1 problem below'), r.stdout);
  assert.ok(r.stdout.includes(`authorized_keys/bob -> ${key.fingerprint}`));
});

test('hq check: a directory that does not exist is a problem, not a crash', () => {
  const r = hqCheck('/nonexistent/hq');
  assert.equal(r.status, 1);
  assert.match(r.stdout, /\.: cannot read HQ/);
});
