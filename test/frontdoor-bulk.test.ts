import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { fixtureRepo } from './helpers/fixtures.js';
import { initRepo } from './helpers/git.js';
import { rssBytes, send } from './helpers/http.js';
import { killRecordedInstances } from './helpers/instances.js';
import { startShip, type ShipProcess } from './helpers/ship.js';
import { tmpDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

/** 1 GB each way through a real ship: the ship's memory must stay flat (streams with backpressure, no buffering). */
const GB = 1024 ** 3;
const BOUND = 200 * 1024 ** 2;
const root = tmpDir('sp-frontdoor-bulk-');
const dataDir = join(root, 'data');
let ship: ShipProcess;

before(async () => {
  fixtureRepo('stream-app', join(root, 'app'));
  initRepo(join(root, 'hq'), { 'big/orders': `autodeploy ${join(root, 'app')}\n` });
  ship = await startShip({ headquarters: join(root, 'hq'), dataDir, pulse: 0.5 });
  await waitFor(async () => (await send(ship.httpPort, '/big/health')).status === 200, 'big to serve', 120_000, 250);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

/** Samples the ship's RSS while fn runs; returns the peak growth over the RSS before. */
async function peakGrowth(fn: () => Promise<void>): Promise<number> {
  const pid = ship.child.pid as number;
  const base = rssBytes(pid);
  let peak = base;
  const t = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 50);
  try {
    await fn();
  } finally {
    clearInterval(t);
  }
  return Math.max(peak, rssBytes(pid)) - base;
}

function zeros(total: number): Readable {
  const chunk = Buffer.alloc(256 * 1024, 1);
  let left = total;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
      left -= piece.length;
      this.push(piece);
    },
  });
}

test('a 1 GB upload reaches the instance whole while the ship stays under +200 MB', async () => {
  let answer = '';
  const growth = await peakGrowth(
    () =>
      new Promise<void>((resolve, reject) => {
        const req = request(
          { host: '127.0.0.1', port: ship.httpPort, path: '/big/upload', method: 'POST', headers: { 'content-length': String(GB) } },
          (res) => {
            res.setEncoding('utf8');
            res.on('data', (c: string) => (answer += c));
            res.on('end', () => resolve());
          },
        );
        req.on('error', reject);
        zeros(GB).pipe(req);
      }),
  );
  assert.deepEqual(JSON.parse(answer), { bytes: GB });
  assert.ok(growth < BOUND, `ship RSS grew by ${Math.round(growth / 1024 ** 2)} MB`);
});

test('a 1 GB download arrives whole while the ship stays under +200 MB', async () => {
  let got = 0;
  const growth = await peakGrowth(
    () =>
      new Promise<void>((resolve, reject) => {
        request({ host: '127.0.0.1', port: ship.httpPort, path: `/big/download?bytes=${GB}` }, (res) => {
          assert.equal(res.headers['content-length'], String(GB));
          res.on('data', (c: Buffer) => (got += c.length));
          res.on('end', () => resolve());
          res.on('error', reject);
        })
          .on('error', reject)
          .end();
      }),
  );
  assert.equal(got, GB);
  assert.ok(growth < BOUND, `ship RSS grew by ${Math.round(growth / 1024 ** 2)} MB`);
});
