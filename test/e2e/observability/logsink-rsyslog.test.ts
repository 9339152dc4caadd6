import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { formatMessage, octetFrame } from '../../../src/logsink/rfc5424.js';
import { parseSinkTarget } from '../../../src/logsink/target.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { statusServices } from '../../helpers/phleet.js';
import { Rsyslog, type SyslogRecord } from '../../helpers/rsyslog.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * STARPHLEET_LOG_SINK against Debian's rsyslogd, started here on loopback with its own config: a real instance's
 * lines (and its build log) arrive as RFC 5424 with ship, service, release and process as structured data; rsyslogd
 * is restarted mid-stream and every line the instance had written by then arrives (repeats allowed, same seq).
 */
const root = tmpDir('sp-ls-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
let ship: ShipProcess;
let rsyslog: Rsyslog;

const TICK = /^tick ([0-9]+)$/;

function instanceLog(): string {
  const dir = join(dataDir, 'logs', 'ticker');
  const name = readdirSync(dir).find((n) => /^instance-.*-web\.1\.log$/.test(n));
  if (!name) throw new Error('no instance log yet');
  return join(dir, name);
}

const fromTicker = (r: SyslogRecord): boolean => r.sd.service === 'ticker' && r.msgid === 'instance';
const maxTick = (): number => Math.max(0, ...rsyslog.records().filter(fromTicker).map((r) => Number(TICK.exec(r.msg)?.[1] ?? 0)));

before(async () => {
  rsyslog = new Rsyslog(join(root, 'rsyslog'), await freePort(), await freePort());
  await rsyslog.start();
  fixtureRepo('log-app', app);
  initRepo(hq, {
    '.starphleet': `export STARPHLEET_LOG_SINK=syslog+tcp://127.0.0.1:${rsyslog.tcpPort}\n`,
    'ticker/orders': `autodeploy ${app}\n`,
  });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'process' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await rsyslog?.stop();
});

describe('the format', () => {
  test('RFC 5424 with escaped structured data, octet-counted; bad settings are named', () => {
    const m = formatMessage({ ship: 's1', service: 'a.b', release: 'r', process: 'web.1', kind: 'instance', file: 'f.log', seq: 7, text: 'x "y" \\ ]z\x07', at: new Date(0) });
    assert.equal(m, '<14>1 1970-01-01T00:00:00.000Z s1 a.b web.1 instance [starphleet@32473 ship="s1" service="a.b" release="r" process="web.1" kind="instance" file="f.log" seq="7"] x "y" \\ ]z ');
    assert.equal(octetFrame('héllo').toString(), '6 héllo');
    const long = formatMessage({ ship: 's', service: 'a', release: 'r', process: 'p', kind: 'k', file: 'f', seq: 1, text: 'é'.repeat(10_000), at: new Date(0) });
    assert.ok(Buffer.byteLength(long) <= 8000 && long.endsWith('...'));
    assert.deepEqual(parseSinkTarget('syslog+udp://[::1]:514', 'X'), { transport: 'udp', host: '::1', port: 514, label: 'syslog+udp://[::1]:514' });
    assert.equal(parseSinkTarget('off', 'X'), null);
    assert.throws(() => parseSinkTarget('tcp://host:514', '.starphleet STARPHLEET_LOG_SINK'), /^Error: \.starphleet STARPHLEET_LOG_SINK must be syslog\+tcp:\/\/host:port/);
  });
});

describe('rsyslog on loopback', () => {
  test("an instance's lines arrive with the ship, service, release and process; its build log too", async () => {
    await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === 'ticker')?.state === 'serving', 'ticker serving', 240_000, 500);
    await waitFor(() => maxTick() >= 20, 'ticks at rsyslog', 60_000, 200);
    const recs = rsyslog.records().filter(fromTicker);
    const r = recs.find((x) => x.msg === 'tick 1');
    assert.ok(r, 'tick 1 arrived');
    assert.equal(r.hostname, 'testship');
    assert.equal(r.app, 'ticker');
    assert.equal(r.procid, 'web.1');
    assert.equal(r.sd.ship, 'testship');
    assert.equal(r.sd.process, 'web.1');
    assert.match(r.sd.release ?? '', /^[0-9]{14}-[0-9a-f]{7}/);
    assert.ok(recs.some((x) => x.msg.endsWith('with "quotes", a backslash \\ and a ] bracket')), 'a line with characters structured data must escape');
    const build = rsyslog.records().filter((x) => x.sd.service === 'ticker' && x.msgid === 'build');
    assert.ok(build.length > 0, 'build log lines arrive');
    assert.equal(build[0]?.procid, 'build');
  });

  /** Every line of the instance log up to `tick <upTo>` arrived at rsyslog with its text, by seq (line number). */
  function checkAll(upTo: number, what: string): void {
    const file = readFileSync(instanceLog(), 'utf8').split('\n');
    const bySeq = new Map<number, string>();
    let dups = 0;
    for (const x of rsyslog.records().filter(fromTicker)) {
      const seq = Number(x.sd.seq);
      if (bySeq.has(seq)) dups++;
      bySeq.set(seq, x.msg);
    }
    const last = file.findIndex((l) => l === `tick ${upTo}`);
    assert.ok(last > 0);
    const missing: number[] = [];
    for (let i = 0; i <= last; i++) if (bySeq.get(i + 1) !== file[i]) missing.push(i + 1);
    assert.deepEqual(missing, [], `lines missing or wrong at rsyslog (of ${last + 1})`);
    console.log(`# ${what}: ${last + 1} lines checked, ${dups} arrived twice (same seq)`);
  }

  test('a restart of rsyslog mid-stream loses no line the instance had written', async () => {
    const before = maxTick();
    await rsyslog.stop();
    // The instance goes on writing while nothing listens.
    const written = await waitFor(() => {
      const n = readFileSync(instanceLog(), 'utf8').split('\n').filter((l) => TICK.test(l)).length;
      return n >= before + 100 ? n : null;
    }, '100 more ticks written', 60_000, 100);
    await rsyslog.start();
    await waitFor(() => maxTick() >= written + 50, `ticks past ${written} at the restarted rsyslog`, 120_000, 200);
    checkAll(written + 50, `restart (${before} ticks before it, ${written} written by its end)`);
    assert.match(ship.output(), /log sink: syslog\+tcp:\/\/127\.0\.0\.1:[0-9]+: .*; lines not confirmed are sent again/);
    assert.match(ship.output(), /log sink: syslog\+tcp:\/\/127\.0\.0\.1:[0-9]+: connected again/);
  });

  test('rsyslog frozen (lines sit unread in its socket), then killed -9: those lines are sent again', async () => {
    await waitFor(() => maxTick() > 0, 'ticks', 60_000, 200);
    await rsyslog.freezeThenKill(2000);
    const killedAt = Number(/tick ([0-9]+)\n$/.exec(readFileSync(instanceLog(), 'utf8'))?.[1] ?? 0);
    await rsyslog.start();
    await waitFor(() => maxTick() >= killedAt + 50, `ticks past ${killedAt} after the kill`, 120_000, 200);
    checkAll(killedAt + 50, 'freeze and kill -9');
  });

  test('syslog+udp:// from HQ .starphleet: lines go as datagrams, nothing redeploys', async () => {
    const release = (await statusServices(dataDir)).find((s) => s.name === 'ticker')?.release;
    commit(hq, { '.starphleet': `export STARPHLEET_LOG_SINK=syslog+udp://127.0.0.1:${rsyslog.udpPort}\n` });
    await ship.waitForLog(/log sink: instance, build and deploy log lines go to syslog\+udp:\/\/127\.0\.0\.1:/);
    const seen = maxTick();
    await waitFor(() => maxTick() >= seen + 50, 'ticks over UDP', 60_000, 200);
    assert.equal((await statusServices(dataDir)).find((s) => s.name === 'ticker')?.release, release, 'a ship setting redeploys nothing');
  });
});
