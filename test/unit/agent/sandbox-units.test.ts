import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { resolveEnv, serviceEnvOfHq } from '../../../src/agent/releases/env.js';
import { inputsDigest } from '../../../src/agent/deploy/deploy.js';
import type { Orders, Service } from '../../../src/headquarters/types.js';
import { publicConfig } from '../../../src/agent/releases/release-store.js';
import { DEFAULT_LIMITS, parseMemory, sandboxLimits } from '../../../src/agent/sandbox/settings.js';
import { redactCredentials } from '../../../src/util/redact.js';

describe('credentials in URLs', () => {
  test('user info of web URLs and passwords of any URL show as ***; plain ssh users and scp-like specs stay', () => {
    assert.equal(redactCredentials('autodeploy https://user:s3cret@git.example.com/a.git#main'), 'autodeploy https://***@git.example.com/a.git#main');
    assert.equal(redactCredentials('fatal: unable to access \'http://tok3n@127.0.0.1:9/x.git/\''), "fatal: unable to access 'http://***@127.0.0.1:9/x.git/'");
    assert.equal(redactCredentials('ssh://git:pw@host/x ssh://git@host/y git@host:z.git'), 'ssh://***@host/x ssh://git@host/y git@host:z.git');
    assert.equal(redactCredentials('no url here'), 'no url here');
  });

  test('STARPHLEET_DEPLOY_GITURL carries no credentials', () => {
    const env = resolveEnv({ repoEnv: {}, ordersEnv: {}, hqEnv: {}, giturl: 'https://u:s3cret@h/r.git', shipName: 's', deployTime: new Date(0) });
    assert.equal(env.STARPHLEET_DEPLOY_GITURL, 'https://***@h/r.git');
  });
});

describe('ship settings are not service env', () => {
  test('HQ STARPHLEET_* names never reach a build or an instance; other names do, with the highest precedence', () => {
    const hq = { STARPHLEET_WEBHOOK_SECRET: 'w', STARPHLEET_REMOTE: 'r', GREETING: 'hq' };
    assert.deepEqual(serviceEnvOfHq(hq), { GREETING: 'hq' });
    const env = resolveEnv({ repoEnv: { GREETING: 'repo' }, ordersEnv: { STARPHLEET_MEMORY: '64M' }, hqEnv: hq, giturl: '/r', shipName: 's', deployTime: new Date(0) });
    assert.equal(env.STARPHLEET_WEBHOOK_SECRET, undefined);
    assert.equal(env.STARPHLEET_REMOTE, undefined);
    assert.equal(env.GREETING, 'hq');
    assert.equal(env.STARPHLEET_MEMORY, '64M', "the orders' own STARPHLEET_ limits stay the service's");
  });

  test(".starphleet's STARPHLEET_DISK is a default under the orders; it changes the deploy inputs only where it applies", () => {
    const base = { repoEnv: { STARPHLEET_DISK: '1T' }, giturl: '/r', shipName: 's', deployTime: new Date(0) };
    assert.equal(resolveEnv({ ...base, ordersEnv: {}, hqEnv: { STARPHLEET_DISK: '4G' } }).STARPHLEET_DISK, '4G');
    assert.equal(resolveEnv({ ...base, ordersEnv: { STARPHLEET_DISK: '1G' }, hqEnv: { STARPHLEET_DISK: '4G' } }).STARPHLEET_DISK, '1G');
    assert.equal(resolveEnv({ ...base, ordersEnv: {}, hqEnv: {} }).STARPHLEET_DISK, undefined, "the repo's never counts");
    const svc = (env: Record<string, string>): Service => ({ name: 'web', mount: '/web', orders: { giturl: '/r', env, unpublished: false } as unknown as Orders, ordersDigest: 'd' }) as unknown as Service;
    const plain = inputsDigest(svc({}), 'sha', {});
    assert.equal(inputsDigest(svc({}), 'sha', { STARPHLEET_REMOTE: 'r' }), plain, 'a ship setting redeploys nothing');
    assert.notEqual(inputsDigest(svc({}), 'sha', { STARPHLEET_DISK: '4G' }), plain, 'the default applies: a new deploy');
    assert.equal(inputsDigest(svc({ STARPHLEET_DISK: '1G' }), 'sha', { STARPHLEET_DISK: '4G' }), inputsDigest(svc({ STARPHLEET_DISK: '1G' }), 'sha', {}), 'the orders set their own: nothing changes');
  });

  test('a config others may see lists env names, not values', () => {
    const c = publicConfig({ id: 'x', env: { B: 'secret-b', A: 'secret-a' } });
    assert.deepEqual(c, { id: 'x', envNames: ['A', 'B'] });
  });
});

describe('sandbox limits', () => {
  test('sizes, cores and counts parse; defaults apply; a bad value names its variable', () => {
    assert.equal(parseMemory('512M'), 512 * 1024 ** 2);
    assert.equal(parseMemory('1.5G'), 1.5 * 1024 ** 3);
    assert.equal(parseMemory('2GiB'), 2 * 1024 ** 3);
    assert.deepEqual(sandboxLimits({}), DEFAULT_LIMITS);
    assert.deepEqual(sandboxLimits({ STARPHLEET_MEMORY: '256M', STARPHLEET_CPUS: '1.5', STARPHLEET_PIDS: '256', STARPHLEET_DISK: '512M' }), { memoryBytes: 256 * 1024 ** 2, cpus: 1.5, pids: 256, diskBytes: 512 * 1024 ** 2 });
    assert.equal(DEFAULT_LIMITS.diskBytes, 2 * 1024 ** 3, 'STARPHLEET_DISK defaults to 2G');
    assert.throws(() => sandboxLimits({ STARPHLEET_DISK: '10M' }), /STARPHLEET_DISK must be a size between 64M/);
    assert.throws(() => sandboxLimits({ STARPHLEET_MEMORY: 'lots' }), /STARPHLEET_MEMORY must be a size/);
    assert.throws(() => sandboxLimits({ STARPHLEET_MEMORY: '1M' }), /at least 16M/);
    assert.throws(() => sandboxLimits({ STARPHLEET_CPUS: '0' }), /STARPHLEET_CPUS/);
    assert.throws(() => sandboxLimits({ STARPHLEET_PIDS: '3.5' }), /STARPHLEET_PIDS/);
  });
});
