import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluateOrders } from '../../../src/headquarters/orders.js';
import { tmpDir } from '../../helpers/tmp.js';

async function evalText(text: string, timeoutMs = 5000) {
  const dir = tmpDir('sp-orders-');
  writeFileSync(join(dir, 'orders'), text);
  return evaluateOrders(join(dir, 'orders'), 'svc/orders', dir, timeoutMs);
}

test('orders: verbs and exports make typed orders', async () => {
  const r = await evalText(['# a comment', 'autodeploy https://example.com/app.git#v1.2', 'export FOO="bar baz"', 'export PORT=3000', 'LOCAL=1', 'proxy_for app.example.com www.example.com', 'unpublished', ''].join('\n'));
  assert.deepEqual(r.problems, []);
  assert.ok(r.orders);
  assert.equal(r.orders.giturl, 'https://example.com/app.git');
  assert.equal(r.orders.ref, 'v1.2');
  assert.deepEqual(r.orders.env, { FOO: 'bar baz', PORT: '3000' });
  assert.equal(r.orders.unpublished, true);
  assert.deepEqual(r.orders.proxyFor, ['app.example.com', 'www.example.com']);
});

test('orders: no #ref means the default branch; bash features work', async () => {
  const r = await evalText('NAME=app\nautodeploy "file:///srv/$NAME"\nif true; then export X=$((6*7)); fi\n');
  assert.deepEqual(r.problems, []);
  assert.equal(r.orders?.giturl, 'file:///srv/app');
  assert.equal(r.orders?.ref, undefined);
  assert.equal(r.orders?.env.X, '42');
});

test('orders: an unknown verb is an error with its line', async () => {
  const r = await evalText('autodeploy x\n\npublish --private 3000 --public 80\n');
  assert.equal(r.orders, null);
  assert.deepEqual(r.problems.map((p) => [p.file, p.line, p.message]), [['svc/orders', 3, "unknown verb 'publish'"]]);
});

test('orders: output on stdout is an error with the line that printed it', async () => {
  const r = await evalText('autodeploy x\necho hello\n');
  assert.equal(r.orders, null);
  assert.equal(r.problems.length, 1);
  assert.equal(r.problems[0]?.line, 2);
  assert.match(r.problems[0]?.message ?? '', /printed on stdout: "hello"/);
});

test('orders: a failing command makes a non-zero exit, reported at its line', async () => {
  const r = await evalText('autodeploy x\nfalse\n');
  assert.equal(r.orders, null);
  assert.deepEqual(r.problems.map((p) => [p.line, p.message]), [[2, 'exited with status 1']]);
  const r2 = await evalText('autodeploy x\nexit 3\n');
  assert.equal(r2.orders, null);
  assert.match(r2.problems.map((p) => p.message).join(), /exited with status 3/);
});

test('orders: a syntax error names its line', async () => {
  const r = await evalText('autodeploy x\nif then\n');
  assert.equal(r.orders, null);
  assert.ok(r.problems.some((p) => p.line === 2 && /syntax error/.test(p.message)), JSON.stringify(r.problems));
});

test('orders: missing autodeploy, two autodeploys, bad arguments', async () => {
  assert.match((await evalText('export A=1\n')).problems[0]?.message ?? '', /no autodeploy/);
  const two = await evalText('autodeploy a\nautodeploy b\n');
  assert.deepEqual(two.problems.map((p) => p.line), [2]);
  const args = await evalText('autodeploy a b\n');
  assert.match(args.problems[0]?.message ?? '', /exactly one git url/);
  const ref = await evalText('autodeploy "a#bad ref"\n');
  assert.match(ref.problems[0]?.message ?? '', /white space|bad ref/);
  const port = await evalText('autodeploy a\nexport PORT=http\n');
  assert.match(port.problems[0]?.message ?? '', /PORT must be a port number/);
  const host = await evalText('autodeploy a\nproxy_for "bad host"\n');
  assert.match(host.problems[0]?.message ?? '', /not a hostname/);
});

test('orders: a hanging orders file fails after the time limit, with its children killed', async () => {
  const started = Date.now();
  const r = await evalText('autodeploy x\nsleep 1000 &\nsleep 1000\n', 1000);
  assert.equal(r.orders, null);
  assert.match(r.problems.map((p) => p.message).join(), /did not finish within 1 s/);
  // Not a performance assertion: proof that the evaluation returned instead of waiting for sleep 1000.
  assert.ok(Date.now() - started < 100_000);
});

test('orders: the environment is clean', async () => {
  process.env.SHOULD_NOT_LEAK = 'secret';
  const r = await evalText('autodeploy x\n[ -z "$SHOULD_NOT_LEAK" ] || export LEAKED=1\n');
  delete process.env.SHOULD_NOT_LEAK;
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.orders?.env, {});
});
