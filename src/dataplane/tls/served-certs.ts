import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CERT_NAME, tlsPaths } from '../../data-dir/tls-paths.js';

/** One certificate in force, as the data plane loads it: for `name`, its chain and key (PEM). */
export interface ServedCert {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
  /** The leaf's serial (hex): what a reload changed, in logs. */
  readonly serial: string;
}

/**
 * The certificates of `<data>/tls/serve/`, as the ship left them. A pair that cannot be read or parsed is skipped and
 * reported (the ship checks what it writes, so this is a disk problem, not an HQ one).
 */
export function readServedCerts(dataDir: string, problem: (m: string) => void = () => undefined): ServedCert[] {
  const dir = tlsPaths.serve(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: ServedCert[] = [];
  for (const f of names.sort()) {
    if (!f.endsWith('.crt')) continue;
    const name = f.slice(0, -4);
    if (!CERT_NAME.test(name)) continue;
    try {
      const cert = readFileSync(join(dir, f), 'utf8');
      const key = readFileSync(join(dir, `${name}.key`), 'utf8');
      out.push({ name, cert, key, serial: new X509Certificate(cert).serialNumber });
    } catch (e) {
      problem(`tls/serve/${f}: not loaded: ${(e as Error).message}`);
    }
  }
  return out;
}

/**
 * The name whose certificate a client gets when it names no host (or one without a certificate of its own): the ship
 * writes it to `serve/default` (STARPHLEET_HOSTNAME's); without that file, the first name.
 */
export function defaultCertName(dataDir: string, certs: readonly ServedCert[]): string | null {
  let want = '';
  try {
    want = readFileSync(join(tlsPaths.serve(dataDir), 'default'), 'utf8').trim();
  } catch {
    want = '';
  }
  return certs.find((c) => c.name === want)?.name ?? certs[0]?.name ?? null;
}
