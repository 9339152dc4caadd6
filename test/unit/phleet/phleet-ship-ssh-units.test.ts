import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import ssh2 from 'ssh2';
import { fingerprint } from '../../../src/headquarters/keys.js';
import { loadClientKey } from '../../../src/phleet/client-key.js';
import { connectToShip, isPinned } from '../../../src/phleet/ship-ssh.js';
import { generateUsableKeyPair } from '../../../src/util/ssh-keypair.js';
import { tmpDir } from '../../helpers/tmp.js';

/** A stand-in ship: lets user `ship` in with any public key (the pin under test is the client's side). */
describe('ship-to-ship SSH with pinned host keys (phleet/ship-ssh.ts)', () => {
  const hostKey = generateUsableKeyPair('ed25519').private;
  const parsed = ssh2.utils.parseKey(hostKey);
  const hostFp = fingerprint((Array.isArray(parsed) ? parsed[0] : parsed as ssh2.ParsedKey).getPublicSSH());
  const server = new ssh2.Server({ hostKeys: [hostKey] }, (c) => {
    c.on('authentication', (ctx) => (ctx.username === 'ship' && ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])));
    c.on('error', () => undefined);
  });
  let port = 0;
  const key = loadClientKey(tmpDir());
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  test('isPinned: one of the list, exactly', () => {
    assert.equal(isPinned('SHA256:abc', ['SHA256:x', 'SHA256:abc']), true);
    assert.equal(isPinned('SHA256:ab', ['SHA256:abc']), false);
    assert.equal(isPinned('SHA256:abcd', ['SHA256:abc']), false);
    assert.equal(isPinned('', []), false);
  });

  test('a ship showing a pinned host key is reached', async () => {
    const { client, ready } = connectToShip({ host: '127.0.0.1', port, hostKeys: ['SHA256:other', hostFp] }, { privateKey: key.privateKey, readyTimeoutMs: 10_000 });
    try {
      await ready;
    } finally {
      client.end();
    }
  });

  test('a host key not pinned is refused before authentication, the message naming the key seen', async () => {
    const { client, ready } = connectToShip({ host: '127.0.0.1', port, hostKeys: ['SHA256:not-this-one'] }, { privateKey: key.privateKey, readyTimeoutMs: 10_000 });
    try {
      assert.equal(await ready.then(() => 'reached', (e: Error) => e.message), `host key of 127.0.0.1:${port} is ${hostFp}, not the pinned SHA256:not-this-one: refused`);
    } finally {
      client.end();
    }
  });
});
