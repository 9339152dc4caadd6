import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { evaluateOrders } from '../../../src/headquarters/orders.js';
import { ordersDigestText } from '../../../src/headquarters/traffic-orders.js';
import { inlinePage, MAX_PAGE_BYTES, parseFlags } from '../../../src/commands/traffic/traffic-args.js';
import { parseDuration } from '../../../src/util/duration.js';
import { parseAppJson } from '../../../src/agent/releases/app-json.js';
import { tmpDir } from '../../helpers/tmp.js';

/** The checks on what an HQ orders file and an admiral's command line say about traffic (#34). */
async function evalText(text: string) {
  const dir = tmpDir('sp-trorders-');
  writeFileSync(join(dir, 'orders'), text);
  return evaluateOrders(join(dir, 'orders'), 'web/orders', dir, 5000);
}

test('maintenance in orders: message and allowed paths; absent when not given', async () => {
  const r = await evalText('autodeploy /srv/app\nmaintenance --allow /up Moving to a new --allow /health database\n');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.orders?.maintenance, { message: 'Moving to a new database', allow: ['/up', '/health'] });
  const bare = await evalText('autodeploy /srv/app\nmaintenance\n');
  assert.deepEqual(bare.orders?.maintenance, { message: '', allow: [] });
  assert.equal((await evalText('autodeploy /srv/app\n')).orders?.maintenance, undefined);
});

test('maintenance in orders: a hostile path or message is a problem naming the file and line, and no orders are used', async () => {
  const cases: [string, RegExp][] = [
    ['maintenance --allow ../etc', /^maintenance --allow: expected an absolute path of plain segments/],
    ['maintenance --allow /a/../b', /^maintenance --allow: expected an absolute path/],
    ['maintenance --allow /a/./b', /^maintenance --allow: expected an absolute path/],
    ['maintenance --allow "/a b"', /^maintenance --allow: expected an absolute path/],
    ['maintenance --allow "/a\\"b"', /^maintenance --allow: expected an absolute path/],
    ['maintenance --allow', /^maintenance --allow: needs a path/],
    ["maintenance $'two\\nlines'", /^maintenance: the message must be one line/],
    [`maintenance ${'x'.repeat(1100)}`, /^maintenance: the message must be one line of at most 1024 characters$/],
    ['maintenance a\nmaintenance b', /^maintenance given again \(first at line 2\)$/],
  ];
  for (const [line, want] of cases) {
    const r = await evalText(`autodeploy /srv/app\n${line}\n`);
    assert.equal(r.orders, null, line);
    assert.equal(r.problems.length, 1, `${line}: ${JSON.stringify(r.problems)}`);
    assert.equal(r.problems[0]?.file, 'web/orders');
    assert.ok((r.problems[0]?.line ?? 0) >= 2, `${line}: a line number`);
    assert.match(r.problems[0]?.message ?? '', want, line);
  }
});

test('release_pause in orders: seconds or a duration, null without one; bad values are problems', async () => {
  assert.equal((await evalText('autodeploy /srv/app\nrelease_pause\n')).orders?.releasePause, null);
  assert.equal((await evalText('autodeploy /srv/app\nrelease_pause 90\n')).orders?.releasePause, 90);
  assert.equal((await evalText('autodeploy /srv/app\nrelease_pause 2m\n')).orders?.releasePause, 120);
  assert.equal((await evalText('autodeploy /srv/app\n')).orders?.releasePause, undefined);
  for (const v of ['0', 'x', '-5', '2h', '1e9', '30 40']) {
    const r = await evalText(`autodeploy /srv/app\nrelease_pause ${v}\n`);
    assert.equal(r.orders, null, v);
    assert.equal(r.problems[0]?.line, 2, v);
    assert.match(r.problems[0]?.message ?? '', /^release_pause/, v);
  }
});

test('the orders digest ignores plain maintenance and release_pause lines only (switching them deploys nothing)', () => {
  const base = Buffer.from('autodeploy /srv/app\nexport A=1\n');
  const d = (s: string): string => ordersDigestText(Buffer.from(s)).toString('latin1');
  assert.equal(d('autodeploy /srv/app\nmaintenance --allow /up Back soon\nexport A=1\n'), d(base.toString()));
  assert.equal(d('autodeploy /srv/app\n  release_pause 60\nexport A=1\n'), d(base.toString()));
  // A line that does anything else besides (a command substitution, a second command) still counts.
  for (const l of ['maintenance $(export A=2)', 'maintenance; export A=2', 'maintenance `x`', 'maintenance && export A=2', 'maintenance_not_a_verb']) {
    assert.notEqual(d(`autodeploy /srv/app\n${l}\nexport A=1\n`), d(base.toString()), l);
  }
  assert.equal(ordersDigestText(base), base, 'no traffic verb: the bytes as they are');
});

test('durations: seconds by default, ms/s/m/h, bounded; anything else is null', () => {
  assert.equal(parseDuration('30', 3600), 30);
  assert.equal(parseDuration('30s', 3600), 30);
  assert.equal(parseDuration('1.5m', 3600), 90);
  assert.equal(parseDuration('500ms', 3600), 0.5);
  assert.equal(parseDuration('1h', 3600), 3600);
  for (const bad of ['', '0', '0s', '2h', '-1', '1e3', '1d', 's', '30 s', '١٢', '9999999999']) assert.equal(parseDuration(bad, 3600), null, bad);
});

test('command flags: --name value and --name=value, repeatable; unknown or valueless flags are errors', () => {
  const p = parseFlags(['shop', 'on', '--allow', '/a', '--allow=/b', '--message=x y'], ['--allow', '--message']);
  assert.ok(!('error' in p));
  assert.deepEqual(p.operands, ['shop', 'on']);
  assert.deepEqual(p.flags.get('--allow'), ['/a', '/b']);
  assert.deepEqual(p.flags.get('--message'), ['x y']);
  assert.deepEqual(parseFlags(['--evil', 'x'], ['--allow']), { error: 'unknown option --evil' });
  assert.deepEqual(parseFlags(['--allow'], ['--allow']), { error: '--allow needs a value' });
});

test('maintenance --page is read by the CLI, bounded, and only from a regular file (no FIFO, device, directory)', () => {
  const dir = tmpDir('sp-trpage-');
  const page = join(dir, 'page.html');
  writeFileSync(page, '<h1>Back soon</h1>');
  assert.deepEqual(inlinePage(['shop', 'on', '--page', page, '--allow', '/up']), ['shop', 'on', '--page-html', '<h1>Back soon</h1>', '--allow', '/up']);
  assert.deepEqual(inlinePage([`--page=${page}`]), ['--page-html', '<h1>Back soon</h1>']);
  const big = join(dir, 'big.html');
  writeFileSync(big, 'x'.repeat(MAX_PAGE_BYTES + 1));
  assert.throws(() => inlinePage(['--page', big]), /big\.html: 32769 bytes, more than 32768/);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  // Opened without blocking, then refused: a FIFO nobody writes to cannot hang the CLI.
  assert.throws(() => inlinePage(['--page', fifo]), /fifo: not a regular file/);
  const dev = join(dir, 'zero.html');
  symlinkSync('/dev/zero', dev);
  assert.throws(() => inlinePage(['--page', dev]), /zero\.html: not a regular file/);
  mkdirSync(join(dir, 'd'));
  assert.throws(() => inlinePage(['--page', join(dir, 'd')]), /not a regular file/);
  assert.throws(() => inlinePage(['--page', join(dir, 'missing')]), /missing: ENOENT/);
  assert.throws(() => inlinePage(['--page']), /--page needs a file/);
});

test("app.json scripts.release_pause: true, seconds or a duration; anything else fails the build naming the key's line", () => {
  const of = (v: string): number | null | undefined => parseAppJson(`{"scripts": {"release_pause": ${v}}}`).releasePause;
  assert.equal(of('true'), null);
  assert.equal(of('false'), undefined);
  assert.equal(of('90'), 90);
  assert.equal(of('"2m"'), 120);
  assert.equal(parseAppJson('{"scripts": {}}').releasePause, undefined);
  for (const bad of ['0', '-1', '3601', '"soon"', '"2h"', '[]', 'null']) {
    assert.throws(() => parseAppJson(`{\n  "scripts": {\n    "release_pause": ${bad}\n  }\n}`), /app\.json:3:\d+: scripts\.release_pause: expected true, or seconds/, bad);
  }
});
