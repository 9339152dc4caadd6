import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DesiredState } from '../../../src/headquarters/types.js';
import { acmeDirectory } from '../../../src/tls/acme-issuer.js';
import { renewalTime } from '../../../src/tls/cert-files.js';
import { certificateNames } from '../../../src/tls/cert-names.js';

const DAY = 86_400_000;

describe('TLS units', () => {
  test('renewal once two thirds of the lifetime have passed: 30 days before the end of a 90-day certificate', () => {
    const notBefore = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(renewalTime({ serial: '1', issuer: '', notBefore, notAfter: notBefore + 90 * DAY }), notBefore + 60 * DAY);
    assert.equal(renewalTime({ serial: '1', issuer: '', notBefore, notAfter: notBefore + 45_000 }), notBefore + 30_000);
  });

  test('STARPHLEET_ACME_DIRECTORY: production by default, staging, or an https URL; anything else is an error naming it', () => {
    assert.equal(acmeDirectory(undefined), 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(acmeDirectory('production'), 'https://acme-v02.api.letsencrypt.org/directory');
    assert.equal(acmeDirectory('staging'), 'https://acme-staging-v02.api.letsencrypt.org/directory');
    assert.equal(acmeDirectory('https://127.0.0.1:14000/dir'), 'https://127.0.0.1:14000/dir');
    assert.throws(() => acmeDirectory('http://ca.example/dir'), /STARPHLEET_ACME_DIRECTORY must be an https:\/\/ URL/);
  });

  test('the names needing certificates: every proxy_for name and STARPHLEET_HOSTNAME, once, lower case', () => {
    const svc = (proxyFor: string[]) => ({ orders: { proxyFor } });
    const d = { services: [svc(['A.example', 'b.example']), svc(['b.example'])], env: { STARPHLEET_HOSTNAME: 'Ship.Example' } } as unknown as DesiredState;
    assert.deepEqual(certificateNames(d), ['a.example', 'b.example', 'ship.example']);
  });
});
