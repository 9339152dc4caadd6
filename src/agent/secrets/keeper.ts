import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SealedFile, Service } from '../../headquarters/types.js';
import { AgeError, openWith } from '../../secrets/age-tool.js';
import { hostIdentityFile } from '../../secrets/host-key.js';
import { serviceEnvOfHq } from '../releases/env.js';
import type { Release, ReleaseSecrets } from '../types.js';
import { readSecretEnv } from './secret-env.js';

export type Opened = { readonly ok: true; readonly env: Readonly<Record<string, string>> } | { readonly ok: false; readonly reason: string };

/** What a deploy of a service gets from HQ's sealed files now: null when none applies to it. */
export type ServiceSecrets = { readonly ok: true; readonly secrets: ReleaseSecrets | null } | { readonly ok: false; readonly reason: string };

/** Opened files kept in memory, by the sha256 of their sealed bytes (HQ's current ones and the serving releases'). */
const MAX_KEPT = 64;

/**
 * Opens HQ secrets.age files with the ship's host key (`age -d`, plaintext through a pipe into memory, never a file)
 * for the deploys (which files apply, their digest) and for every start of a release's instances and one-offs (the
 * values, from the sealed copies the release recorded). Nothing here writes or logs a value.
 */
export class SecretsKeeper {
  private readonly kept = new Map<string, Promise<Opened>>();
  private digestKey: Buffer | null = null;

  constructor(private readonly identityFile: string) {}

  static forDataDir(dataDir: string): SecretsKeeper {
    return new SecretsKeeper(hostIdentityFile(dataDir));
  }

  /** One sealed file's env; `file` names it in the reason. A result that cannot change (not a recipient, a bad line) is kept. */
  open(bytes: Buffer, file: string): Promise<Opened> {
    const key = createHash('sha256').update(bytes).digest('hex');
    const known = this.kept.get(key);
    if (known) return known;
    const p = this.openNow(bytes, file).then((o) => {
      // A missing age tool or host key may be fixed while the ship runs: such a failure is tried again next time.
      if (!o.ok && /not installed|cannot run age|did not finish|cannot read/.test(o.reason)) this.kept.delete(key);
      return o;
    });
    this.kept.set(key, p);
    while (this.kept.size > MAX_KEPT) this.kept.delete(this.kept.keys().next().value as string);
    return p;
  }

  private async openNow(bytes: Buffer, file: string): Promise<Opened> {
    let plain: Buffer;
    try {
      plain = await openWith(bytes, this.identityFile);
    } catch (e) {
      const why = (e as Error).message;
      if (!(e instanceof AgeError)) return { ok: false, reason: `${file}: cannot open it: ${why}` };
      const notYet = /no identity matched/.test(why) ? ' (this ship\'s host key is not a recipient yet: an admiral runs `starphleet secrets reseal` and commits)' : '';
      return { ok: false, reason: `${file}: this ship cannot open it: ${why}${notYet}` };
    }
    const r = readSecretEnv(plain);
    plain.fill(0);
    return r.ok ? { ok: true, env: r.env } : { ok: false, reason: `${file}: ${r.message}` };
  }

  /**
   * The secrets a deploy of the service gets: the phleet-wide file, then the service's own (which wins), and which of
   * their names are in force (HQ .starphleet wins over both). A file that is malformed or cannot be opened fails it.
   */
  async forService(sealed: readonly SealedFile[], service: Service, hqEnv: Readonly<Record<string, string>>): Promise<ServiceSecrets> {
    const files = [sealed.find((f) => f.mount === null), sealed.find((f) => f.mount !== null && f.mount === service.mount)].filter((f): f is SealedFile => f !== undefined);
    if (files.length === 0) return { ok: true, secrets: null };
    const env: Record<string, string> = {};
    for (const f of files) {
      if (f.problem !== null) return { ok: false, reason: `${f.file}: ${f.problem}` };
      const o = await this.open(f.bytes, f.file);
      if (!o.ok) return { ok: false, reason: o.reason };
      Object.assign(env, o.env);
    }
    const hq = serviceEnvOfHq(hqEnv);
    const names = Object.keys(env).filter((n) => !Object.hasOwn(hq, n)).sort();
    const canonical = JSON.stringify(names.map((n) => [n, env[n]]));
    return {
      ok: true,
      secrets: {
        digest: createHmac('sha256', this.key()).update(canonical).digest('hex'),
        names,
        sealed: files.map((f) => ({ file: f.file, age: f.bytes.toString('base64') })),
      },
    };
  }

  /** The values a release's instances get (its recorded names from its recorded sealed files); {} for a release without. */
  async forRelease(release: Release): Promise<Opened> {
    const s = release.config.secrets;
    if (!s) return { ok: true, env: {} };
    const all: Record<string, string> = {};
    for (const f of s.sealed) {
      const o = await this.open(Buffer.from(f.age, 'base64'), f.file);
      if (!o.ok) return { ok: false, reason: `the secrets of release ${release.config.id}: ${o.reason}` };
      Object.assign(all, o.env);
    }
    const env: Record<string, string> = {};
    for (const n of s.names) {
      const v = all[n];
      if (v === undefined) return { ok: false, reason: `the secrets of release ${release.config.id} do not hold ${n}` };
      env[n] = v;
    }
    return { ok: true, env };
  }

  /** The digest key: derived from the host key, so it is this ship's own and needs no file of its own. */
  private key(): Buffer {
    this.digestKey ??= createHash('sha256').update('starphleet secrets digest\0').update(readFileSync(this.identityFile)).digest();
    return this.digestKey;
  }
}
