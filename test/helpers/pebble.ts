import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { freePort } from './ship.js';
import { makeTestCa } from './tls-ca.js';
import { waitFor } from './wait.js';

/**
 * Debian's pebble (ACME test CA) on loopback, with pebble-challtestsrv as its DNS (every name is 127.0.0.1 unless
 * told otherwise). Its HTTP-01 checks go to `httpPort`: the ship's HTTP port.
 */
export interface Pebble {
  readonly directory: string;
  /** pebble's own HTTPS certificate's CA (NODE_EXTRA_CA_CERTS for the ship's ACME client). */
  readonly apiCaFile: string;
  /** The root of what pebble issues (fetched from /roots/0), for curl --cacert. */
  readonly rootFile: string;
  /** Points a name somewhere else in pebble's DNS (a broken challenge), or back to the default with null. */
  setAddress(host: string, address: string | null): Promise<void>;
  stop(): Promise<void>;
}

function get(url: string, ca: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = request(url, { ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))));
    });
    r.on('error', reject);
    r.end();
  });
}

async function post(port: number, path: string, body: unknown): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`challtestsrv ${path}: ${r.status}`);
}

export async function startPebble(dir: string, o: { httpPort: number; validitySeconds: number }): Promise<Pebble> {
  const ca = makeTestCa(dir, 'pebble API test CA');
  const api = ca.leaf(['127.0.0.1', 'localhost'], { file: 'pebble-api' });
  const [acmePort, mgmtPort, dnsPort, dnsMgmt] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: api.certFile,
        privateKey: api.keyFile,
        httpPort: o.httpPort,
        tlsPort: await freePort(),
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        certificateValidityPeriod: o.validitySeconds,
      },
    }),
  );
  const procs: ChildProcess[] = [];
  let out = '';
  const run = (cmd: string, args: string[], env: Record<string, string> = {}): void => {
    const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    procs.push(p);
  };
  run('pebble-challtestsrv', ['-dns01', `127.0.0.1:${dnsPort}`, '-http01', '', '-https01', '', '-tlsalpn01', '', '-management', `127.0.0.1:${dnsMgmt}`, '-defaultIPv4', '127.0.0.1', '-defaultIPv6', '']);
  run('pebble', ['-config', config, '-dnsserver', `127.0.0.1:${dnsPort}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_VA_ALWAYS_VALID: '0',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  const caPem = api.cert;
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((r) => {
            if (p.exitCode !== null || p.signalCode !== null) return r();
            p.once('exit', () => r());
            p.kill('SIGTERM');
          }),
      ),
    );
  };
  try {
    await waitFor(() => get(directory, caPem), () => `pebble at ${directory}\n${out}`, 30_000, 200);
    const root = await waitFor(() => get(`https://127.0.0.1:${mgmtPort}/roots/0`, caPem), 'pebble root', 30_000, 200);
    const rootFile = join(dir, 'pebble-root.pem');
    writeFileSync(rootFile, root);
    return {
      directory,
      apiCaFile: ca.certFile,
      rootFile,
      setAddress: (host, address) => (address === null ? post(dnsMgmt, '/clear-a', { host: `${host}.` }) : post(dnsMgmt, '/add-a', { host: `${host}.`, addresses: [address] })),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
