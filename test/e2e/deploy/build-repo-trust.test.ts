import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError, buildRelease } from '../../../src/agent/releases/build-release.js';
import type { BuildInput, Release } from '../../../src/agent/types.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn } from '../../helpers/git.js';
import { startGitHttp, type GitHttpServer } from '../../helpers/git-http.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * A service repo is written by whoever can push to it: it configures its service, never the ship (#27). Its `.env`
 * cannot lift the limits HQ sets, and a buildpack it names is fetched as a stranger would, with nothing of the ship's.
 */

const servers: GitHttpServer[] = [];
after(async () => {
  for (const s of servers) await s.close();
});

function input(service: string, giturl: string, sha: string, extra: Partial<BuildInput> = {}): BuildInput {
  return { service, giturl, sha, ordersEnv: {}, hqEnv: {}, shipName: 'testship', ...extra };
}

async function build(repo: string, sha: string, dataDir: string, extra: Partial<BuildInput> = {}): Promise<{ release?: Release; error?: BuildError; lines: string[] }> {
  const lines: string[] = [];
  try {
    return { release: await buildRelease(input('svc', repo, sha, extra), { dataDir, access: {}, log: (l) => lines.push(l) }), lines };
  } catch (e) {
    assert.ok(e instanceof BuildError, String(e));
    return { error: e, lines };
  }
}

describe("a repo's .env sets no ship setting", () => {
  it('every STARPHLEET_* limit at its maximum is ignored, with a warning in the build log; the orders still set them', async () => {
    const dir = tmpDir('sp-trust-');
    const repo = join(dir, 'repo');
    fixtureRepo('procfile-app', repo);
    const sha = commit(repo, {
      '.env': 'STARPHLEET_MEMORY=1T\nSTARPHLEET_CPUS=1024\nSTARPHLEET_PIDS=4194304\nSTARPHLEET_BASE=anything\nSTARPHLEET_WORKER_UP=0\nSTARPHLEET_DISK=1T\nGREETING=kept\n',
    });
    const { release, lines } = await build(repo, sha, join(dir, 'data'), { ordersEnv: { STARPHLEET_MEMORY: '256M' } });
    assert.ok(release);
    assert.ok(
      lines.includes('warning: .env sets STARPHLEET_MEMORY, STARPHLEET_CPUS, STARPHLEET_PIDS, STARPHLEET_BASE, STARPHLEET_WORKER_UP, STARPHLEET_DISK: ignored (a service repo configures its service, never the ship: limits and other STARPHLEET_* settings come from HQ orders)'),
      lines.join('\n'),
    );
    const env = release.config.env;
    assert.equal(env.GREETING, 'kept');
    assert.equal(env.STARPHLEET_MEMORY, '256M', 'the orders set the limit');
    for (const name of ['STARPHLEET_CPUS', 'STARPHLEET_PIDS', 'STARPHLEET_BASE', 'STARPHLEET_WORKER_UP', 'STARPHLEET_DISK']) assert.equal(env[name], undefined, name);
  });

  it(".starphleet's STARPHLEET_DISK is every service's default volume size, under the orders; the repo's never counts", async () => {
    const dir = tmpDir('sp-trust-');
    const repo = join(dir, 'repo');
    fixtureRepo('procfile-app', repo);
    const sha = commit(repo, { '.env': 'STARPHLEET_DISK=1T\n' });
    const hqEnv = { STARPHLEET_DISK: '96M', STARPHLEET_REMOTE: 'https://example.com/starphleet.git' };
    const data = join(dir, 'data');
    const byHq = await build(repo, sha, data, { hqEnv });
    assert.ok(byHq.release, byHq.error?.message);
    assert.equal(byHq.release.config.env.STARPHLEET_DISK, '96M');
    assert.equal(byHq.release.config.env.STARPHLEET_REMOTE, undefined, 'other ship settings stay the ship\'s');
    if (process.getuid?.() === 0) assert.equal(statSync(join(data, 'volumes', 'svc.img')).size, 96 * 1024 * 1024, 'the volume was made at the phleet default');
    const byOrders = await build(repo, sha, join(dir, 'data2'), { hqEnv, ordersEnv: { STARPHLEET_DISK: '128M' } });
    assert.ok(byOrders.release, byOrders.error?.message);
    assert.equal(byOrders.release.config.env.STARPHLEET_DISK, '128M', 'the orders win');
    const none = await build(repo, sha, join(dir, 'data3'));
    assert.ok(none.release, none.error?.message);
    assert.equal(none.release.config.env.STARPHLEET_DISK, undefined);
  });

  it('a .env, Procfile or app.json that is a symlink (to a secret of the host) is refused, its target never read', async () => {
    for (const name of ['.env', 'Procfile', 'app.json', '.buildpacks']) {
      const dir = tmpDir('sp-trust-');
      const repo = join(dir, 'repo');
      fixtureRepo('node-app', repo);
      gitIn(repo, 'rm', '-q', '--ignore-unmatch', name);
      gitIn(repo, 'config', 'core.symlinks', 'true');
      symlinkSync('/etc/shadow', join(repo, name));
      const sha = commit(repo, {});
      const { error, lines } = await build(repo, sha, join(dir, 'data'));
      assert.ok(error, `${name}: the build should fail`);
      assert.equal(error.message, `${name} is a symlink: the ship does not follow it (commit the file itself)`);
      assert.doesNotMatch(lines.join('\n'), /root:/, 'nothing of /etc/shadow reached the build log');
    }
  });
});

describe('a buildpack the repo names is fetched as a stranger would', () => {
  const refused: [string, RegExp][] = [
    ['PATH', /a path on the ship: a repo may only name public http\(s\) or git URLs/],
    ['file://PATH', /file:\/\/ is not fetched for a repo/],
    ['git@example.com:team/buildpack.git', /an ssh URL needs the ship's keys/],
    ['ssh://git@example.com/team/buildpack.git', /ssh:\/\/ is not fetched for a repo/],
    ['ext::sh -c touch% /tmp/pwned', /a path on the ship|not fetched for a repo|white space/],
    ['http://127.0.0.1:1/buildpack.git', /127\.0\.0\.1 is this ship/],
    ['http://localhost:1/buildpack.git', /localhost is this ship/],
    ['http://[::1]:1/buildpack.git', /\[::1\] is this ship/],
    ['http://169.254.169.254/latest/meta-data', /169\.254\.169\.254 is this ship/],
  ];
  for (const [spec, why] of refused) {
    it(`refused from .env and .buildpacks: ${spec}`, async () => {
      const dir = tmpDir('sp-trust-');
      const buildpack = join(dir, 'buildpack');
      fixtureRepo('custom-buildpack', buildpack);
      const url = spec.replace('PATH', buildpack);
      const repo = join(dir, 'repo');
      fixtureRepo('custom-app', repo);
      const viaEnv = await build(repo, commit(repo, { '.env': `BUILDPACK_URL=${url}\n` }), join(dir, 'data'));
      assert.match(viaEnv.error?.message ?? '', /^BUILDPACK_URL \(the repo's \.env\): /);
      assert.match(viaEnv.error?.message ?? '', why);
      const viaFile = await build(repo, commit(repo, { '.env': null, '.buildpacks': `# one buildpack\n${url}\n` }), join(dir, 'data'));
      assert.match(viaFile.error?.message ?? '', /^\.buildpacks:2: /);
      assert.match(viaFile.error?.message ?? '', why);
      assert.equal(existsSync(join(dir, 'data', 'repos', 'public')), false, 'nothing was fetched');
      assert.equal(existsSync('/tmp/pwned'), false);
    });
  }

  it("the ship's git credentials are not sent for a repo's buildpack, and are for HQ's", async () => {
    const dir = tmpDir('sp-trust-');
    fixtureRepo('custom-buildpack', join(dir, 'buildpack'));
    const server = await startGitHttp(join(dir, 'served'), { basicAuth: { user: 'ship', password: 'ship-secret-4711' } });
    servers.push(server);
    server.publish(join(dir, 'buildpack'), 'private');
    // The ship's own git credentials: a credential store its git would use for that host.
    const store = join(dir, 'git-credentials');
    const u = new URL(server.url('private'));
    writeFileSync(store, `http://ship:ship-secret-4711@${u.host}\n`, { mode: 0o600 });
    const gitconfig = join(dir, 'gitconfig');
    writeFileSync(gitconfig, `[credential]\n\thelper = store --file=${store}\n`);
    const before = process.env.GIT_CONFIG_GLOBAL;
    process.env.GIT_CONFIG_GLOBAL = gitconfig;
    try {
      const repo = join(dir, 'repo');
      fixtureRepo('custom-app', repo);
      const sha = commit(repo, { '.env': `BUILDPACK_URL=${server.url('private')}\n` });
      const fromRepo = await build(repo, sha, join(dir, 'data'));
      assert.match(fromRepo.error?.message ?? '', /^BUILDPACK_URL \(the repo's \.env\): buildpack .*: git fetch failed/);
      assert.ok(server.authorizations.length > 0, 'the server was asked');
      assert.ok(server.authorizations.every((a) => a === ''), `no credentials were sent: ${server.authorizations.join(', ')}`);
      // The same URL ordered by HQ: fetched with the ship's access, so the build works.
      const fromHq = await build(repo, sha, join(dir, 'data'), { ordersEnv: { BUILDPACK_URL: server.url('private') } });
      assert.ok(fromHq.release, fromHq.lines.join('\n'));
      assert.match(readFileSync(join(fromHq.release.dir, 'public', 'index.txt'), 'utf8'), /custom buildpack compiled/);
      assert.ok(server.authorizations.some((a) => a !== ''), 'HQ-ordered: the ship authenticated');
    } finally {
      if (before === undefined) delete process.env.GIT_CONFIG_GLOBAL;
      else process.env.GIT_CONFIG_GLOBAL = before;
    }
  });

  it('a public server that redirects to the ship itself is not followed', async () => {
    const dir = tmpDir('sp-trust-');
    fixtureRepo('custom-buildpack', join(dir, 'buildpack'));
    const inside = await startGitHttp(join(dir, 'inside'), { host: '127.0.0.1' });
    servers.push(inside);
    inside.publish(join(dir, 'buildpack'), 'bp');
    const origin = new URL(inside.url('bp')).origin;
    const outside = await startGitHttp(join(dir, 'outside'), { redirectTo: origin });
    servers.push(outside);
    const repo = join(dir, 'repo');
    fixtureRepo('custom-app', repo);
    const r = await build(repo, commit(repo, { '.env': `BUILDPACK_URL=${outside.url('bp')}\n` }), join(dir, 'data'));
    assert.match(r.error?.message ?? '', /git fetch failed/);
    assert.equal(inside.authorizations.length, 0, 'the loopback server was never reached');
  });
});
