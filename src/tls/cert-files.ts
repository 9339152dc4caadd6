import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A certificate chain and key on disk (`<dir>/<name>.crt` + `.key`, mode 0600). */
export interface CertPair {
  readonly cert: string;
  readonly key: string;
}

export interface CertInfo {
  readonly serial: string;
  readonly issuer: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export function certInfo(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  return { serial: x.serialNumber, issuer: x.issuer.replace(/\n/g, ', '), notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo) };
}

/** Two thirds of the way from notBefore to notAfter: 30 days before the end of a 90-day certificate. */
export function renewalTime(i: CertInfo): number {
  return i.notBefore + ((i.notAfter - i.notBefore) * 2) / 3;
}

export function readPair(dir: string, name: string): CertPair | null {
  try {
    return { cert: readFileSync(join(dir, `${name}.crt`), 'utf8'), key: readFileSync(join(dir, `${name}.key`), 'utf8') };
  } catch {
    return null;
  }
}

/** Key first, then chain, each by rename: a reader sees a whole old file or a whole new one. */
export function writePair(dir: string, name: string, p: CertPair): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [ext, text] of [['key', p.key], ['crt', p.cert]] as const) {
    const path = join(dir, `${name}.${ext}`);
    writeFileSync(`${path}.next`, text, { mode: 0o600 });
    renameSync(`${path}.next`, path);
  }
}

export function removePair(dir: string, name: string): void {
  rmSync(join(dir, `${name}.crt`), { force: true });
  rmSync(join(dir, `${name}.key`), { force: true });
}
