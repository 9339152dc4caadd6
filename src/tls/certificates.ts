import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tlsPaths } from '../data-dir/tls-paths.js';
import type { DesiredState, HqCertificate } from '../headquarters/types.js';
import type { Logger } from '../log.js';
import { AcmeIssuer, acmeDirectory } from './acme-issuer.js';
import { certInfo, readPair, removePair, renewalTime, writePair, type CertPair } from './cert-files.js';
import { certificateNames } from './cert-names.js';
import { NO_STATUS, readCertStatus, writeCertStatus, type NameStatus } from './cert-status.js';
import { acmeDirectorySetting, acmeRetrySettings, acmeEmailSetting, hqHostnameSetting } from '../settings/dataplane-settings.js';

export interface CertificatesOptions {
  readonly dataDir: string;
  readonly log: Logger;
  /** Tells the data plane `tls/serve/` changed (it loads the new certificates without dropping a connection). */
  readonly reload: () => Promise<unknown>;
  readonly env?: NodeJS.ProcessEnv;
}

/** What one HQ commit asks of TLS. */
interface Wanted {
  readonly names: readonly string[];
  readonly hq: ReadonlyMap<string, HqCertificate>;
  readonly rejected: ReadonlySet<string>;
  readonly defaultName: string | null;
  readonly acme: AcmeIssuer | null;
  readonly retryMs: number;
  readonly maxRetryMs: number;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The ship's certificates: per name, HQ's `ssl/` if it has a good one, else ACME's (only with STARPHLEET_ACME_EMAIL),
 * written to `<data>/tls/serve/` for the data plane. ACME certificates are renewed once two thirds of their lifetime
 * have passed; a failure is retried with a backoff that doubles (STARPHLEET_ACME_RETRY s, at most
 * STARPHLEET_ACME_RETRY_MAX s), and shown in `starphleet certs`. One ACME order at a time, the most urgent first
 * (renewals by their end, then names without one, failing names last); each certificate is served once issued.
 */
export class Certificates {
  private wanted: Wanted | null = null;
  private timer: NodeJS.Timeout | null = null;
  private working: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: CertificatesOptions) {}

  private get serveDir(): string {
    return tlsPaths.serve(this.o.dataDir);
  }

  private get acmeDir(): string {
    return tlsPaths.acme(this.o.dataDir);
  }

  /** A new desired state: settings read, HQ certificates put in force, ACME work scheduled. */
  setDesired(d: DesiredState): Promise<void> {
    const env = { ...(this.o.env ?? process.env), ...d.env };
    let acme: AcmeIssuer | null = null;
    const email = acmeEmailSetting(env);
    try {
      if (email) acme = new AcmeIssuer(this.o.dataDir, email, acmeDirectory(acmeDirectorySetting(env)), this.o.log);
    } catch (e) {
      this.o.log(`acme: ${(e as Error).message}: no certificate is requested`);
    }
    const { retryMs, maxRetryMs } = acmeRetrySettings(env, (message, dflt) => this.o.log(`acme: ${message}: using ${dflt}`));
    const names = certificateNames(d);
    this.wanted = {
      names,
      hq: new Map((d.ssl?.certs ?? []).map((c) => [c.name, c])),
      rejected: new Set(d.ssl?.rejected ?? []),
      defaultName: hqHostnameSetting(d.env) ?? null,
      acme,
      retryMs,
      maxRetryMs,
    };
    return this.run(() => this.apply());
  }

  private run(f: () => Promise<void>): Promise<void> {
    const next = this.working.then(f).catch((e: unknown) => this.o.log(`tls: ${(e as Error).stack ?? String(e)}`));
    this.working = next;
    return next;
  }

  private status(name: string): NameStatus {
    return readCertStatus(this.o.dataDir)[name] ?? NO_STATUS;
  }

  private setStatus(name: string, s: Partial<NameStatus>): void {
    const all = { ...readCertStatus(this.o.dataDir) };
    all[name] = { ...(all[name] ?? NO_STATUS), ...s };
    writeCertStatus(this.o.dataDir, all);
  }

  /** Puts in force what serves each name now; reloads the data plane when anything changed; schedules ACME. */
  private async apply(): Promise<void> {
    const w = this.wanted;
    if (!w) return;
    let changed = false;
    const serveNames = new Set([...w.names, ...w.hq.keys()]);
    for (const name of serveNames) {
      const hq = w.hq.get(name);
      const acme = readPair(this.acmeDir, name);
      // A bad HQ file changes nothing that serves: the name keeps its certificate, whatever its source.
      if (!hq && w.rejected.has(name)) continue;
      const want: CertPair | null = hq ? { cert: hq.cert, key: hq.key } : acme && usable(acme) ? acme : null;
      const source = hq ? 'hq' : want ? 'acme' : null;
      const have = readPair(this.serveDir, name);
      if (want && (have?.cert !== want.cert || have.key !== want.key)) {
        writePair(this.serveDir, name, want);
        this.o.log(`tls: ${name}: serving the ${source === 'hq' ? `certificate of HQ ${hq?.file ?? ''}` : 'ACME certificate'} (${certInfo(want.cert).issuer}, until ${new Date(certInfo(want.cert).notAfter).toISOString()})`);
        changed = true;
      } else if (!want && have) {
        removePair(this.serveDir, name);
        changed = true;
      }
      if (this.status(name).source !== source) this.setStatus(name, { source });
    }
    // Names no longer ordered stop being served.
    for (const f of listCrt(this.serveDir)) {
      if (serveNames.has(f) || w.rejected.has(f)) continue;
      removePair(this.serveDir, f);
      changed = true;
    }
    mkdirSync(this.serveDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(this.serveDir, 'default'), `${w.defaultName ?? ''}\n`, { mode: 0o600 });
    if (changed) await this.o.reload();
    this.schedule();
  }

  /** The next ACME attempt: the earliest name due (no certificate yet, two thirds of its lifetime over, or a retry). */
  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wanted;
    if (this.stopped || !w?.acme) return;
    let soonest = Infinity;
    for (const name of this.acmeNames(w)) soonest = Math.min(soonest, this.dueAt(name));
    if (soonest === Infinity) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, soonest - Date.now()));
    this.timer = setTimeout(() => void this.run(() => this.attemptDue()), wait);
    this.timer.unref();
  }

  /** Names ACME covers: those without an HQ certificate (HQ wins) and without a bad HQ file either. */
  private acmeNames(w: Wanted): string[] {
    return w.names.filter((n) => !w.hq.has(n) && !w.rejected.has(n));
  }

  private dueAt(name: string): number {
    const s = this.status(name);
    const retry = s.failures > 0 && s.nextAttemptAt ? Date.parse(s.nextAttemptAt) : 0;
    const pair = readPair(this.acmeDir, name);
    const renew = pair && usable(pair) ? renewalTime(certInfo(pair.cert)) : 0;
    return Math.max(retry, renew);
  }

  private async attemptDue(): Promise<void> {
    const w = this.wanted;
    if (this.stopped || !w?.acme) return;
    for (const name of this.byUrgency(this.acmeNames(w).filter((n) => this.dueAt(n) <= Date.now()))) {
      if (this.stopped || this.wanted !== w) break;
      // Served at once: a renewed name must not wait for the other names' attempts (a failing one may be slow).
      if (await this.attempt(w, w.acme, name)) await this.apply();
    }
    if (this.wanted === w) await this.apply();
    else this.schedule();
  }

  /** Renewals of served certificates first (soonest end first), then names without one; failing names last. */
  private byUrgency(names: string[]): string[] {
    const key = (n: string): [number, number] => {
      const pair = readPair(this.acmeDir, n);
      if (pair && usable(pair)) return [0, certInfo(pair.cert).notAfter];
      return [1, this.status(n).failures];
    };
    return names.map((n) => ({ n, k: key(n) })).sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1]).map((x) => x.n);
  }

  /** One ACME order for a name; whether it got a certificate. */
  private async attempt(w: Wanted, issuer: AcmeIssuer, name: string): Promise<boolean> {
    const had = readPair(this.acmeDir, name);
    this.o.log(`acme: ${name}: ${had ? 'renewing' : 'requesting'} a certificate`);
    try {
      const pair = await issuer.issue(name);
      const info = certInfo(pair.cert);
      writePair(this.acmeDir, name, pair);
      this.setStatus(name, { lastError: null, lastErrorAt: null, failures: 0, lastIssuedAt: new Date().toISOString(), nextAttemptAt: new Date(renewalTime(info)).toISOString() });
      this.o.log(`acme: ${name}: certificate ${info.serial} from ${info.issuer}, valid until ${new Date(info.notAfter).toISOString()}, renewed from ${new Date(renewalTime(info)).toISOString()}`);
      return true;
    } catch (e) {
      const failures = this.status(name).failures + 1;
      const wait = Math.min(w.maxRetryMs, w.retryMs * 2 ** (failures - 1));
      const message = oneLine((e as Error).message);
      const next = new Date(Date.now() + wait).toISOString();
      this.setStatus(name, { lastError: message, lastErrorAt: new Date().toISOString(), failures, nextAttemptAt: next });
      this.o.log(`acme: ${name}: failed (${failures} in a row): ${message}; next attempt in ${Math.round(wait / 1000)} s`);
      return false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.working;
  }
}

/** Not expired: an expired ACME certificate is not served (a new one is requested at once). */
function usable(p: CertPair): boolean {
  try {
    return certInfo(p.cert).notAfter > Date.now();
  } catch {
    return false;
  }
}

function listCrt(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith('.crt'))
      .map((f) => f.slice(0, -4));
  } catch {
    return [];
  }
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 500);
}
