import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { PlaneClient } from '../../../src/dataplane/ship-side/plane-client.js';
import { stopDataPlane } from '../../../src/dataplane/ship-side/plane-process.js';
import { tlsPaths } from '../../../src/data-dir/tls-paths.js';
import { silent } from '../../../src/log.js';
import { writePair } from '../../../src/tls/cert-files.js';
import { PLANES } from '../../helpers/planes.js';
import { startDataPlaneUnderTest } from '../../helpers/plane-under-test.js';
import { makeTestCa } from '../../helpers/tls-ca.js';
import { tmpDir } from '../../helpers/tmp.js';

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/**
 * Not in `npm test` (testssl.sh takes 1-1.5 min per plane on a loaded 2-core machine): `npm run test:testssl`, which
 * .ci/run runs after npm test.
 *
 * Debian's testssl.sh: offered protocols (-p) and the standard cipher categories (-s) only, which keeps it short. */
function testssl(port: number, jsonFile: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'testssl',
      ['--quiet', '--color', '0', '--warnings', 'batch', '--ip', '127.0.0.1', '-p', '-s', '--jsonfile', jsonFile, `a.example:${port}`],
      { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr }),
    );
  });
}

for (const kind of PLANES) {
  describe(`testssl.sh against the ${kind} data plane`, { timeout: 400_000 }, () => {
    const dir = tmpDir(`sp-testssl-${kind}-`);
    const dataDir = join(dir, 'data');
    let plane: PlaneClient;

    before(async () => {
      mkdirSync(join(dir, 'ca'));
      writePair(tlsPaths.serve(dataDir), 'a.example', makeTestCa(join(dir, 'ca')).leaf(['a.example']));
      plane = await startDataPlaneUnderTest({ dataDir, kind, listen: '127.0.0.1', port: 0, httpsPort: 0, log: silent, onEvent: () => undefined });
    });

    after(async () => {
      plane?.close();
      await stopDataPlane(dataDir);
    });

    test('no weak protocol or cipher: only TLS 1.2 and 1.3, no NULL/anon/export/low/3DES/obsolete CBC suites', async () => {
      const json = join(dir, 'testssl.json');
      const r = await testssl(plane.httpsPort ?? 0, json);
      const findings = JSON.parse(readFileSync(json, 'utf8')) as Finding[];
      const by = (id: string): string => findings.find((f) => f.id === id)?.finding ?? `(${id} missing)\n${r.out}`;
      for (const p of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(by(p), /^not offered/, `${p}: ${by(p)}`);
      assert.match(by('TLS1_2'), /^offered/);
      assert.match(by('TLS1_3'), /^offered/);
      assert.match(by('cipherlist_STRONG'), /^offered/);
      for (const c of ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW', 'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']) {
        assert.match(by(c), /^not offered/, `${c}: ${by(c)}`);
      }
      const bad = findings.filter((f) => ['MEDIUM', 'HIGH', 'CRITICAL'].includes(f.severity));
      assert.deepEqual(bad, [], 'testssl.sh reports nothing of medium severity or worse');
    });
  });
}
