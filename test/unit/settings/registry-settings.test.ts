import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registrySettings } from '../../../src/settings/registry-settings.js';

test('a build gets the registry settings of the ship env and nothing else of it', () => {
  const env = {
    HTTPS_PROXY: 'http://proxy:3128',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/corp.pem',
    npm_config_registry: 'https://mirror.example/',
    COREPACK_INTEGRITY_KEYS: '0',
    STARPHLEET_SECRET_KEY: 'never',
    AWS_SECRET_ACCESS_KEY: 'never',
    PATH: '/ship/bin',
    HOME: '/root',
  };
  assert.deepEqual(registrySettings(env), {
    HTTPS_PROXY: 'http://proxy:3128',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/corp.pem',
    npm_config_registry: 'https://mirror.example/',
    COREPACK_INTEGRITY_KEYS: '0',
  });
});

test('of NODE_OPTIONS only the flags that choose the CA store pass', () => {
  assert.deepEqual(registrySettings({ NODE_OPTIONS: '--max-old-space-size=4096 --use-openssl-ca --require /ship/preload.js' }), { NODE_OPTIONS: '--use-openssl-ca' });
  assert.deepEqual(registrySettings({ NODE_OPTIONS: ' --use-bundled-ca  --use-bundled-ca ' }), { NODE_OPTIONS: '--use-bundled-ca' });
  assert.deepEqual(registrySettings({ NODE_OPTIONS: '--require=/ship/--use-openssl-ca.js --inspect' }), {});
  assert.deepEqual(registrySettings({}), {});
});
