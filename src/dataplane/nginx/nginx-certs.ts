import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { defaultCertName, readServedCerts } from '../tls/served-certs.js';
import type { NginxTls } from './nginx-config.js';

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The certificates of `tls/serve/` as files nginx reads: copies in its own dir (0600), so what a reload loads is the
 * set the ship had written when it asked, not a file it may be replacing meanwhile. Returns them and the names whose
 * certificate changed since `previous`.
 */
export function nginxCertFiles(dataDir: string, prefix: string, port: number, previous: NginxTls | undefined, log: Logger): { tls: NginxTls; changed: string[] } {
  const dir = join(prefix, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const served = readServedCerts(dataDir, (m) => log(`tls: ${m}`));
  const certs = new Map<string, { crt: string; key: string }>();
  const changed: string[] = [];
  for (const c of served) {
    const crt = join(dir, `${c.name}.crt`);
    const key = join(dir, `${c.name}.key`);
    if (readText(crt) !== c.cert || readText(key) !== c.key) {
      writeFileSync(key, c.key, { mode: 0o600 });
      writeFileSync(crt, c.cert, { mode: 0o600 });
      changed.push(c.name);
    }
    certs.set(c.name, { crt, key });
  }
  for (const n of previous?.certs.keys() ?? []) if (!certs.has(n)) changed.push(n);
  return { tls: { port, certs, defaultName: defaultCertName(dataDir, served) }, changed };
}
