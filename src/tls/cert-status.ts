import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { tlsPaths } from '../data-dir/tls-paths.js';

/** What the ship remembers of each name's certificate: shown by `starphleet certs`, kept across restarts. */
export interface NameStatus {
  /** Where the certificate served now came from; null: none yet. */
  readonly source: 'hq' | 'acme' | null;
  /** The last ACME attempt that failed, and when; cleared by a success. */
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
  /** Failures in a row (the backoff grows with them). */
  readonly failures: number;
  readonly lastIssuedAt: string | null;
  /** When the next ACME attempt is due (issue, renewal or retry). */
  readonly nextAttemptAt: string | null;
}

export type CertStatus = Readonly<Record<string, NameStatus>>;

export const NO_STATUS: NameStatus = { source: null, lastError: null, lastErrorAt: null, failures: 0, lastIssuedAt: null, nextAttemptAt: null };

export function readCertStatus(dataDir: string): CertStatus {
  try {
    const v = JSON.parse(readFileSync(tlsPaths.status(dataDir), 'utf8')) as unknown;
    return v && typeof v === 'object' ? (v as CertStatus) : {};
  } catch {
    return {};
  }
}

export function writeCertStatus(dataDir: string, s: CertStatus): void {
  const path = tlsPaths.status(dataDir);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(`${path}.next`, `${JSON.stringify(s, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${path}.next`, path);
}
