import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { allowedSigners, updateSigners } from '../../../src/update/signers.js';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh, type SshResult } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { alive } from '../../helpers/instances.js';
import { shipPidOf, updateRemote } from '../../helpers/update-remote.js';

/**
 * STARPHLEET_UPDATE_SIGNERS=admirals end to end: STARPHLEET_REMOTE is a bare repo made from a copy of this tree (as in
 * update-e2e.test.ts); commits are signed for real with `git commit -S` (gpg.format=ssh) by test keys made here.
 */
const root = tmpDir('sp-signed-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const proj = join(root, 'proj');
const remote = join(root, 'remote.git');
let admiralKey: TestKey;
let stranger: TestKey;
let ship: ShipProcess;
let shipSshPort = 0;
/** The signed commit the last successful update installed. */
let installed = '';

const shipPid = (): number => shipPidOf(dataDir);


/** Commits to the project copy (signed with `signer` when given) and pushes it to the bare remote; returns the sha. */
function release(files: Record<string, string | null>, message: string, signer?: TestKey): string {
  const sha = commit(proj, files, message);
  if (signer) gitIn(proj, '-c', 'gpg.format=ssh', '-c', `user.signingkey=${signer.privatePath}`, 'commit', '-q', '--amend', '--no-edit', '-S');
  const signed = gitIn(proj, 'rev-parse', 'HEAD');
  gitIn(proj, 'push', '-q', '-f', remote, 'HEAD:master');
  return signer ? signed : sha;
}

function update(...args: string[]): Promise<SshResult> {
  return runSsh({ key: admiralKey.privatePath, port: shipSshPort, user: 'update', args, options: ['-T'], timeoutMs: 600_000 });
}

async function version(): Promise<string> {
  const v = await runSsh({ key: admiralKey.privatePath, port: shipSshPort, args: ['starphleet version'] });
  assert.equal(v.code, 0, v.stderr);
  return v.stdout.toString().trim();
}

/** Nothing of a refused version stays on disk: only what was there before (current/previous links, if any). */
function installedVersions(): string[] {
  const dir = join(dataDir, 'versions');
  return existsSync(dir) ? readdirSync(dir).filter((n) => /^[0-9a-f]{40}$/.test(n)) : [];
}

before(async () => {
  admiralKey = makeKey(root, 'admiral');
  stranger = makeKey(root, 'stranger');
  initRepo(hq, { 'authorized_keys/admiral': `${admiralKey.pub}\n` });
  updateRemote(root);
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_REMOTE: `${remote}#master`, STARPHLEET_UPDATE_SIGNERS: 'admirals', STARPHLEET_HANDOVER_GRACE: '20' } });
  shipSshPort = ship.sshPort;
  await ship.waitForLog(/\d+ admirals/, 60_000);
});

after(async () => {
  // The ship that took over is not the helper's child: stop it by the pid it holds the data dir with.
  const pid = existsSync(join(dataDir, 'ship.pid')) ? shipPid() : 0;
  if (pid && pid !== ship?.child.pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !alive(pid), 'the new ship to stop', 30_000).catch(() => process.kill(pid, 'SIGKILL'));
  }
  await ship?.stop();
});

describe('signed updates (STARPHLEET_UPDATE_SIGNERS=admirals)', { timeout: 900_000 }, () => {
  test('the setting and the allowed-signers file made from HQ keys', () => {
    assert.equal(updateSigners({}), null);
    assert.equal(updateSigners({ STARPHLEET_UPDATE_SIGNERS: 'admirals' }), 'admirals');
    assert.throws(() => updateSigners({ STARPHLEET_UPDATE_SIGNERS: 'admiral' }), /STARPHLEET_UPDATE_SIGNERS must be "admirals" \(or unset\), got "admiral"/);
    const a = parseAuthorizedKeyFile(`restrict ${admiralKey.pub}\n`, 'authorized_keys/admiral').admiral;
    assert.ok(a);
    assert.equal(allowedSigners([a]), `authorized_keys/admiral namespaces="git" ${admiralKey.pub.split(' ').slice(0, 2).join(' ')}\n`);
  });

  test('an unsigned commit is refused with the reason; the ship keeps its version and nothing is installed', async () => {
    const before = await version();
    const r = await update();
    assert.equal(r.code, 1, r.stdout.toString() + r.stderr);
    assert.match(r.stderr, /starphleet update: commit [0-9a-f]{7} is not SSH-signed: STARPHLEET_UPDATE_SIGNERS=admirals installs only commits signed by an admiral's key; still running/);
    assert.doesNotMatch(r.stdout.toString(), /built|handing/);
    assert.equal(await version(), before);
    assert.equal(ship.child.exitCode, null);
    assert.deepEqual(installedVersions(), []);
  });

  test("a commit signed by a key that is not an admiral's is refused; nothing changes", async () => {
    const before = await version();
    const sha = release({ 'FOREIGN.md': 'signed by a stranger\n' }, 'foreign', stranger);
    assert.match(gitIn(proj, 'cat-file', 'commit', sha), /^gpgsig -----BEGIN SSH SIGNATURE-----/m, 'the commit really is SSH-signed');
    const r = await update();
    assert.equal(r.code, 1, r.stdout.toString() + r.stderr);
    assert.match(r.stderr, new RegExp(`starphleet update: commit ${sha.slice(0, 7)} is not signed by an admiral's key in HQ \\(.+\\); still running`));
    assert.equal(await version(), before);
    assert.deepEqual(installedVersions(), []);
  });

  test("a commit signed (git commit -S) with an admiral's key installs and the ship runs it", async () => {
    const pkg = JSON.parse(readFileSync(join(proj, 'package.json'), 'utf8')) as { version: string };
    pkg.version = '0.1.9';
    const sha = release({ 'FOREIGN.md': null, 'package.json': `${JSON.stringify(pkg, null, 2)}\n` }, 'version 0.1.9', admiralKey);
    const oldShip = ship.child.pid as number;
    const r = await update();
    const out = r.stdout.toString();
    assert.equal(r.code, 0, out + r.stderr);
    assert.match(out, new RegExp(`^${sha.slice(0, 7)} is signed by authorized_keys/admiral \\(ED25519 ${admiralKey.fingerprint.replace(/[+/]/g, '\\$&')}\\)$`, 'm'));
    assert.match(out.trim().split('\n').at(-1) ?? '', new RegExp(`^updated 0\\.1\\.0( @ [0-9a-f]{7})? -> 0\\.1\\.9 @ ${sha.slice(0, 7)}$`));
    await waitFor(() => ship.child.exitCode !== null, () => `the old ship to exit\n${ship.output().slice(-3000)}`, 60_000);
    assert.notEqual(shipPid(), oldShip);
    assert.match(await version(), /^0\.1\.9/);
    assert.deepEqual(installedVersions(), [sha]);
    installed = sha;
  });

  test('a signed commit that descends from the running one installs (forward, same version)', async () => {
    const sha = release({ 'FORWARD.md': 'a later commit of the same history\n' }, 'forward', admiralKey);
    const r = await update();
    assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
    assert.match(r.stdout.toString(), new RegExp(`updated 0\\.1\\.9 @ ${installed.slice(0, 7)} -> 0\\.1\\.9 @ ${sha.slice(0, 7)}`));
    await waitFor(async () => (await version().catch(() => '')) !== '', 'the ship to answer after its update', 60_000);
    installed = sha;
  });

  test('a signed commit older than the running one is refused, naming both; the ship keeps its version', async () => {
    const older = gitIn(proj, 'rev-parse', 'HEAD~1');
    // Whoever controls the update remote replays a commit an admiral signed before.
    gitIn(proj, 'push', '-q', '-f', remote, `${older}:refs/heads/master`);
    const r = await update();
    assert.equal(r.code, 1, r.stdout.toString() + r.stderr);
    assert.match(r.stderr, new RegExp(`starphleet update: commit ${older} \\(0\\.1\\.9\\) does not descend from the running commit ${installed} \\(0\\.1\\.9\\) and does not carry a higher version: refused as a downgrade; an admiral who means it runs the update with --allow-downgrade; still running 0\\.1\\.9 @ ${installed.slice(0, 7)}`));
    assert.doesNotMatch(r.stdout.toString(), /built|handing/);
    assert.match(await version(), /^0\.1\.9/);
    // The older commit was the previous version: its directory (the launcher's fallback) is still there.
    assert.ok(installedVersions().includes(older), `versions/${older} kept: ${installedVersions().join(', ')}`);
  });

  test('the admiral may still go back on purpose: ssh update@ship -- --allow-downgrade', async () => {
    const older = gitIn(proj, 'rev-parse', 'HEAD~1');
    // OpenSSH reads options after the destination too: `--` ends them.
    const r = await update('--', '--allow-downgrade');
    assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
    assert.match(r.stdout.toString(), new RegExp(`${older.slice(0, 7)} does not go forward; installing it as the admiral allowed \\(--allow-downgrade\\)`));
    assert.match(r.stdout.toString(), new RegExp(`-> 0\\.1\\.9 @ ${older.slice(0, 7)}$`, 'm'));
  });
});
