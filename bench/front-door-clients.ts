/**
 * The load clients and the hand-written nginx of bench/front-door.ts: wrk for HTTP/1.1 (kept alive, or a fresh
 * connection per request), h2load for HTTP/2 over TLS (p99 from its per-request log), and the nginx config a person
 * would write for the same app (keep-alive upstream, X-Forwarded-*, the default buffers).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface Result {
  readonly rps: number;
  readonly p99ms: number;
}

export type Mode = 'keep-alive' | 'fresh' | 'h2';

export function wrk(url: string, seconds: number, connections: number, fresh: boolean): Result {
  const out = execFileSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(fresh ? ['-H', 'Connection: close'] : []), url], { encoding: 'utf8' });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out);
  if (!p || !Number.isFinite(rps)) throw new Error(`cannot read wrk output:\n${out}`);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(out);
  if (errors) process.stderr.write(`wrk ${url}: ${errors[0]}\n`);
  return { rps, p99ms: Number(p[1]) * (p[2] === 'us' ? 0.001 : p[2] === 's' ? 1000 : 1) };
}

/** h2load over TLS (ALPN h2): `streams` concurrent streams on each of `connections` connections. */
export function h2load(url: string, seconds: number, connections: number, streams: number, dir: string): Result {
  const log = join(dir, `h2load-${Date.now()}.log`);
  const out = execFileSync('h2load', ['-c', String(connections), '-m', String(streams), '-t', '1', '-D', String(seconds), '--log-file', log, url], { encoding: 'utf8' });
  const rps = Number(/finished in [\d.]+\w*, ([\d.]+) req\/s/.exec(out)?.[1]);
  const failed = /requests: .*?(\d+) failed/.exec(out);
  if (failed && failed[1] !== '0') process.stderr.write(`h2load ${url}: ${failed[0]}\n`);
  const times = readFileSync(log, 'utf8')
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[2]))
    .filter((n) => Number.isFinite(n))
    .sort((a, b) => a - b);
  rmSync(log, { force: true });
  if (!Number.isFinite(rps) || times.length === 0) throw new Error(`cannot read h2load output:\n${out}`);
  return { rps, p99ms: (times[Math.floor(times.length * 0.99)] ?? 0) / 1000 };
}

/** A hand-written nginx in front of the app: plain HTTP on `port`, HTTPS with HTTP/2 on `tlsPort`. */
export function nginxConf(dir: string, workers: string, port: number, tlsPort: number, upstream: number, cert: { crt: string; key: string }): string {
  const user = process.getuid?.() === 0 ? 'user nobody nogroup;\n' : '';
  const proxy = `proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr; proxy_set_header X-Forwarded-Proto $scheme; proxy_set_header X-Forwarded-Host $host;`;
  return `${user}worker_processes ${workers};
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
  upstream app { server 127.0.0.1:${upstream}; keepalive 128; }
  server { listen 127.0.0.1:${port}; location / { ${proxy} } }
  server { listen 127.0.0.1:${tlsPort} ssl http2; ssl_certificate ${cert.crt}; ssl_certificate_key ${cert.key}; location / { ${proxy} } }
}
`;
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
