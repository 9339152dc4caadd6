import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as AcmeClient from 'acme-client';
import { CHALLENGE_TOKEN, tlsPaths } from '../data-dir/tls-paths.js';
import type { Logger } from '../log.js';
import type { CertPair } from './cert-files.js';

/** Let's Encrypt's directories (the URLs acme-client's `directory.letsencrypt` holds). */
const LETSENCRYPT = { production: 'https://acme-v02.api.letsencrypt.org/directory', staging: 'https://acme-staging-v02.api.letsencrypt.org/directory' } as const;

/**
 * acme-client and its HTTP stack, loaded when a certificate is first asked for: importing them cost every ship start
 * 0.2 CPU-s, ships that never use ACME included.
 */
let acmeLoaded: Promise<typeof AcmeClient> | null = null;
const acmeLib = (): Promise<typeof AcmeClient> => (acmeLoaded ??= import('acme-client'));

/** `STARPHLEET_ACME_DIRECTORY`: a URL, or `production` / `staging` (Let's Encrypt's). Default: production. */
export function acmeDirectory(raw: string | undefined): string {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'production') return LETSENCRYPT.production;
  if (v === 'staging') return LETSENCRYPT.staging;
  if (/^https:\/\/\S+$/.test(v)) return v;
  throw new Error(`STARPHLEET_ACME_DIRECTORY must be an https:// URL, production or staging, got ${JSON.stringify(v)}`);
}

/**
 * Gets certificates from an ACME CA (acme-client) with HTTP-01: the ship writes each challenge's key authorization to
 * `<data>/tls/challenges/<token>`, where the data plane answers it at /.well-known/acme-challenge/<token>. The
 * account key is made once into `<data>/tls/acme/account.key` (0600) and reused.
 */
export class AcmeIssuer {
  private client: AcmeClient.Client | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly email: string,
    private readonly directoryUrl: string,
    private readonly log: Logger,
  ) {}

  private async accountKey(): Promise<Buffer> {
    const dir = tlsPaths.acme(this.dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, 'account.key');
    if (existsSync(path)) return readFileSync(path);
    const key = await (await acmeLib()).crypto.createPrivateEcdsaKey('P-256');
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
    this.log(`acme: made an account key in ${path}`);
    return key;
  }

  private async acmeClient(): Promise<AcmeClient.Client> {
    const acme = await acmeLib();
    this.client ??= new acme.Client({ directoryUrl: this.directoryUrl, accountKey: await this.accountKey() });
    return this.client;
  }

  /** One certificate for one name; throws with the CA's reason (a failed challenge says what the CA saw). */
  async issue(name: string): Promise<CertPair> {
    const client = await this.acmeClient();
    const acme = await acmeLib();
    const [key, csr] = await acme.crypto.createCsr({ commonName: name, altNames: [name] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    const dir = tlsPaths.challenges(this.dataDir);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = (token: string): string => {
      if (!CHALLENGE_TOKEN.test(token)) throw new Error(`the CA sent a challenge token that is not base64url: ${JSON.stringify(token.slice(0, 40))}`);
      return join(dir, token);
    };
    const cert = await client.auto({
      csr,
      email: this.email,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      // The CA checks the front door itself; a check from the ship would need the name to resolve to it from here.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== 'http-01') throw new Error(`only http-01 challenges are answered, the CA offered ${challenge.type}`);
        // Readable by the data plane (an nginx worker may run as another user): the key authorization is public.
        writeFileSync(file(challenge.token), keyAuthorization, { mode: 0o644 });
      },
      challengeRemoveFn: async (_authz, challenge) => {
        rmSync(file(challenge.token), { force: true });
      },
    });
    return { cert, key: key.toString() };
  }
}
