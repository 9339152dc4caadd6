import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signPhleetRequest, withPhleetProof } from '../../../src/admiral/sign-request.js';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import type { Admiral } from '../../../src/headquarters/types.js';
import { decodeProof, encodeProof } from '../../../src/phleet/request-proof.js';
import { verifyProof } from '../../../src/phleet/verify-proof.js';
import { phleetExec } from '../../../src/server/access/phleet-exec.js';
import { visible } from '../../../src/util/terminal-safe.js';
import { makeKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

function admirals(file: string, text: string): Admiral[] {
  const r = parseAuthorizedKeyFile(text, file);
  assert.ok(r.admiral, JSON.stringify(r.problems));
  return [r.admiral];
}

describe('terminal-safe output', () => {
  it('shows OSC 0/52, CSI erase and cursor moves as text; keeps newline, tab and CRLF; is idempotent', () => {
    const hostile = 'a\x1b]0;pwned\x07b\x1b]52;c;cHduZWQ=\x1b\\c\x1b[2K\x1b[1A\x1b[Hd\re\r\nf\tg\x7f\x9b31m\u202eevil';
    const shown = visible(hostile);
    assert.equal(shown, 'a^[]0;pwned^Gb^[]52;c;cHduZWQ=^[\\c^[[2K^[[1A^[[Hd^Me\r\nf\tg^?M-^[31m<U+202E>evil');
    assert.equal(visible(shown), shown);
    assert.doesNotMatch(shown, /[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f]/);
  });
});

describe('admiral-signed phleet requests', () => {
  const dir = tmpDir('sp-proof-');
  const admiral = makeKey(dir, 'admiral');
  const other = makeKey(dir, 'not-an-admiral');
  const forced = makeKey(dir, 'forced');
  const hq = [...admirals('authorized_keys/admiral', admiral.pub), ...admirals('authorized_keys/forced', `command="true" ${forced.pub}`)];
  const env = (key: string): NodeJS.ProcessEnv => ({ ...process.env, STARPHLEET_ADMIRAL_KEY: key });

  it("an admiral's request is good once, for its operation and service, for five minutes", async () => {
    const token = await signPhleetRequest('logs', 'web', env(admiral.privatePath));
    await assert.rejects(verifyProof(token, 'logs-follow', 'web', hq), /the proof is for logs web, not logs-follow web/);
    await assert.rejects(verifyProof(token, 'logs', 'api', hq), /not logs api/);
    await assert.rejects(verifyProof(token, 'logs', 'web', hq, Date.now() + 301_000), /signed 30\d s ago/);
    const ok = await verifyProof(token, 'logs', 'web', hq);
    assert.equal(ok.admiral, 'authorized_keys/admiral');
    assert.equal(ok.fingerprint, admiral.fingerprint);
    await assert.rejects(verifyProof(token, 'logs', 'web', hq), /was used here before/);
  });

  it('refuses a request signed by a key that is no admiral, or only a forced command', async () => {
    await assert.rejects(verifyProof(await signPhleetRequest('logs', 'web', env(other.privatePath)), 'logs', 'web', hq), /not signed by an admiral's key in HQ/);
    await assert.rejects(verifyProof(await signPhleetRequest('logs', 'web', env(forced.privatePath)), 'logs', 'web', hq), /not signed by an admiral's key in HQ/);
  });

  it('refuses a request whose fields were changed after signing (a ship widening it)', async () => {
    const token = await signPhleetRequest('logs', 'web', env(admiral.privatePath));
    const d = decodeProof(token);
    assert.ok(typeof d !== 'string');
    const widened = encodeProof({ ...d.request, service: 'secrets' }, d.signature);
    await assert.rejects(verifyProof(widened, 'logs', 'secrets', hq), /does not verify/);
    const later = encodeProof({ ...d.request, issued: d.request.issued + 30 }, d.signature);
    await assert.rejects(verifyProof(later, 'logs', 'web', hq), /does not verify/);
    await assert.rejects(verifyProof('bm90IGEgdG9rZW4gYXQgYWxs', 'logs', 'web', hq), /no JSON inside|no known operation/);
  });

  it('-s <ship> phleet logs|redeploy adds a fresh proof; other commands go as typed', async () => {
    const argv = await withPhleetProof(['phleet', 'logs', 'web', '-f'], env(admiral.privatePath));
    assert.deepEqual(argv.slice(0, 5), ['phleet', 'logs', 'web', '-f', '--proof']);
    const d = decodeProof(argv[5] as string);
    assert.ok(typeof d !== 'string' && d.request.op === 'logs-follow' && d.request.service === 'web');
    assert.deepEqual(await withPhleetProof(['phleet', 'status']), ['phleet', 'status']);
    assert.deepEqual(await withPhleetProof(['logs', 'web']), ['logs', 'web']);
  });

  it('the gate lets user ship run logs and redeploy only with a proof, rebuilt from checked words', () => {
    const t = 'eyJvcCI6ImxvZ3MiLCJzZXJ2aWNlIjoid2ViIn0';
    assert.deepEqual(phleetExec('starphleet status --json'), { allow: true, serve: { kind: 'exec', command: 'starphleet status --json' } });
    assert.deepEqual(phleetExec(`starphleet  logs web --raw -f --proof ${t}`), { allow: true, serve: { kind: 'exec', command: `starphleet logs web -f --raw --proof ${t}` } });
    assert.deepEqual(phleetExec(`starphleet redeploy a.b --proof ${t}`), { allow: true, serve: { kind: 'exec', command: `starphleet redeploy a.b --proof ${t}` } });
    for (const bad of ['starphleet logs web', 'starphleet logs web -f', 'starphleet redeploy web', `starphleet logs web --proof ${t};id`, `starphleet logs web --proof $(id)${t}`, `starphleet logs web --proof ${t} --proof ${t}`, `starphleet redeploy web -f --proof ${t}`, 'starphleet logs web --proof', `starphleet status --json --proof ${t}`]) {
      assert.equal(phleetExec(bad), null, bad);
    }
  });
});
