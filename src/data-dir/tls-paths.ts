import { join } from 'node:path';

/**
 * Where TLS lives in the data dir. The ship writes, the data plane reads: `serve/` holds the certificates in force
 * (`<name>.crt` chain + `<name>.key`, whichever source they came from), `challenges/` the HTTP-01 answers. Files rather
 * than control messages, so a data plane started again, or one that takes over, finds both without the ship.
 */
export const tlsPaths = {
  dir: (dataDir: string): string => join(dataDir, 'tls'),
  serve: (dataDir: string): string => join(dataDir, 'tls', 'serve'),
  challenges: (dataDir: string): string => join(dataDir, 'tls', 'challenges'),
  acme: (dataDir: string): string => join(dataDir, 'tls', 'acme'),
  status: (dataDir: string): string => join(dataDir, 'tls', 'status.json'),
};

/** A host name as a file name: lower-case DNS labels only (so it can never be a path). */
export const CERT_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An ACME HTTP-01 token: base64url (RFC 8555 8.3), so it is a plain file name too. */
export const CHALLENGE_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
