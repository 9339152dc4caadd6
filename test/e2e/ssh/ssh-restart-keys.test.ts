import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { commit } from '../../helpers/git.js';
import { makeKey } from '../../helpers/keys.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh, startSshShip } from '../../helpers/ssh.js';

/**
 * A ship restarted after a crash admits its admirals at once, from the HQ checkout the last start left, even while HQ
 * cannot be reached; the first sync that works replaces them (a key removed in HQ is refused from then on).
 */
let ship: ShipProcess | undefined;
after(async () => {
  await ship?.stop();
});

test('after a kill -9, with HQ unreachable: the last checkout admits the admirals; the next good sync replaces them', async () => {
  const s = await startSshShip();
  ship = s.ship;
  const stranger = makeKey(s.dir, 'stranger');
  assert.equal((await s.ssh(['echo', 'before'])).code, 0);
  await s.ship.kill();
  // HQ goes away (a network outage): the restarted ship cannot sync.
  const away = join(s.dir, 'hq-away');
  renameSync(s.hq, away);
  ship = await startShip({ headquarters: s.hq, dataDir: s.ship.dataDir, httpPort: s.ship.httpPort, sshPort: s.port });
  await ship.waitForLog(/ssh: the keys of the last HQ checkout \(1\) admit admirals until the first sync/);
  await ship.waitForLog(/ssh listening on/);
  await ship.waitForLog(/hq sync failed/, 60_000);
  const r = await runSsh({ key: s.admiral.privatePath, port: s.port, args: ['echo', 'after'] });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.toString(), 'after\n');
  assert.notEqual((await runSsh({ key: stranger.privatePath, port: s.port, args: ['echo', 'no'] })).code, 0, 'a key HQ never named is refused');
  // HQ is back without the admiral's key and with the stranger's: the sync replaces the checkout's keys.
  renameSync(away, s.hq);
  commit(s.hq, { 'authorized_keys/admiral': null, 'authorized_keys/stranger': `${stranger.pub}\n` });
  await ship.waitForLog(/hq sync works again/, 60_000);
  await ship.waitForLog(/1 admirals/, 60_000);
  assert.notEqual((await runSsh({ key: s.admiral.privatePath, port: s.port, args: ['echo', 'x'] })).code, 0, 'the removed key is refused');
  assert.equal((await runSsh({ key: stranger.privatePath, port: s.port, args: ['true'] })).code, 0);
});
