import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { connect, createSecureContext, type PeerCertificate, type SecureContext } from 'node:tls';
import { pacedLoops } from './paced.js';

export interface CurlResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The real curl: `curl --cacert CA --resolve NAME:PORT:127.0.0.1 https://NAME:PORT/PATH` plus extra flags. */
export function curl(args: readonly string[]): Promise<CurlResult> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '30', ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

export function curlHttps(name: string, port: number, ca: string, path = '/', extra: readonly string[] = []): Promise<CurlResult> {
  return curl(['--cacert', ca, '--resolve', `${name}:${port}:127.0.0.1`, ...extra, `https://${name}:${port}${path}`]);
}

/** The certificate a TLS handshake naming `servername` gets (not verified: the test checks what it is). */
export function peerCertificate(port: number, servername: string): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const c = s.getPeerCertificate();
      s.end();
      resolve(c);
    });
    s.on('error', reject);
  });
}

const contexts = new Map<string, SecureContext>();
/**
 * A client context trusting the root in `caFile`, made once per root: a context made for each request of a load loop
 * cost ~0.6 ms of the test's CPU a request (a quarter of it). Keyed by the file's text, so a new root is trusted anew.
 */
function trusting(caFile: string): SecureContext {
  const pem = readFileSync(caFile, 'utf8');
  let ctx = contexts.get(pem);
  if (!ctx) contexts.set(pem, (ctx = createSecureContext({ ca: pem })));
  return ctx;
}

/** One verified GET over a new TLS connection (SNI and Host = name), for load loops; caFile: the trusted root (PEM file). */
export function httpsGet(port: number, name: string, caFile: string, path = '/'): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    // node's https passes secureContext on to tls.connect; its RequestOptions type does not list it.
    const options: RequestOptions & { secureContext: SecureContext } = { host: '127.0.0.1', port, servername: name, headers: { host: `${name}:${port}` }, path, secureContext: trusting(caFile), agent: false };
    const r = request(options, (res) => {
      const serial = (res.socket as unknown as { getPeerCertificate(): PeerCertificate }).getPeerCertificate().serialNumber;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, serial }));
      res.on('error', reject);
    });
    r.on('error', reject);
    r.end();
  });
}

/** New TLS connections a second of loadLoop: a certificate switch or a hand-over is still crossed by dozens. */
export const TLS_LOAD_RATE = 100;

/**
 * Requests in a loop, one at a time on fresh connections, until stop(): every failure (error or status other than 200)
 * is kept with the serials seen, so a test can show a certificate changed under load with no failed request.
 * Paced (test/helpers/paced.ts), at TLS_LOAD_RATE unless asked: each request is a full handshake, and an unpaced loop
 * took 20 CPU-seconds of a 44 s test (the client's handshakes alone) from the files running beside it.
 */
export function loadLoop(port: number, name: string, ca: string, perSecond = TLS_LOAD_RATE): { seen(): readonly string[]; stop(): Promise<{ ok: number; failed: string[]; serials: string[] }> } {
  let ok = 0;
  const failed: string[] = [];
  const serials: string[] = [];
  const loop = pacedLoops(1, async () => {
    try {
      const r = await httpsGet(port, name, ca);
      if (r.status === 200) ok++;
      else failed.push(`status ${r.status}: ${r.body.slice(0, 200)}`);
      if (serials[serials.length - 1] !== r.serial) serials.push(r.serial);
    } catch (e) {
      failed.push((e as Error).message);
    }
  }, perSecond);
  return {
    /** The serials answered so far: a test waits for the loop's first answer before it changes anything. */
    seen: () => serials,
    async stop() {
      await loop.stop();
      return { ok, failed, serials };
    },
  };
}
