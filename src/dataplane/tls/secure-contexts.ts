import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import type { Logger } from '../../log.js';
import { defaultCertName, readServedCerts } from './served-certs.js';
import { MOZILLA_INTERMEDIATE_CIPHERS, TLS_CURVES, TLS_MAX_VERSION, TLS_MIN_VERSION } from './tls-settings.js';

const BASE: TlsOptions = {
  minVersion: TLS_MIN_VERSION,
  maxVersion: TLS_MAX_VERSION,
  ciphers: MOZILLA_INTERMEDIATE_CIPHERS,
  ecdhCurve: TLS_CURVES,
  honorCipherOrder: false,
};

function context(cert: string, key: string): SecureContext {
  return createSecureContext({ ...BASE, cert, key });
}

/**
 * The embedded plane's certificates, one SecureContext per name, chosen by SNI. reload() builds a new map and swaps
 * it in: a handshake from then on gets the new certificate, connections already open keep theirs (nothing drops).
 */
export class SecureContexts {
  private byName = new Map<string, SecureContext>();
  private fallback: SecureContext | null = null;
  private fallbackPems: { cert: string; key: string } | null = null;
  private serials = new Map<string, string>();

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {
    this.reload();
  }

  /** Options of the TLS server: TLS 1.2/1.3, Mozilla intermediate ciphers, the certificate by SNI. */
  serverOptions(): TlsOptions {
    return {
      ...BASE,
      ALPNProtocols: ['http/1.1'],
      SNICallback: (servername, cb) => cb(null, this.pick(servername)),
    };
  }

  /** A name without a certificate of its own gets the default one; with no certificate at all the handshake fails. */
  private pick(servername: string): SecureContext | undefined {
    return this.byName.get(servername.toLowerCase().replace(/\.$/, '')) ?? this.fallback ?? undefined;
  }

  /** The default certificate's options, for handshakes without SNI (the server's own context, setSecureContext). */
  defaultOptions(): TlsOptions | null {
    return this.fallbackPems ? { ...BASE, ...this.fallbackPems } : null;
  }

  /** Reads `tls/serve/` again; returns the names whose certificate changed. */
  reload(): string[] {
    const certs = readServedCerts(this.dataDir, (m) => this.log(`tls: ${m}`));
    const next = new Map<string, SecureContext>();
    const serials = new Map<string, string>();
    for (const c of certs) {
      try {
        next.set(c.name, context(c.cert, c.key));
        serials.set(c.name, c.serial);
      } catch (e) {
        this.log(`tls: ${c.name}: certificate not loaded: ${(e as Error).message}`);
      }
    }
    const changed = [...new Set([...serials.keys(), ...this.serials.keys()])].filter((n) => serials.get(n) !== this.serials.get(n));
    const def = defaultCertName(this.dataDir, certs.filter((c) => next.has(c.name)));
    this.byName = next;
    this.serials = serials;
    this.fallback = def ? (next.get(def) ?? null) : null;
    const d = certs.find((c) => c.name === def);
    this.fallbackPems = d && this.fallback ? { cert: d.cert, key: d.key } : null;
    return changed;
  }
}
