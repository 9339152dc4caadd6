import ssh2 from 'ssh2';

type KeyType = 'ed25519' | 'rsa';

/**
 * ssh2 1.17's generateKeyPairSync('ed25519') makes an unusable pair about once in 256: it strips a public key's
 * leading zero bytes, and parseKey then calls the key malformed (mscdex/ssh2 issues 1390, 1513). A ship that kept
 * such a host key could never start again, so only a pair that parses back, both halves, is returned.
 */
export function generateUsableKeyPair(type: KeyType, o: { bits?: number; comment?: string } = {}): { private: string; public: string } {
  for (let i = 0; i < 32; i++) {
    const pair = type === 'rsa' ? ssh2.utils.generateKeyPairSync('rsa', { bits: o.bits ?? 3072, ...(o.comment ? { comment: o.comment } : {}) }) : ssh2.utils.generateKeyPairSync('ed25519', o.comment ? { comment: o.comment } : {});
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) && !(ssh2.utils.parseKey(pair.public) instanceof Error)) return pair;
  }
  throw new Error(`could not generate a usable ${type} key pair`);
}
