import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signPhleetRequest } from '../../../src/admiral/sign-request.js';
import { admiral, makeLaptop, shipFingerprint, type Laptop } from '../../helpers/admiral.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { cli, httpGet } from '../../helpers/phleet.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const ESC = /\x1b|\x07|\x9b/;
/** What escape-app prints, as the admiral must see it: every control character visible, nothing acted on. */
const SHOWN = '^[]0;pwned-title^G^[]52;c;cHduZWQ=^G^[[2K^[[2J^[[1A^[[Hreal line^MFAKE line';

/**
 * A service that prints terminal escapes (OSC 0 title, OSC 52 clipboard, CSI erase, cursor moves, a \r overwrite),
 * read by an admiral through every way the CLI shows it: `logs` on the ship, `-s ship logs|status`, and `phleet logs`
 * from two ships. And the ship user, which must not read logs on its own: no proof, a forged one, one signed by a ship
 * key, one used before.
 */
describe('hostile service output and ship trust', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-hostout-');
  const app = join(root, 'app');
  let hq: PushableHq;
  let key: TestKey;
  let laptop: Laptop;
  const ships = new Map<string, ShipProcess>();
  const ship = (n: string): ShipProcess => ships.get(n) as ShipProcess;
  const adm = (args: string[]): ReturnType<typeof admiral> => admiral(laptop, args, { env: { STARPHLEET_ADMIRAL_KEY: key.privatePath }, timeoutMs: 120_000 });

  function sshAsShip(from: string, to: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = ['-F', '/dev/null', '-T', '-p', String(ship(to).sshPort), '-i', join(root, `data-${from}`, 'ship_client_key'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', 'ship@127.0.0.1', command];
    return new Promise((resolve) => execFile('ssh', args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })));
  }

  before(async () => {
    fixtureRepo('escape-app', app);
    // A repo whose Procfile's release command holds the escapes (raw bytes): status quotes it when the phase fails.
    fixtureRepo('escape-app', join(root, 'app-fail'));
    commit(join(root, 'app-fail'), { Procfile: "web: node web.js\nrelease: echo '\x1b]0;pwned-title\x07\x1b[2J\x1b[H' && exit 3\n" }, 'a release phase that fails');
    key = makeKey(root, 'admiral');
    hq = new PushableHq(root, {
      'authorized_keys/admiral': key.pub,
      'esc/orders': `autodeploy ${app}\n`,
      'escfail/orders': `autodeploy ${join(root, 'app-fail')}\n`,
    });
    for (const n of ['s1', 's2']) {
      ships.set(n, await startShip({ headquarters: hq.bare, dataDir: join(root, `data-${n}`), pulse: 0.5, httpPort: await freePort(), args: ['--name', n] }));
    }
    for (const n of ['s1', 's2']) await ship(n).waitForLog(/ssh listening on/, 60_000);
    laptop = makeLaptop(key);
    const added = await adm(['remote', 'add', 's1', `admiral@127.0.0.1:${ship('s1').sshPort}`, '--fingerprint', shipFingerprint(join(root, 'data-s1'))]);
    assert.equal(added.code, 0, added.stderr);
    for (const n of ['s1', 's2']) await waitFor(async () => (await httpGet(ship(n).httpPort, '/esc/').catch(() => null))?.status === 200, `${n} serves esc`, 300_000, 500);
    await waitFor(() => hq.ships().length === 2, 'both ships in ships/', 120_000, 500);
  });

  after(async () => {
    await Promise.all([...ships.values()].map((s) => s.stop()));
    for (const n of ['s1', 's2']) await killRecordedInstances(join(root, `data-${n}`));
  });

  test('starphleet logs shows the escapes as text; --raw gives the bytes', async () => {
    await waitFor(async () => (await cli(ship('s1').dataDir, 'logs', 'esc')).stdout.includes('tick 2'), 'ticks in the log', 60_000, 500);
    const r = await cli(ship('s1').dataDir, 'logs', 'esc', '-n', '100000');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.includes(`escape-app starting ${SHOWN}`), r.stdout);
    assert.doesNotMatch(r.stdout, ESC);
    const raw = await cli(ship('s1').dataDir, 'logs', 'esc', '--raw');
    assert.ok(raw.stdout.includes('\x1b]52;c;cHduZWQ=\x07'), 'raw keeps the bytes');
  });

  test('over -s ship: logs and status (a failure quoting the service repo) show them as text', async () => {
    const logs = await adm(['-s', 's1', 'logs', 'esc']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.ok(logs.stdout.includes(SHOWN), logs.stdout);
    assert.doesNotMatch(logs.stdout + logs.stderr, ESC);
    let status = { code: 0 as number | null, stdout: '', stderr: '' };
    await waitFor(async () => {
      status = await adm(['-s', 's1', 'status']);
      // The failure quoting the command, not the retry's "release phase" (it retries every 10 s and says starting).
      return status.stdout.includes("release: echo '^[]0;pwned-title^G^[[2J^[[H' && exit 3");
    }, () => `escfail's failure in status:\n${status.stdout}`, 240_000, 1000);
    assert.doesNotMatch(status.stdout + status.stderr, ESC);
    const releases = await adm(['-s', 's1', 'releases', 'escfail']);
    assert.ok(releases.stdout.includes("release: echo '^[]0;pwned-title^G^[[2J^[[H' && exit 3"), releases.stdout);
    assert.doesNotMatch(releases.stdout + releases.stderr, ESC);
    const raw = await adm(['-s', 's1', 'logs', 'esc', '--raw']);
    assert.ok(raw.stdout.includes('\x1b[2J'), '--raw passes the bytes through the admiral CLI too');
  });

  test('phleet logs from the admiral: both ships answer, escapes visible, audited on both ends', async () => {
    const r = await adm(['-s', 's1', 'phleet', 'logs', 'esc']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const n of ['s1', 's2']) assert.ok(r.stdout.split('\n').some((l) => /^[a-z0-9]+: web\.1 \| tick /.test(l) && l.startsWith(`${n}: `) && l.endsWith(SHOWN)), `${n} in:\n${r.stdout.slice(-3000)}`);
    assert.doesNotMatch(r.stdout + r.stderr, ESC);
    // s1 ran the release phase for the phleet (its message quotes the Procfile); s2 is listed too. Between its
    // retries (every few seconds) s1 says "starting ... release phase", so the failure is waited for.
    let st = { code: 0 as number | null, stdout: '', stderr: '' };
    await waitFor(async () => {
      st = await adm(['-s', 's1', 'phleet', 'status']);
      return st.stdout.split('\n').some((l) => l.startsWith('s1 ') && l.includes("echo '^[]0;pwned-title^G"));
    }, () => `s1 escfail in:\n${st.stdout}`, 120_000, 1000);
    assert.match(st.stdout, /^s2 +esc +serving/m);
    assert.doesNotMatch(st.stdout + st.stderr, ESC);
    const asked = JSON.stringify(JSON.parse((await cli(ship('s1').dataDir, 'audit', '-n', '200', '--json')).stdout));
    const nonce = /request ([0-9a-f]{32}) sent to s1, s2/.exec(asked)?.[1];
    assert.ok(nonce, `the asking ship audits the request it sent: ${asked.slice(0, 2000)}`);
    const served = JSON.stringify(JSON.parse((await cli(ship('s2').dataDir, 'audit', '-n', '200', '--json')).stdout));
    assert.ok(served.includes(`served on behalf of admiral authorized_keys/admiral, request ${nonce}`), served.slice(0, 2000));
  });

  test('the ship user cannot read logs by itself: no proof, a forged one, a ship-signed one, a used one', async () => {
    const noProof = await sshAsShip('s2', 's1', 'starphleet logs esc');
    assert.notEqual(noProof.code, 0);
    assert.match(noProof.stderr, /ship user only/);
    const forged = await sshAsShip('s2', 's1', `starphleet logs esc --proof ${Buffer.from(JSON.stringify({ op: 'logs', service: 'esc', issued: Math.floor(Date.now() / 1000), nonce: 'a'.repeat(32), signature: '-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n' })).toString('base64url')}`);
    assert.notEqual(forged.code, 0);
    assert.match(forged.stderr, /refused: the proof is not signed by an admiral's key in HQ/);
    // Signed with the ship's own key (what a ship holds): not an admiral's.
    const byShip = await signPhleetRequest('logs', 'esc', { ...process.env, STARPHLEET_ADMIRAL_KEY: join(root, 'data-s2', 'ship_client_key') });
    const shipSigned = await sshAsShip('s2', 's1', `starphleet logs esc --proof ${byShip}`);
    assert.notEqual(shipSigned.code, 0);
    assert.match(shipSigned.stderr, /not signed by an admiral's key/);
    // A real admiral's request, once served (through phleet logs), cannot be used again by a ship that saw it.
    const proof = await signPhleetRequest('logs', 'esc', { ...process.env, STARPHLEET_ADMIRAL_KEY: key.privatePath });
    assert.equal((await cli(ship('s2').dataDir, 'phleet', 'logs', 'esc', '--proof', proof)).code, 0);
    const replay = await sshAsShip('s2', 's1', `starphleet logs esc --proof ${proof}`);
    assert.notEqual(replay.code, 0);
    assert.match(replay.stderr, /was used here before/);
    for (const r of [noProof, forged, shipSigned, replay]) assert.doesNotMatch(r.stdout, /tick|escape-app/);
    // Nor redeploy a service on its own.
    const redeploy = await sshAsShip('s2', 's1', 'starphleet redeploy esc');
    assert.match(redeploy.stderr, /ship user only/);
  });
});
