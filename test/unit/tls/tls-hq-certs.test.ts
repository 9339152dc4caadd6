import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { readHeadquarters } from '../../../src/headquarters/layout.js';
import { checkHqCertificate } from '../../../src/headquarters/ssl.js';
import { makeTestCa, type TestCa } from '../../helpers/tls-ca.js';
import { tmpDir } from '../../helpers/tmp.js';

const DAY = 86_400_000;

/** HQ ssl/: each bad pair is a problem naming its file, and only good pairs are certificates. */
describe('HQ ssl/ certificates', () => {
  const dir = tmpDir('sp-tls-hq-');
  let ca: TestCa;
  let other: TestCa;

  before(() => {
    mkdirSync(join(dir, 'ca'));
    mkdirSync(join(dir, 'other'));
    ca = makeTestCa(join(dir, 'ca'));
    other = makeTestCa(join(dir, 'other'), 'another CA');
  });

  test('a good pair is a certificate; within 14 days of its end it is still served, with a warning', () => {
    const l = ca.leaf(['www.example'], { days: 30 });
    const ok = checkHqCertificate('www.example', l.cert, l.key);
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.cert?.name, 'www.example');
    assert.match(ok.cert?.issuer ?? '', /starphleet test CA/);
    const soon = checkHqCertificate('www.example', l.cert, l.key, Date.now() + 20 * DAY);
    assert.ok(soon.cert, 'still served');
    assert.equal(soon.problems[0]?.file, 'ssl/www.example.crt');
    assert.match(soon.problems[0]?.message ?? '', /^warning: expires in \d+ day/);
  });

  test('expired, not covering the name, wrong key, missing key, garbage and a chain out of order are refused, naming the file', () => {
    const l = ca.leaf(['www.example'], { days: 30 });
    const cases: [string, ReturnType<typeof checkHqCertificate>, string, RegExp][] = [
      ['expired', checkHqCertificate('www.example', l.cert, l.key, Date.now() + 40 * DAY), 'ssl/www.example.crt', /^expired on /],
      ['other name', checkHqCertificate('api.example', l.cert, l.key), 'ssl/api.example.crt', /does not cover api\.example/],
      ['wrong key', checkHqCertificate('www.example', l.cert, ca.leaf(['www.example']).key), 'ssl/www.example.key', /does not match the certificate in ssl\/www\.example\.crt/],
      ['no key', checkHqCertificate('www.example', l.cert, null), 'ssl/www.example.key', /^missing/],
      ['garbage key', checkHqCertificate('www.example', l.cert, 'hello'), 'ssl/www.example.key', /not a valid private key/],
      ['no certificate', checkHqCertificate('www.example', 'hello', l.key), 'ssl/www.example.crt', /no PEM certificate/],
      ['chain of another CA', checkHqCertificate('www.example', l.cert.split(/(?<=-----END CERTIFICATE-----\n)/)[0] + other.leaf(['x.example']).cert.split(/(?<=-----END CERTIFICATE-----\n)/)[1], l.key), 'ssl/www.example.crt', /did not issue certificate 1/],
    ];
    for (const [what, r, file, message] of cases) {
      assert.equal(r.cert, null, what);
      assert.equal(r.problems.length, 1, what);
      assert.equal(r.problems[0]?.file, file, what);
      assert.match(r.problems[0]?.message ?? '', message, what);
    }
  });

  test('readHeadquarters: good pairs served, bad ones rejected by name, stray and symlinked files reported', async () => {
    const hq = join(dir, 'hq');
    mkdirSync(join(hq, 'ssl'), { recursive: true });
    const good = ca.leaf(['good.example']);
    const bad = ca.leaf(['bad.example']);
    writeFileSync(join(hq, 'ssl', 'good.example.crt'), good.cert);
    writeFileSync(join(hq, 'ssl', 'good.example.key'), good.key);
    writeFileSync(join(hq, 'ssl', 'bad.example.crt'), bad.cert);
    writeFileSync(join(hq, 'ssl', 'bad.example.key'), good.key);
    writeFileSync(join(hq, 'ssl', 'lonely.example.key'), good.key);
    writeFileSync(join(hq, 'ssl', 'Upper.Example.crt'), good.cert);
    writeFileSync(join(hq, 'ssl', 'notes.txt'), 'hi');
    symlinkSync('/etc/ssl/private/whatever.key', join(hq, 'ssl', 'link.example.crt'));
    const d = await readHeadquarters(hq, { sha: null, evalTimeoutMs: 10_000 });
    assert.deepEqual(d.ssl?.certs.map((c) => c.name), ['good.example']);
    assert.deepEqual(d.ssl?.rejected, ['bad.example']);
    const msgs = d.problems.map((p) => `${p.file}: ${p.message}`);
    for (const want of [/^ssl\/bad\.example\.key: does not match/, /^ssl\/lonely\.example\.key: no lonely\.example\.crt/, /^ssl\/Upper\.Example\.crt: the file name must be the host name/, /^ssl\/notes\.txt: not a certificate/, /^ssl\/link\.example\.crt: symlink/]) {
      assert.ok(msgs.some((m) => want.test(m)), `${want} among:\n${msgs.join('\n')}`);
    }
    // ssl/ is HQ config, never a mount path.
    assert.ok(!d.problems.some((p) => p.file === 'ssl' || /URL path/.test(p.message)), msgs.join('\n'));
  });
});
