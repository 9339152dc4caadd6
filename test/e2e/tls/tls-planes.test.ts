import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PlaneClient } from '../../../src/dataplane/ship-side/plane-client.js';
import { stopDataPlane } from '../../../src/dataplane/ship-side/plane-process.js';
import { tlsPaths } from '../../../src/data-dir/tls-paths.js';
import type { WireTable } from '../../../src/dataplane/protocol/wire.js';
import { silent } from '../../../src/log.js';
import { writePair } from '../../../src/tls/cert-files.js';
import { curl, curlHttps, loadLoop, peerCertificate } from '../../helpers/https-client.js';
import { PLANES } from '../../helpers/planes.js';
import { startDataPlaneUnderTest } from '../../helpers/plane-under-test.js';
import { makeTestCa, type TestCa } from '../../helpers/tls-ca.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** A backend that says who it is and what it was asked (as a service instance would). */
function backend(name: string): Promise<Server> {
  const s = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${name} ${req.url ?? ''} proto=${String(req.headers['x-forwarded-proto'])}\n`);
  });
  return new Promise((r) => s.listen(0, '127.0.0.1', () => r(s)));
}

const portOf = (s: Server): number => (s.address() as AddressInfo).port;

for (const kind of PLANES) {
  describe(`HTTPS on the ${kind} data plane`, { timeout: 300_000 }, () => {
    const dir = tmpDir(`sp-tls-${kind}-`);
    const dataDir = join(dir, 'data');
    let ca: TestCa;
    let plane: PlaneClient;
    let a: Server;
    let b: Server;
    let https = 0;
    let http = 0;

    before(async () => {
      mkdirSync(join(dir, 'ca'));
      ca = makeTestCa(join(dir, 'ca'));
      for (const n of ['a.example', 'b.example', 's.example']) writePair(tlsPaths.serve(dataDir), n, ca.leaf([n]));
      writeFileSync(join(tlsPaths.serve(dataDir), 'default'), 'b.example\n');
      [a, b] = [await backend('A'), await backend('B')];
      plane = await startDataPlaneUnderTest({ dataDir, kind, listen: '127.0.0.1', port: 0, httpsPort: 0, log: silent, onEvent: () => undefined });
      https = plane.httpsPort ?? 0;
      http = plane.port;
      assert.ok(https > 0, 'the data plane reports its https port');
      const up = (s: Server, id: string) => ({ id, upstream: { kind: 'tcp' as const, host: '127.0.0.1', port: portOf(s) } });
      const table: WireTable = {
        routes: [
          { mount: '/a', service: 'a', instance: up(a, 'a1'), hosts: ['a.example'], auth: null },
          { mount: '/b', service: 'b', instance: up(b, 'b1'), hosts: ['b.example'], auth: null },
          { mount: '/s', service: 's', instance: up(a, 'a1'), hosts: ['s.example'], auth: null, httpsOnly: true },
        ],
      };
      await plane.setTable(table);
    });

    after(async () => {
      plane?.close();
      await stopDataPlane(dataDir);
      a?.close();
      b?.close();
    });

    test('each name gets its own certificate by SNI and answers from its own service (curl --cacert --resolve)', async () => {
      const ra = await curlHttps('a.example', https, ca.certFile, '/x');
      assert.equal(ra.code, 0, ra.stderr);
      assert.equal(ra.stdout, 'A /x proto=https\n');
      const rb = await curlHttps('b.example', https, ca.certFile, '/y');
      assert.equal(rb.stdout, 'B /y proto=https\n', rb.stderr);
      // Mounts work over TLS too, for any name with a certificate.
      const mount = await curlHttps('a.example', https, ca.certFile, '/b/z', ['-H', 'host: nohost.example']);
      assert.equal(mount.stdout, 'B /z proto=https\n', mount.stderr);
      assert.match((await peerCertificate(https, 'a.example')).subjectaltname ?? '', /DNS:a\.example/);
      assert.match((await peerCertificate(https, 'b.example')).subjectaltname ?? '', /DNS:b\.example/);
      // A name without a certificate of its own gets the default one (serve/default names it).
      assert.match((await peerCertificate(https, 'unknown.example')).subjectaltname ?? '', /DNS:b\.example/);
    });

    test('TLS 1.2 and 1.3 only; HTTP/2 by ALPN', async () => {
      const old = await curlHttps('a.example', https, ca.certFile, '/', ['--tlsv1.1', '--tls-max', '1.1']);
      assert.notEqual(old.code, 0, 'TLS 1.1 is refused');
      for (const v of ['1.2', '1.3']) {
        const r = await curlHttps('a.example', https, ca.certFile, '/', [`--tlsv${v}`, '--tls-max', v, '-o', '/dev/null', '-w', '%{http_version}']);
        assert.equal(r.code, 0, `TLS ${v}: ${r.stderr}`);
      }
      const h2 = await curlHttps('a.example', https, ca.certFile, '/', ['--http2', '-o', '/dev/null', '-w', '%{http_version}']);
      assert.equal(h2.stdout, '2', h2.stderr);
    });

    test('ACME HTTP-01 answers come from tls/challenges/, and nothing else can be named', async () => {
      mkdirSync(tlsPaths.challenges(dataDir), { recursive: true });
      writeFileSync(join(tlsPaths.challenges(dataDir), 'tok_en-1'), 'tok_en-1.thumbprint');
      writeFileSync(join(tlsPaths.serve(dataDir), 'secret'), 'not for you');
      const r = await curl(['-H', 'host: a.example', `http://127.0.0.1:${http}/.well-known/acme-challenge/tok_en-1`]);
      assert.equal(r.stdout, 'tok_en-1.thumbprint');
      for (const p of ['../serve/secret', '..%2fserve%2fsecret', 'missing']) {
        const bad = await curl(['--path-as-is', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${http}/.well-known/acme-challenge/${p}`]);
        assert.notEqual(bad.stdout, '200', p);
      }
    });

    test('HTTPS_ONLY: plain HTTP gets a 308 to https, TLS answers carry Strict-Transport-Security', async () => {
      const r = await curl(['-i', '-H', 'host: s.example', `http://127.0.0.1:${http}/p?q=1`]);
      assert.match(r.stdout, /^HTTP\/1\.1 308/);
      assert.match(r.stdout, new RegExp(`location: https://s\\.example:${https}/p\\?q=1`, 'i'));
      const s = await curlHttps('s.example', https, ca.certFile, '/p', ['-i']);
      assert.match(s.stdout, /strict-transport-security: max-age=31536000/i, s.stdout);
      assert.match(s.stdout, /A \/p proto=https/);
      // Other services stay on plain HTTP without HSTS.
      const plain = await curl(['-i', '-H', 'host: a.example', `http://127.0.0.1:${http}/`]);
      assert.match(plain.stdout, /^HTTP\/1\.1 200/);
      assert.doesNotMatch(plain.stdout, /strict-transport-security/i);
    });

    test('a new certificate is loaded without a failed request under load', async () => {
      const before = (await peerCertificate(https, 'a.example')).serialNumber;
      const load = loadLoop(https, 'a.example', ca.certFile);
      // The loop's own first answer, on the certificate served now (a check by another connection did not wait for it:
      // a fast run reloaded before the loop's first request was answered).
      await waitFor(() => load.seen().includes(before), 'the load loop answered on the current certificate');
      const next = ca.leaf(['a.example']);
      const want = new X509Certificate(next.cert).serialNumber;
      writePair(tlsPaths.serve(dataDir), 'a.example', next);
      const changed = await plane.reloadTls();
      assert.ok(changed.includes('a.example'), `reload reports a.example: ${changed.join(',')}`);
      await waitFor(async () => (await peerCertificate(https, 'a.example')).serialNumber === want, 'the new certificate served', 60_000);
      // Some requests on the new certificate too.
      await new Promise((r) => setTimeout(r, 500));
      const res = await load.stop();
      assert.deepEqual(res.failed, [], 'no request failed');
      assert.ok(res.ok > 5, `requests went through (${res.ok})`);
      assert.deepEqual(res.serials.slice(-1), [want], `serials seen: ${res.serials.join(' -> ')}`);
      assert.ok(res.serials.includes(before));
    });

    if (kind === 'embedded') {
      test('a data plane that takes over (update) serves https on the same socket with the same certificates, no request failing', async () => {
        const oldPid = plane.pid;
        const serial = (await peerCertificate(https, 'b.example')).serialNumber;
        const load = loadLoop(https, 'b.example', ca.certFile);
        await new Promise((r) => setTimeout(r, 300));
        await plane.upgrade();
        assert.notEqual(plane.pid, oldPid);
        assert.equal(plane.httpsPort, https);
        await new Promise((r) => setTimeout(r, 500));
        const res = await load.stop();
        assert.deepEqual(res.failed, [], 'no request failed during the hand-over');
        assert.deepEqual(res.serials, [serial]);
        const r = await curlHttps('b.example', https, ca.certFile, '/after');
        assert.equal(r.stdout, 'B /after proto=https\n', r.stderr);
        // The old plane exits once nothing is open to it.
        await waitFor(() => {
          try {
            process.kill(oldPid, 0);
            return false;
          } catch {
            return true;
          }
        }, 'the old data plane gone', 60_000, 200);
      });
    }
  });
}
