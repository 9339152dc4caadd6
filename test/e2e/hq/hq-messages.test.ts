import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import { readHeadquarters } from '../../../src/headquarters/layout.js';
import { remoteHint } from '../../../src/update/update.js';
import { abortableSleep } from '../../../src/util/abortable-sleep.js';
import { commit, initRepo } from '../../helpers/git.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { startSshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';

/** The armour line of an OpenSSH private key, spelled at run time so no committed file carries the marker. */
function fakePrivateKeyLine(which: 'BEGIN' | 'END'): string {
  return ['-----' + which, 'OPENSSH', 'PRIVATE', 'KEY-----'].join(' ');
}

const short = (sha: string): string => sha.slice(0, 7);
const ships: ShipProcess[] = [];
after(async () => {
  for (const s of ships) await s.stop();
});

describe('messages a newcomer reads', { timeout: 300_000 }, () => {
  test('the HQ change line names every service that redeploys and why; an unchanged HQ after a restart says so', async () => {
    const hq = tmpDir('sp-hqmsg-');
    const dataDir = join(tmpDir('sp-hqmsg-'), 'data');
    const first = initRepo(hq, { 'hello/orders': 'autodeploy /srv/hello\n', 'echo/orders': 'autodeploy /srv/echo\n', '.starphleet': 'export GREETING=ahoy\n' });
    let s = await startShip({ headquarters: hq, dataDir });
    ships.push(s);
    await s.waitForLog(new RegExp(`hq none -> ${short(first)}: added echo, hello;`));
    const second = commit(hq, { 'web2/orders': 'autodeploy /srv/web2\n', '.starphleet': 'export GREETING=hi\nexport STARPHLEET_PULSE=3\n' });
    await s.waitForLog(new RegExp(`hq ${short(first)} -> ${short(second)}: added web2; changed echo \\(HQ env changed: GREETING\\), hello \\(HQ env changed: GREETING\\);`));
    const third = commit(hq, { 'hello/orders': 'autodeploy /srv/hello#v2\n', '.starphleet': 'export GREETING=hi\nexport STARPHLEET_PULSE=4\n' });
    // A ship setting (STARPHLEET_*) redeploys nothing: only hello, for its orders.
    await s.waitForLog(new RegExp(`hq ${short(second)} -> ${short(third)}: changed hello \\(orders changed\\);`));
    await s.stop();
    s = await startShip({ headquarters: hq, dataDir });
    ships.push(s);
    await s.waitForLog(new RegExp(`hq ${short(third)}: unchanged since the last start; 3 services, 0 admirals, 0 problems`));
    assert.doesNotMatch(s.output(), /added /);
    await s.stop();
    const fourth = commit(hq, { 'echo/orders': null });
    s = await startShip({ headquarters: hq, dataDir });
    ships.push(s);
    await s.waitForLog(new RegExp(`hq ${short(third)} -> ${short(fourth)} \\(while the ship was stopped\\): services hello, web2;`));
  });

  test('.htpasswd protects nothing only when no orders file is beside it (a broken one still counts)', async () => {
    const hq = tmpDir('sp-hqmsg-');
    const line = 'admiral:$2y$05$QZ2o6x0c1sO7lV4uQb0jVOf2s4wq3n3V7b8Qw5H3hVj3m1S8a9Xa2\n';
    initRepo(hq, { 'good/orders': 'autodeploy /srv/good\n', 'good/.htpasswd': line, 'broken/orders': 'autodeploy\n', 'broken/.htpasswd': line, 'lonely/.htpasswd': line });
    const state = await readHeadquarters(hq, { sha: null, evalTimeoutMs: 10_000 });
    const nothing = state.problems.filter((p) => /protects nothing/.test(p.message)).map((p) => p.file);
    assert.deepEqual(nothing, ['lonely/.htpasswd']);
    assert.ok(state.problems.some((p) => p.file === 'broken/orders'));
  });

  test('a bad key file names the file and the key formats accepted', () => {
    for (const text of ['a', 'not a key at all', `${fakePrivateKeyLine('BEGIN')}\nb3BlbnNzaA==\n${fakePrivateKeyLine('END')}`, 'SHA256:Yqt4r4e83jsBX55eT9hDS36Tq5eUDjXOGV9wT5rtVAU']) {
      const r = parseAuthorizedKeyFile(text, 'authorized_keys/garbage');
      assert.equal(r.admiral, null);
      assert.equal(r.problems[0]?.file, 'authorized_keys/garbage');
      const m = r.problems[0]?.message ?? '';
      assert.match(m, /ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521 or ssh-rsa/, m);
      assert.match(m, /id_ed25519\.pub/, m);
      assert.doesNotMatch(m, /unsupported key type "a"/);
    }
    assert.match(parseAuthorizedKeyFile(fakePrivateKeyLine('BEGIN'), 'k').problems[0]?.message ?? '', /a private key, not a public one/);
  });

  test('an unreachable update remote: the message says where it came from and how to set STARPHLEET_REMOTE', () => {
    const def = remoteHint({}, undefined);
    assert.match(def, /the default \(package\.json's repository\), as STARPHLEET_REMOTE is not set/);
    for (const h of [def, remoteHint({ STARPHLEET_REMOTE: 'x' }, 'HQ .starphleet')]) {
      assert.match(h, /\/etc\/starphleet\/ship\.env/);
      assert.match(h, /HQ \.starphleet \(export STARPHLEET_REMOTE=/);
    }
    assert.match(remoteHint({ STARPHLEET_REMOTE: 'x' }, 'HQ .starphleet'), /this is STARPHLEET_REMOTE from HQ \.starphleet/);
  });

  test('ssh update@ship with a remote it cannot reach says where STARPHLEET_REMOTE came from and where to set it', async () => {
    const s = await startSshShip();
    ships.push(s.ship);
    const gone = join(s.dir, 'no-such-remote.git');
    const sha = commit(s.hq, { '.starphleet': `export STARPHLEET_REMOTE=${gone}#main\n` });
    await s.ship.waitForLog(new RegExp(`-> ${short(sha)}:`));
    const r = await s.ssh([], { user: 'update', options: ['-T'] });
    assert.notEqual(r.code, 0, r.stdout.toString());
    assert.match(r.stderr, new RegExp(`cannot reach the update remote ${gone}#main: `));
    assert.match(r.stderr, /this is STARPHLEET_REMOTE from HQ \.starphleet\. Set STARPHLEET_REMOTE to a git url#branch this ship can reach: in the ship's environment \(under systemd: \/etc\/starphleet\/ship\.env/);
    assert.match(r.stderr, /still running 0\.1\.0/);
  });

  test('a follow loop leaves no abort listener behind (no MaxListenersExceededWarning)', async () => {
    const abort = new AbortController();
    for (let i = 0; i < 30; i++) await abortableSleep(1, abort.signal);
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
    const pending = abortableSleep(60_000, abort.signal);
    abort.abort();
    await pending;
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
  });
});
