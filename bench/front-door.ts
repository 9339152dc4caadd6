/**
 * The data planes against nginx, in one run: the same small app served directly, behind hand-written nginx, and behind
 * two real ships — one with the `nginx` data plane, one with the `embedded` one — each measured by wrk. Prints
 * requests/s and p99 latency for each and the ratios to hand-written nginx.
 *
 *   npm run bench:front-door [-- --duration 10 --connections 64]
 *
 * Fairness: the embedded plane is one node process, so every nginx gets `worker_processes 1` (the nginx plane:
 * STARPHLEET_NGINX_WORKERS=1, its default); all keep connections to the app alive and set X-Forwarded-* headers.
 * Needs nginx and wrk (Debian packages) on PATH.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/ship.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : dflt;
};
const DURATION = Number(opt('duration', '10'));
const CONNECTIONS = Number(opt('connections', '64'));

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

interface Result {
  readonly rps: number;
  readonly p99ms: number;
}

function wrk(url: string, seconds: number): Result {
  const out = execFileSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  if (!p || !Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${out}`);
  const scale = p[2] === 'us' ? 0.001 : p[2] === 's' ? 1000 : 1;
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) process.stderr.write(`wrk ${url}: ${errors[0]}\n`);
  return { rps, p99ms: Number(p[1]) * scale };
}

function measure(url: string): Result {
  wrk(url, 2); // warm up: JIT, connection pools
  return wrk(url, DURATION);
}

function git(dir: string, ...a: string[]): void {
  execFileSync('git', a, { cwd: dir, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } });
}

function repo(dir: string, files: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  for (const [n, c] of Object.entries(files)) writeFileSync(join(dir, n), c);
  git(dir, 'init', '-q', '-b', 'master');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'bench');
}

function nginxConf(dir: string, listen: number, upstream: number): string {
  const user = process.getuid?.() === 0 ? 'user root;\n' : '';
  return `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 100000;
  upstream app { server 127.0.0.1:${upstream}; keepalive 128; }
  server {
    listen 127.0.0.1:${listen};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
    }
  }
}
`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-frontdoor-'));
  // The sandbox user must pass through to the ships' data dirs (mkdtemp makes 0700).
  chmodSync(dir, 0o711);
  const children: ChildProcess[] = [];
  const dataDirs: string[] = [];
  const start = (cmd: string, a: string[], env: Record<string, string> = {}, cwd = ROOT): ChildProcess => {
    const c = spawn(cmd, a, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
    children.push(c);
    return c;
  };
  try {
    const appDir = join(dir, 'app');
    repo(appDir, { 'server.js': APP, Procfile: 'web: node server.js\n' });
    const appPort = await freePort();
    start(process.execPath, ['server.js'], { PORT: String(appPort) }, appDir);
    await until('the app', () => answers(`http://127.0.0.1:${appPort}/`));

    const nginxPort = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, nginxPort, appPort));
    start('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir]);
    await until('nginx', () => answers(`http://127.0.0.1:${nginxPort}/`));

    repo(join(dir, 'hq'), { orders: `autodeploy ${appDir}\n` });
    const ships: Record<string, number> = {};
    for (const plane of ['nginx', 'embedded']) {
      const shipPort = await freePort();
      const sshPort = await freePort();
      dataDirs.push(join(dir, `data-${plane}`));
      start(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'ship', '--headquarters', join(dir, 'hq'), '--data', join(dir, `data-${plane}`), '--listen', '127.0.0.1', '--http-port', String(shipPort), '--ssh-port', String(sshPort), '--name', `bench-${plane}`, '--data-plane', plane]);
      await until(`the ship (${plane} data plane) to serve the app`, () => answers(`http://127.0.0.1:${shipPort}/`), 600_000);
      ships[plane] = shipPort;
    }

    const results: [string, Result][] = [
      ['direct', measure(`http://127.0.0.1:${appPort}/`)],
      ['nginx', measure(`http://127.0.0.1:${nginxPort}/`)],
      ['nginx plane', measure(`http://127.0.0.1:${ships.nginx ?? 0}/`)],
      ['embedded', measure(`http://127.0.0.1:${ships.embedded ?? 0}/`)],
    ];
    const nginx = results[1]?.[1] as Result;
    console.log(`wrk -t1 -c${CONNECTIONS} -d${DURATION}s, same app (node http, keep-alive); every nginx worker_processes 1`);
    console.log('target         requests/s    p99 latency   vs hand-written nginx');
    for (const [name, r] of results) {
      const vs = name === 'direct' || name === 'nginx' ? '' : `   ${(r.rps / nginx.rps).toFixed(2)}x req/s, ${(r.p99ms / nginx.p99ms).toFixed(2)}x p99`;
      console.log(`${name.padEnd(12)}  ${r.rps.toFixed(0).padStart(10)}    ${r.p99ms.toFixed(2).padStart(8)} ms${vs}`);
    }
    console.log('targets: nginx plane >= 0.95x req/s, embedded >= 0.45x req/s, p99 <= 1.5x');
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
        execFileSync(process.execPath, ['--import', 'tsx', '-e', `import('./test/helpers/instances.ts').then((m) => m.killRecordedInstances(${JSON.stringify(d)}))`], { cwd: ROOT, stdio: 'inherit' });
      } catch {
        // best effort
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
