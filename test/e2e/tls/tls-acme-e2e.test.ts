import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tlsPaths } from '../../../src/data-dir/tls-paths.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { curl, curlHttps, loadLoop, peerCertificate } from '../../helpers/https-client.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { startPebble, type Pebble } from '../../helpers/pebble.js';
import { cli } from '../../helpers/phleet.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { makeTestCa, type TestCa } from '../../helpers/tls-ca.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

interface CertRow {
  name: string;
  source: string | null;
  issuer: string | null;
  notAfter: string | null;
  serial: string | null;
  failures: number;
  lastError: string | null;
}

/**
 * One ship on the embedded plane with --https-port, against Debian's pebble on loopback (its HTTP-01 checks reach the
 * ship's HTTP port): ACME certificates for two proxy_for names, renewed under load (pebble issues 45 s
 * certificates, renewed after two thirds: the load runs until then, so the shorter the lifetime the less it burns), a name whose challenge cannot succeed retried with backoff, an HQ
 * certificate served and a bad HQ key reported and changing nothing.
 */
/** The embedded plane in npm test; STARPHLEET_TLS_E2E_PLANE=nginx runs the same on the nginx plane. */
const PLANE = process.env.STARPHLEET_TLS_E2E_PLANE === 'nginx' ? 'nginx' : 'embedded';

describe(`HTTPS with ACME (pebble) and HQ certificates through a ship (${PLANE} data plane)`, { timeout: 600_000 }, () => {
  const root = tmpDir('sp-tls-acme-');
  const dataDir = join(root, 'data');
  const hq = join(root, 'hq');
  let pebble: Pebble;
  let ship: ShipProcess;
  let hqCa: TestCa;
  let https = 0;
  let hqSerial = '';

  async function certs(): Promise<CertRow[]> {
    const r = await cli(dataDir, 'certs', '--json');
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as CertRow[];
  }

  before(async () => {
    const http = await freePort();
    https = await freePort();
    mkdirSync(join(root, 'pebble'));
    pebble = await startPebble(join(root, 'pebble'), { httpPort: http, validitySeconds: 45 });
    // pebble's DNS sends this name where nothing listens: its HTTP-01 check can never succeed.
    await pebble.setAddress('broken.example', '127.0.0.2');
    mkdirSync(join(root, 'hqca'));
    hqCa = makeTestCa(join(root, 'hqca'), 'HQ test CA');
    const hqLeaf = hqCa.leaf(['hq.example'], { days: 60 });
    hqSerial = new X509Certificate(hqLeaf.cert).serialNumber;
    for (const [name, greeting] of [['app-a', 'a0'], ['app-b', 'b0']] as const) {
      fixtureRepo('stream-app', join(root, name));
      commit(join(root, name), { '.env': `GREETING=${greeting}\n` });
    }
    initRepo(hq, {
      'a/orders': `autodeploy ${join(root, 'app-a')}\nproxy_for a.example broken.example\n`,
      'b/orders': `autodeploy ${join(root, 'app-b')}\nproxy_for b.example\nexport HTTPS_ONLY=true\n`,
      '.starphleet': [
        'export STARPHLEET_ACME_EMAIL=admiral@example.com',
        `export STARPHLEET_ACME_DIRECTORY=${pebble.directory}`,
        'export STARPHLEET_ACME_RETRY=2',
        'export STARPHLEET_HOSTNAME=hq.example',
        '',
      ].join('\n'),
      'ssl/hq.example.crt': hqLeaf.cert,
      'ssl/hq.example.key': hqLeaf.key,
    });
    ship = await startShip({
      headquarters: hq,
      dataDir,
      httpPort: http,
      args: ['--https-port', String(https), '--data-plane', PLANE],
      // The ACME client trusts pebble's own API certificate (a real CA's is in the system store).
      env: { STARPHLEET_RUNTIME: 'process', NODE_EXTRA_CA_CERTS: pebble.apiCaFile },
    });
  });

  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
    await pebble?.stop();
  });

  test('both proxy_for names get ACME certificates and answer from their own service over https', async () => {
    for (const [name, greeting] of [['a.example', 'a0'], ['b.example', 'b0']] as const) {
      const r = await waitFor(async () => {
        const c = await curlHttps(name, https, pebble.rootFile, '/');
        return c.code === 0 && c.stdout.includes(greeting) ? c : null;
      }, () => `${name} over https\n${ship.output().slice(-3000)}`, 300_000, 500);
      assert.match(r.stdout, new RegExp(`"greeting":\\s*"${greeting}"`));
      assert.match((await peerCertificate(https, name)).subjectaltname ?? '', new RegExp(`DNS:${name.replace('.', '\\.')}`));
    }
    const rows = await certs();
    for (const n of ['a.example', 'b.example']) {
      const row = rows.find((r) => r.name === n);
      assert.equal(row?.source, 'acme', JSON.stringify(rows));
      assert.match(row?.issuer ?? '', /Pebble/i);
    }
    // The account key and the certificates' keys are the ship's only: mode 0600.
    assert.equal(statSync(join(tlsPaths.acme(dataDir), 'account.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(tlsPaths.acme(dataDir), 'a.example.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(tlsPaths.serve(dataDir), 'a.example.key')).mode & 0o777, 0o600);
  });

  test('HTTPS_ONLY in orders: plain HTTP gets a 308 to https and TLS answers carry HSTS (its ACME challenge still got through)', async () => {
    const r = await curl(['-i', '-H', 'host: b.example', `http://127.0.0.1:${ship.httpPort}/x?y=1`]);
    assert.match(r.stdout, /^HTTP\/1\.1 308/, r.stdout);
    assert.match(r.stdout, new RegExp(`location: https://b\\.example:${https}/x\\?y=1`, 'i'));
    const s = await curlHttps('b.example', https, pebble.rootFile, '/', ['-i']);
    assert.match(s.stdout, /strict-transport-security: max-age=31536000/i);
    const a = await curl(['-i', '-H', 'host: a.example', `http://127.0.0.1:${ship.httpPort}/`]);
    assert.match(a.stdout, /^HTTP\/1\.1 200/, 'a service without HTTPS_ONLY stays on http');
  });

  test('a certificate near its end is renewed and served without a failed request under load', async () => {
    const first = (await peerCertificate(https, 'a.example')).serialNumber;
    const load = loadLoop(https, 'a.example', pebble.rootFile);
    // Two thirds of 45 s: renewed 30 s after it was issued, 15 s before the end (a failing name never goes first).
    await waitFor(async () => (await peerCertificate(https, 'a.example')).serialNumber !== first, () => `a renewed certificate\n${ship.output().slice(-3000)}`, 180_000, 500);
    await new Promise((r) => setTimeout(r, 500));
    const res = await load.stop();
    assert.deepEqual(res.failed, [], 'no request failed while the certificate changed');
    assert.ok(res.serials.length >= 2 && res.serials[0] === first, `serials seen: ${res.serials.join(' -> ')}`);
    assert.ok(res.ok > 10, `requests went through (${res.ok})`);
    assert.match(ship.output(), /acme: a\.example: renewing a certificate/);
  });

  test('a challenge that cannot succeed is retried with a growing backoff and shown in starphleet certs', async () => {
    await ship.waitForLog(/acme: broken\.example: failed \(3 in a row\)/, 240_000);
    const waits = [...ship.output().matchAll(/acme: broken\.example: failed \((\d+) in a row\).*next attempt in (\d+) s/g)].map((m) => Number(m[2]));
    assert.deepEqual(waits.slice(0, 3), [2, 4, 8], `backoff doubles: ${waits.join(', ')}`);
    const row = (await certs()).find((r) => r.name === 'broken.example');
    assert.ok(row && row.failures >= 3, JSON.stringify(row));
    assert.equal(row.source, null);
    assert.match(row.lastError ?? '', /127\.0\.0\.2|connection refused|connect/i);
    const text = await cli(dataDir, 'certs');
    assert.match(text.stdout, /^broken\.example\s+none\s.*in a row\):/m, text.stdout);
    assert.match(text.stdout, /^a\.example\s+acme\s/m);
    // The other names are served all the same.
    assert.equal((await curlHttps('b.example', https, pebble.rootFile, '/')).code, 0);
  });

  test('an HQ certificate is served for its name; a mismatched key is an HQ problem and changes nothing that serves', async () => {
    const r = await waitFor(async () => {
      const c = await curlHttps('hq.example', https, hqCa.certFile, '/a/');
      return c.code === 0 ? c : null;
    }, 'hq.example over https', 60_000, 500);
    assert.match(r.stdout, /"greeting":\s*"a0"/);
    assert.equal((await peerCertificate(https, 'hq.example')).serialNumber, hqSerial);
    assert.equal((await certs()).find((c) => c.name === 'hq.example')?.source, 'hq');
    // A key of another certificate: refused when HQ is read.
    commit(hq, { 'ssl/hq.example.key': hqCa.leaf(['hq.example']).key });
    const problem = await waitFor(async () => {
      const s = await cli(dataDir, 'status', '--json');
      const problems = (JSON.parse(s.stdout) as { problems: string[] }).problems;
      return problems.find((p) => p.startsWith('ssl/hq.example.key'));
    }, 'the HQ problem of the bad key', 60_000, 500);
    assert.match(problem, /does not match the certificate in ssl\/hq\.example\.crt/);
    assert.equal((await peerCertificate(https, 'hq.example')).serialNumber, hqSerial, 'the good certificate still serves');
    assert.equal(readFileSync(join(tlsPaths.serve(dataDir), 'hq.example.crt'), 'utf8').includes('BEGIN CERTIFICATE'), true);
    const again = await curlHttps('hq.example', https, hqCa.certFile, '/a/');
    assert.equal(again.code, 0, again.stderr);
  });
});
