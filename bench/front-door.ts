/**
 * The data planes against hand-written nginx, in one run: the same small app served directly, behind hand-written
 * nginx (1 worker and `auto`), and behind two real ships (instances run with STARPHLEET_RUNTIME=process, so the planes
 * reach the app at its address as they do over the sandbox's direct path), one per data plane (nginx with
 * STARPHLEET_NGINX_WORKERS=auto, the embedded plane with STARPHLEET_PLANE_PROCESSES=auto):
 *
 *   npm run bench:front-door [-- --duration 10 --connections 50]
 *
 * Three loads: HTTP/1.1 kept alive (wrk), HTTP/1.1 with a fresh connection per request (wrk, Connection: close) and
 * HTTP/2 over TLS (h2load, 10 connections x 10 streams). Targets (issue 29): the nginx plane >= 0.95x of hand-written
 * nginx with the same workers (auto), p99 <= 1.2x; the embedded plane >= 0.45x of hand-written nginx with one worker,
 * p99 <= 2x. The load average is printed before and after: the machine is shared, compare within one run only.
 * Needs nginx, wrk, h2load (Debian: nginx, wrk, nghttp2-client) and openssl.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ship.js';
import { h2load, loadAverage, nginxConf, wrk, type Mode, type Result } from './front-door-clients.js';
import { initRepo } from '../test/helpers/git.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : dflt;
};
const DURATION = Number(opt('duration', '10'));
const CONNECTIONS = Number(opt('connections', '50'));

const APP = `const http = require('node:http');
const body = Buffer.from('hello from the benchmark app\\n');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await ok().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const answers = async (url: string): Promise<boolean> => (await fetch(url)).status === 200;



/** A certificate for `localhost` (h2load sends the URL's host as SNI), for every TLS server of the run. */
function certificate(dir: string): { crt: string; key: string } {
  const crt = join(dir, 'localhost.crt');
  const key = join(dir, 'localhost.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-days', '2', '-keyout', key, '-out', crt], { stdio: 'ignore' });
  return { crt, key };
}

interface Target {
  readonly name: string;
  readonly http: number;
  readonly https: number;
}

function measure(t: Target, mode: Mode): Result {
  const url = mode === 'h2' ? `https://localhost:${t.https}/` : `http://127.0.0.1:${t.http}/`;
  const run = (s: number): Result => (mode === 'h2' ? h2load(url, s, 10, 10, tmpdir()) : wrk(url, s, CONNECTIONS, mode === 'fresh'));
  run(2); // warm up: JIT, connection pools
  return run(DURATION);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-frontdoor-'));
  chmodSync(dir, 0o711);
  const children: ChildProcess[] = [];
  const dataDirs: string[] = [];
  const start = (cmd: string, a: string[], env: Record<string, string> = {}, cwd = ROOT): ChildProcess => {
    const c = spawn(cmd, a, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    children.push(c);
    return c;
  };
  const loadBefore = loadAverage();
  try {
    const appDir = join(dir, 'app');
    initRepo(appDir, { 'server.js': APP, Procfile: 'web: node server.js\n' });
    const appPort = await freePort();
    start(process.execPath, ['server.js'], { PORT: String(appPort) }, appDir);
    await until('the app', () => answers(`http://127.0.0.1:${appPort}/`));
    const cert = certificate(dir);

    const targets: Target[] = [{ name: 'direct', http: appPort, https: 0 }];
    for (const workers of ['1', 'auto']) {
      const d = join(dir, `nginx-${workers}`);
      mkdirSync(d);
      const t = { name: `nginx ${workers}`, http: await freePort(), https: await freePort() };
      writeFileSync(join(d, 'nginx.conf'), nginxConf(d, workers, t.http, t.https, appPort, cert));
      start('nginx', ['-c', join(d, 'nginx.conf'), '-p', d]);
      await until(t.name, () => answers(`http://127.0.0.1:${t.http}/`));
      targets.push(t);
    }

    initRepo(join(dir, 'hq'), { orders: `autodeploy ${appDir}\n`, 'ssl/localhost.crt': execFileSync('cat', [cert.crt], { encoding: 'utf8' }), 'ssl/localhost.key': execFileSync('cat', [cert.key], { encoding: 'utf8' }) });
    for (const plane of ['nginx', 'embedded']) {
      const t = { name: `${plane} plane`, http: await freePort(), https: await freePort() };
      const data = join(dir, `data-${plane}`);
      dataDirs.push(data);
      const env = { STARPHLEET_RUNTIME: 'process', STARPHLEET_NGINX_WORKERS: 'auto', STARPHLEET_PLANE_PROCESSES: 'auto' };
      start(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'ship', '--headquarters', join(dir, 'hq'), '--data', data, '--listen', '127.0.0.1', '--http-port', String(t.http), '--https-port', String(t.https), '--ssh-port', String(await freePort()), '--name', `bench-${plane}`, '--data-plane', plane], env);
      await until(`the ship (${plane} data plane) to serve the app`, () => answers(`http://127.0.0.1:${t.http}/`), 600_000);
      targets.push(t);
    }

    const byName = new Map<string, Record<Mode, Result | null>>();
    for (const mode of ['keep-alive', 'fresh', 'h2'] as const) {
      for (const t of targets) {
        if (mode === 'h2' && t.name === 'direct') continue;
        const row = byName.get(t.name) ?? { 'keep-alive': null, fresh: null, h2: null };
        row[mode] = measure(t, mode);
        byName.set(t.name, row);
      }
    }
    const loadAfter = loadAverage();
    console.log(`front door, same node app; wrk -t1 -c${CONNECTIONS} -d${DURATION}s (HTTP/1.1), h2load -c10 -m10 -D${DURATION} (HTTP/2 over TLS)`);
    console.log(`load average before ${loadBefore}, after ${loadAfter} (the machine is shared: compare within this run only)`);
    const fmt = (r: Result | null): string => (r ? `${r.rps.toFixed(0).padStart(7)} req/s p99 ${r.p99ms.toFixed(2).padStart(7)} ms` : ''.padEnd(29));
    const ratio = (a: Result | null, b: Result | null): string => (a && b ? `${(a.rps / b.rps).toFixed(2)}x, p99 ${(a.p99ms / b.p99ms).toFixed(2)}x` : '');
    for (const mode of ['keep-alive', 'fresh', 'h2'] as const) {
      console.log(`\n${mode === 'h2' ? 'HTTP/2 over TLS' : mode === 'fresh' ? 'HTTP/1.1, a fresh connection per request' : 'HTTP/1.1 kept alive'}`);
      const n1 = byName.get('nginx 1')?.[mode] ?? null;
      const na = byName.get('nginx auto')?.[mode] ?? null;
      for (const [name, row] of byName) {
        const r = row[mode];
        if (!r) continue;
        const vs = name === 'nginx plane' ? `  vs nginx auto: ${ratio(r, na)}` : name === 'embedded plane' ? `  vs nginx 1 worker: ${ratio(r, n1)}; vs nginx auto: ${ratio(r, na)}` : '';
        console.log(`  ${name.padEnd(15)} ${fmt(r)}${vs}`);
      }
    }
    console.log('\ntargets: nginx plane >= 0.95x of nginx auto, p99 <= 1.2x; embedded plane >= 0.45x of nginx 1 worker, p99 <= 2x');
  } finally {
    for (const c of children.reverse()) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    // A ship leaves its data plane and instances running for the next ship to adopt: end those of these data dirs.
    for (const d of dataDirs) {
      try {
        execFileSync(process.execPath, ['--import', 'tsx', '-e', `Promise.all([import('./src/dataplane/ship-side/plane-process.ts').then((m) => m.stopDataPlane(${JSON.stringify(d)})), import('./test/helpers/instances.ts').then((m) => m.killRecordedInstances(${JSON.stringify(d)}))])`], { cwd: ROOT, stdio: 'inherit' });
      } catch {
        // best effort
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
