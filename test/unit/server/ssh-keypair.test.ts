import assert from 'node:assert/strict';
import { test } from 'node:test';
import ssh2 from 'ssh2';
import { generateUsableKeyPair } from '../../../src/util/ssh-keypair.js';

// ssh2's own generator makes an unparsable ed25519 pair about once in 256 (a CI run lost a ship to one): in 2,000
// pairs that is ~8, so this fails without the check, and every pair of ours parses back.
test('every generated ed25519 pair parses back, private and public half', () => {
  let bad = 0;
  for (let i = 0; i < 2000; i++) {
    const pair = generateUsableKeyPair('ed25519');
    for (const half of [pair.private, pair.public]) if (ssh2.utils.parseKey(half) instanceof Error) bad++;
  }
  assert.equal(bad, 0);
});
