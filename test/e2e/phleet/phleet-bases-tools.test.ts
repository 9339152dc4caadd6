import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readHeadquarters } from '../../../src/headquarters/layout.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, writeFiles } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** Installs one tool into the base's own prefix: all a provision script may write. */
const TOOLS = `#!/bin/bash
set -e
echo "provisioning tools into $PREFIX as $(id -u)"
mkdir -p "$PREFIX/bin"
cat > "$PREFIX/bin/greet-tool" <<'EOS'
#!/bin/sh
echo "greetings from the tools base"
EOS
chmod +x "$PREFIX/bin/greet-tool"
# An unprivileged sandbox: the system stays as it is.
if touch /usr/bin/greet-tool 2>/dev/null; then echo "wrote /usr/bin" >&2; exit 1; fi
`;

const BROKEN = `#!/bin/sh
echo "fetching what is not there"
exit 7
`;

describe('container bases: containers/<name> built once, mounted read-only with its bin/ on PATH', { timeout: 600_000 }, () => {
  const root = tmpDir('sp-bases-');
  const app = join(root, 'app');
  const built = join(root, 'built-app');
  const dataDir = join(root, 'data');
  let ship: ShipProcess;
  let hq: PushableHq;
  const get = async (service: string, path: string): Promise<{ status: number; body: string } | null> => httpGet(ship.httpPort, `/${service}${path}`).catch(() => null);

  before(async () => {
    fixtureRepo('data-reader-app', app);
    fixtureRepo('data-reader-app', built);
    // A build step (app.json predeploy runs in the build's sandbox) uses the tool; what it writes is in the release.
    commit(built, { 'app.json': JSON.stringify({ scripts: { dokku: { predeploy: 'greet-tool > built-with.txt' } } }) }, 'predeploy uses the base');
    hq = new PushableHq(root, {
      'containers/tools': { content: TOOLS, mode: 0o755 },
      'containers/broken': { content: BROKEN, mode: 0o755 },
      'web/orders': `autodeploy ${built}\nexport STARPHLEET_BASE=tools\nexport HEALTHCHECK_TIMEOUT=30\n`,
      'other/orders': `autodeploy ${app}\nexport STARPHLEET_BASE=tools\nexport HEALTHCHECK_TIMEOUT=30\n`,
      'plain/orders': `autodeploy ${app}\nexport HEALTHCHECK_TIMEOUT=30\n`,
      'bad/orders': `autodeploy ${app}\nexport STARPHLEET_BASE=broken\nexport HEALTHCHECK_TIMEOUT=30\n`,
    });
    ship = await startShip({ headquarters: hq.bare, dataDir, pulse: 0.5 });
    for (const s of ['web', 'other', 'plain']) await waitFor(async () => (await get(s, '/'))?.status === 200, () => `${s} serves\n${ship.output().slice(-3000)}`, 300_000, 500);
  });

  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  test('instances of services with STARPHLEET_BASE=tools run the tool from /opt/starphleet/bases/tools/bin', async () => {
    for (const s of ['web', 'other']) {
      const r = await get(s, '/which/greet-tool');
      assert.equal(r?.status, 200, `${s}: ${r?.body}`);
      assert.equal(r?.body, '/opt/starphleet/bases/tools/bin/greet-tool\ngreetings from the tools base\n');
    }
  });

  test('a build step of the service has it too', async () => {
    const r = await get('web', '/release/built-with.txt');
    assert.equal(r?.body, 'greetings from the tools base\n');
  });

  test('built once for its content, by the sandbox user, then read-only and the ship\'s', () => {
    assert.equal(ship.output().match(/web: deploying|other: deploying/g)?.length, 2);
    const provisioned = readdirSync(join(dataDir, 'logs')).flatMap((s) => {
      try {
        return readdirSync(join(dataDir, 'logs', s)).filter((f) => f === 'base-tools.log').map(() => s);
      } catch {
        return [];
      }
    });
    assert.equal(provisioned.length, 1, `one service's deploy built the base, the other found it built: ${provisioned.join(', ')}`);
    const [hash] = readdirSync(join(dataDir, 'bases', 'tools')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.ok(hash);
    const tool = statSync(join(dataDir, 'bases', 'tools', hash, 'bin', 'greet-tool'));
    assert.equal(tool.uid, process.getuid?.());
    assert.equal(tool.mode & 0o222, 0, 'no write bit');
    const config = JSON.parse(readFileSync(join(dataDir, 'configs', 'web.json'), 'utf8')) as { base?: { name: string; hash: string } };
    assert.deepEqual(config.base, { name: 'tools', hash });
  });

  test('a service without a base does not see it; a failing base fails only its own service, with its output', async () => {
    const r = await get('plain', '/which/greet-tool');
    assert.equal(r?.status, 404);
    const bad = await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === 'bad' && s.state === 'failed'), 'bad failed', 300_000, 500);
    assert.match(bad.message, /container base broken \(containers\/broken\): provision script failed \(exit 7\)/);
    assert.match(bad.message, /fetching what is not there/);
    assert.match(bad.message, /logs\/bad\/base-broken\.log/);
    assert.equal((await get('bad', '/'))?.status, 503);
    for (const s of ['web', 'other', 'plain']) assert.equal((await get(s, '/'))?.status, 200, `${s} still serves`);
  });

  test('an edited provision script is a new base: its services redeploy onto it, the others stay as they are', async () => {
    const plainBefore = (await statusServices(dataDir)).find((s) => s.name === 'plain')?.release;
    hq.commit({ 'containers/tools': { content: TOOLS.replace('greetings from the tools base', 'greetings from tools v2'), mode: 0o755 } }, 'tools v2');
    for (const s of ['web', 'other']) await waitFor(async () => (await get(s, '/which/greet-tool'))?.body.includes('greetings from tools v2'), () => `${s} runs tools v2\n${ship.output().slice(-2500)}`, 300_000, 500);
    assert.equal((await get('web', '/release/built-with.txt'))?.body, 'greetings from tools v2\n');
    assert.equal(readdirSync(join(dataDir, 'bases', 'tools')).filter((n) => /^[0-9a-f]{64}$/.test(n)).length, 2);
    assert.equal((await statusServices(dataDir)).find((s) => s.name === 'plain')?.release, plainBefore, 'plain was not redeployed');
  });

  test('hq check names an orders file whose STARPHLEET_BASE has no containers/ file', async () => {
    const dir = join(root, 'hq-check');
    writeFiles(dir, { 'containers/tools': TOOLS, 'a/orders': `autodeploy ${app}\nexport STARPHLEET_BASE=tools\n`, 'b/orders': `autodeploy ${app}\nexport STARPHLEET_BASE=nosuch\n` });
    const state = await readHeadquarters(dir, { sha: null, evalTimeoutMs: 10_000 });
    assert.deepEqual(state.problems, [{ file: 'b/orders', message: 'STARPHLEET_BASE=nosuch: HQ has no containers/nosuch (its deploys fail until there is one)' }]);
  });
});
