import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateUsableKeyPair } from '../../src/util/ssh-keypair.js';

/** The folder scripts/run-tests.mjs makes for the run (and removes with it); unset when a file runs on its own. */
const POOL = process.env.SP_TEST_HOST_KEY_POOL;
const seeded = new Set<string>();
let next = 0;

/** Pool key n, made by whichever test process needs it first (a race is settled by link: one file wins, the same for all). */
function poolKey(n: number): { private: string; public: string } {
  const file = join(POOL as string, `rsa-${n}`);
  if (!existsSync(file)) {
    const pair = generateUsableKeyPair('rsa', { bits: 2048 });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, JSON.stringify(pair), { mode: 0o600 });
    try {
      linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as { private: string; public: string };
}

/**
 * Puts an RSA host key from the run's pool into a data dir the ship has not made its own yet: a 3072-bit key costs
 * 0.2-0.8 CPU-s to make, and the suite starts about 130 ships on 2 cores. The pool's are 2048-bit (a third of the
 * time to make; no test looks at the size, and OpenSSH takes RSA keys from 1024 bits). The n-th data dir a test process seeds gets
 * key n, so the ships of one test never share a key. Only the RSA key, and only once per data dir: the ed25519 key
 * (what OpenSSH clients pin first) is still made by every ship, so a test that removes host_keys sees a new identity.
 * Without the runner ships make both keys, as in production (test/e2e/ssh/host-keys checks that path).
 */
export function seedRsaHostKey(dataDir: string): void {
  if (!POOL || seeded.has(dataDir)) return;
  seeded.add(dataDir);
  const dir = join(dataDir, 'host_keys');
  const path = join(dir, 'ssh_host_rsa_key');
  if (existsSync(path)) return;
  mkdirSync(POOL, { recursive: true, mode: 0o700 });
  const pair = poolKey(next++);
  // The data dir as the ship would make it (default mode), host_keys as loadHostKeys does.
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(path, pair.private, { mode: 0o600 });
  writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
}
