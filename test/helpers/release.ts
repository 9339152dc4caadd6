import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Release, ReleaseConfig } from '../../src/agent/types.js';

/**
 * A tiny node server for hand-made releases: answers with its VERSION, PORT and path; /health is 200 unless
 * SICK=1; /slow answers after SLOW_MS; /probe reports what the instance can see and write (for the sandbox tests).
 */
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
function attempt(fn) { try { fn(); return true; } catch { return false; } }
http.createServer((req, res) => {
  if (req.url === '/health') { res.statusCode = process.env.SICK === '1' ? 503 : 200; res.end('health'); return; }
  if (req.url === '/slow') { setTimeout(() => res.end('slow ' + process.env.VERSION), Number(process.env.SLOW_MS || 1500)); return; }
  if (req.url === '/probe') {
    const writeRelease = attempt(() => fs.writeFileSync(path.join(__dirname, 'written'), 'x'));
    const writeData = attempt(() => fs.writeFileSync('/var/data/probe.txt', 'from ' + process.env.VERSION));
    const readData = attempt(() => fs.readFileSync('/var/data/probe.txt', 'utf8'));
    const pids = fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).map(Number);
    const seesShip = fs.existsSync('/proc/' + process.env.SHIP_PID);
    // Written and removed: under the process runtime /tmp is the machine's own, and a test leaves nothing there.
    const writeTmp = attempt(() => { fs.writeFileSync('/tmp/probe', 'x'); fs.rmSync('/tmp/probe'); });
    const tmpEntries = fs.readdirSync('/tmp');
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ writeRelease, writeData, readData, pids, seesShip, writeTmp, tmpEntries, pid: process.pid }));
    return;
  }
  res.end(JSON.stringify({ version: process.env.VERSION, port: process.env.PORT, path: req.url, env: process.env.EXTRA ?? null }));
}).listen(Number(process.env.PORT), '127.0.0.1', () => {
  console.log('listening on ' + process.env.PORT + ' as ' + process.env.VERSION);
  if (process.env.CRASH_AFTER_MS) setTimeout(() => { console.log('crashing on purpose'); process.exit(1); }, Number(process.env.CRASH_AFTER_MS));
});
`;

let counter = 0;

export interface HandMade {
  readonly service: string;
  readonly version: string;
  readonly env?: Record<string, string>;
  readonly command?: string;
  readonly healthcheck?: string;
  readonly healthcheckTimeoutSeconds?: number;
}

/** A release dir made by hand under dataDir (as the build side lays them out): a node server and its config. */
export function makeRelease(dataDir: string, o: HandMade): Release {
  counter++;
  const sha = (counter.toString(16).padStart(7, '0') + 'a'.repeat(40)).slice(0, 40);
  const id = `2026010100${String(counter).padStart(4, '0')}-${sha.slice(0, 7)}`;
  const dir = join(dataDir, 'services', o.service, 'releases', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'server.js'), SERVER);
  const config: ReleaseConfig = {
    service: o.service,
    id,
    giturl: `/nowhere/${o.service}`,
    sha,
    createdAt: new Date(Date.now() + counter).toISOString(),
    layers: [],
    env: { VERSION: o.version, ...o.env },
    command: o.command ?? 'exec node server.js',
    healthcheck: o.healthcheck ?? '/health',
    healthcheckTimeoutSeconds: o.healthcheckTimeoutSeconds ?? 10,
    buildpack: 'hand-made',
  };
  writeFileSync(join(dataDir, 'services', o.service, 'releases', `${id}.json`), JSON.stringify(config, null, 2));
  return { config, dir };
}
