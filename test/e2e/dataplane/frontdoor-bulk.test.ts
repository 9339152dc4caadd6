import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { workersOf } from '../../../src/dataplane/nginx/nginx-procs.js';
import { readPlaneRecord } from '../../../src/dataplane/ship-side/plane-record.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { rssBytes, waitServes } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';

/** 1 GB each way through a real ship: the data plane's memory must stay flat (streams with backpressure, no buffering). */
const GB = 1024 ** 3;
const BOUND = 200 * 1024 ** 2;

for (const plane of PLANES) {
  describe(`1 GB through the ${plane} data plane`, { timeout: 900_000 }, () => {
  const root = tmpDir(`sp-frontdoor-bulk-${plane}-`);
  const dataDir = join(root, 'data');
  let ship: ShipProcess;

  before(async () => {
    fixtureRepo('stream-app', join(root, 'app'));
    initRepo(join(root, 'hq'), { 'big/orders': `autodeploy ${join(root, 'app')}\n` });
    ship = await startShip({ headquarters: join(root, 'hq'), dataDir, pulse: 0.5, args: ['--data-plane', plane] });
    await waitServes(ship.httpPort, '/big/health', () => `big to serve\n${ship.output().slice(-3000)}`, 400_000);
  });

  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  /** RSS of what carries the bytes: the data plane process, and for nginx its master's workers too. */
  function planeRss(): number {
    const rec = readPlaneRecord(dataDir);
    if (!rec) throw new Error('no data plane recorded');
    let total = rssBytes(rec.pid);
    if (plane === 'nginx') {
      const master = Number(readFileSync(join(dataDir, 'dataplane', 'nginx', 'nginx.pid'), 'utf8').trim());
      total += rssBytes(master);
      for (const w of workersOf(master)) {
        try {
          total += rssBytes(w.pid);
        } catch {
          // a worker that just exited
        }
      }
    }
    return total;
  }

  /** Samples the data plane's RSS while fn runs; returns the peak growth over the RSS before. */
  async function peakGrowth(fn: () => Promise<void>): Promise<number> {
    const base = planeRss();
    let peak = base;
    const t = setInterval(() => (peak = Math.max(peak, planeRss())), 50);
    try {
      await fn();
    } finally {
      clearInterval(t);
    }
    return Math.max(peak, planeRss()) - base;
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

    test('a 1 GB upload reaches the instance whole while the data plane stays under +200 MB', async () => {
    let answer = '';
    const growth = await peakGrowth(
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(
            { host: '127.0.0.1', port: ship.httpPort, path: '/big/upload', method: 'POST', headers: { 'content-length': String(GB) } },
            (res) => {
              res.setEncoding('utf8');
              answer = `HTTP ${res.statusCode} `;
              res.on('data', (c: string) => (answer += c));
              res.on('end', () => resolve());
            },
          );
          req.on('error', reject);
          zeros(GB).pipe(req);
        }),
    );
    assert.equal(answer, `HTTP 200 ${JSON.stringify({ bytes: GB })}`);
    assert.ok(growth < BOUND, `data plane RSS grew by ${Math.round(growth / 1024 ** 2)} MB`);
  });

    test('a 1 GB download arrives whole while the data plane stays under +200 MB', async () => {
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
    assert.ok(growth < BOUND, `data plane RSS grew by ${Math.round(growth / 1024 ** 2)} MB`);
  });
  });
}
