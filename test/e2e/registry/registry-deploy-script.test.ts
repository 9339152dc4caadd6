import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { sha256Of } from '../../helpers/registry.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { runSsh } from '../../helpers/ssh.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * deploy-agent's kind of tree (#22): a `deploy` script and no Procfile. It runs once per configuration, in the sandbox,
 * with OLDID, OLDROOT, NEWID, NEWROOT and STATEFILE; it writes what it got into /var/data, which the test reads.
 */
const SCRIPT = `#!/bin/sh
echo "$(cat "$NEWROOT/version.txt") OLDID=$OLDID OLDROOT=$OLDROOT NEWID=$NEWID NEWROOT=$NEWROOT STATEFILE=$STATEFILE" >>/var/data/deploys.log
cp "$STATEFILE" "/var/data/state-$NEWID.json"
exit "$(cat "$NEWROOT/exit.txt")"
`;

describe('registry: a deploy script and no Procfile deploys as deploy-agent does', () => {
  const root = tmpDir('sp-regdeploy-');
  const dataDir = join(root, 'data');
  let ship: ShipProcess;
  let admiral: TestKey;

  before(async () => {
    admiral = makeKey(root, 'admiral');
    initRepo(join(root, 'hq'), { 'authorized_keys/admiral': admiral.pub, 'agent1/orders': 'autodeploy registry:agent1\n' });
    ship = await startShip({ headquarters: join(root, 'hq'), dataDir });
    await ship.waitForLog(/ssh listening on/, 60_000);
    await ship.waitForLog(/\d+ admirals/, 60_000);
  });
  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  const reg = async (...args: string[]) => {
    const r = await runSsh({ key: admiral.privatePath, port: ship.sshPort, args: ['starphleet', 'registry', ...args], timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r.stdout.toString();
  };
  /** One version of component `app`: the script, version.txt and exit.txt (what the script exits with). */
  const upload = async (version: string, exit: number): Promise<void> => {
    const dir = join(root, `tree-${version}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'deploy'), SCRIPT);
    chmodSync(join(dir, 'deploy'), 0o755);
    writeFileSync(join(dir, 'version.txt'), `${version}\n`);
    writeFileSync(join(dir, 'exit.txt'), `${exit}\n`);
    const tar = join(root, `app_${version}.tar.gz`);
    execFileSync('tar', ['czf', tar, '-C', dir, 'deploy', 'version.txt', 'exit.txt']);
    const up = await sftpBatch({ key: admiral.privatePath, port: ship.sshPort, lines: [`put ${basename(tar)}`], cwd: root });
    assert.equal(up.code, 0, up.stderr);
    await reg('addver', '-name', 'app', '-version', version, '-hash', sha256Of(tar));
  };
  const runs = (): string[] => {
    const f = join(dataDir, 'volumes', 'agent1', 'data', 'deploys.log');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
  };
  const vars = (line: string): Record<string, string> => Object.fromEntries([...line.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1] as string, m[2] as string]));
  const current = (): string => readlinkSync(join(dataDir, 'services', 'agent1', 'current'));

  it('runs on the first and second configuration with the five variables; serves no HTTP', async () => {
    await upload('v1', 0);
    await reg('addconf', '-name', 'agent1', '-layer', 'app:v1');
    await waitFor(() => runs().length === 1, 'the first deploy script run', 180_000, 500);
    const first = vars(runs()[0] as string);
    assert.match(runs()[0] as string, /^v1 /);
    assert.equal(first.OLDID, '', 'no old configuration on the first deploy');
    assert.equal(first.OLDROOT, '');
    assert.match(first.NEWID as string, /^[0-9a-f]{40}$/);
    assert.equal(first.STATEFILE, join(first.NEWROOT as string, '.starphleet', 'registry.json'));
    // The script writes its line first, then copies the state file: a look between the two finds no file yet.
    const stateFile = join(dataDir, 'volumes', 'agent1', 'data', `state-${first.NEWID}.json`);
    await waitFor(() => existsSync(stateFile), 'the deploy script to copy its state file', 30_000, 100);
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { name: string; id: string; layers: { component: string; version: string }[] };
    assert.equal(state.name, 'agent1');
    assert.equal(state.id, first.NEWID);
    assert.deepEqual(state.layers.map((l) => `${l.component}:${l.version}`), ['app:v1']);
    await waitFor(() => existsSync(join(dataDir, 'services', 'agent1', 'current')) && first.NEWROOT?.endsWith(current()), 'release 1 to be current', 60_000, 500);
    // No process runs, no route: its path is as unknown as an unpublished service's.
    await waitFor(async () => (await httpGet(ship.httpPort, '/agent1/')).status === 404, 'no route for a deploy-only service', 30_000, 500);

    await upload('v2', 0);
    await reg('changeconf', '-name', 'agent1', '-component', 'app', '-version', 'v2');
    await waitFor(() => runs().length === 2, 'the second deploy script run', 180_000, 500);
    const second = vars(runs()[1] as string);
    assert.match(runs()[1] as string, /^v2 /);
    assert.equal(second.OLDID, first.NEWID, 'OLDID is the configuration deployed before');
    assert.equal(second.OLDROOT, first.NEWROOT, 'OLDROOT is where it was unpacked');
    assert.notEqual(second.NEWID, first.NEWID);
    assert.notEqual(second.NEWROOT, first.NEWROOT);
    await waitFor(() => second.NEWROOT?.endsWith(current()), 'release 2 to be current', 60_000, 500);
  });

  it('a non-zero exit fails the deploy and leaves the old configuration deployed', async () => {
    const before = current();
    const second = vars(runs()[1] as string);
    await upload('v3', 3);
    const since = ship.output().length;
    await reg('changeconf', '-name', 'agent1', '-component', 'app', '-version', 'v3');
    await waitFor(() => runs().length === 3, 'the failing deploy script run', 180_000, 500);
    const third = vars(runs()[2] as string);
    assert.equal(third.OLDID, second.NEWID);
    await ship.waitForLog(/agent1: deploy of [0-9a-f]{7} failed: .*release phase \(the deploy script \.\/deploy\) failed \(exit 3\).*keeps serving/, 60_000, since);
    assert.equal(current(), before, 'the old release stays current');
  });
});
