import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { runSsh } from '../../helpers/ssh.js';
import { startViewShip, type ViewShip } from '../../helpers/view-ship.js';
import { sleep } from '../../helpers/wait.js';

/**
 * Maintenance and pause as an admiral drives them: OpenSSH's `ssh admiral@ship starphleet ...`, and curl as the
 * client. Hostile arguments through the same door are refused with a clear error and change nothing.
 */
const run = promisify(execFile);

interface Curl {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

async function curl(port: number, path: string, extra: readonly string[] = []): Promise<Curl> {
  const { stdout } = await run('curl', ['-sS', '-i', '--path-as-is', '-m', '60', ...extra, `http://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
  const at = stdout.indexOf('\r\n\r\n');
  const head = stdout.slice(0, at);
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(head)?.[1] ?? 0), headers: head.toLowerCase(), body: stdout.slice(at + 4) };
}

describe('traffic commands over ssh admiral@ship, curl as the client', { timeout: 600_000 }, () => {
  let v: ViewShip;
  const ssh = async (cmd: string): Promise<{ code: number | null; out: string; err: string }> => {
    const r = await runSsh({ key: v.admiral.privatePath, port: v.ship.sshPort, args: [cmd], timeoutMs: 60_000 });
    return { code: r.code, out: r.stdout.toString('utf8'), err: r.stderr };
  };

  before(async () => {
    v = await startViewShip();
  });
  after(async () => {
    await v?.stop();
  });

  test('maintenance on: curl gets 503, Retry-After and the page (HTML or text by Accept); the allowed path passes; audited with the key', async () => {
    const on = await ssh("starphleet maintenance site on --message 'Back at noon' --allow /up --retry-after 90");
    assert.equal(on.code, 0, on.err);
    assert.match(on.out, /site: under maintenance: 503 with Retry-After 90, except \/up/);
    const text = await curl(v.ship.httpPort, '/site/');
    assert.equal(text.status, 503);
    assert.match(text.headers, /\r\nretry-after: 90\r\n/);
    assert.equal(text.body, '503 Back at noon\n');
    const html = await curl(v.ship.httpPort, '/site/', ['-H', 'Accept: text/html']);
    assert.equal(html.status, 503);
    assert.match(html.headers, /content-type: text\/html/);
    assert.match(html.body, /Back at noon/);
    // /up is not a page of the static site: its answer comes from the instance (404), not the maintenance (503).
    assert.notEqual((await curl(v.ship.httpPort, '/site/up')).status, 503);
    // An allowed prefix cannot be climbed out of.
    assert.notEqual((await curl(v.ship.httpPort, '/site/up/../')).status, 200);
    const st = await ssh('starphleet status');
    assert.match(st.out, /site: under maintenance \(by admiral admiral SHA256:\S+\): Back at noon/);
    const audit = await ssh('starphleet audit');
    assert.match(audit.out, /starphleet maintenance site on --message Back at noon --allow \/up --retry-after 90/);
    const off = await ssh('starphleet maintenance site off');
    assert.equal(off.code, 0, off.err);
    assert.equal((await curl(v.ship.httpPort, '/site/')).status, 200);
  });

  test('pause over ssh holds a curl until resume over ssh; then it is answered 200', async () => {
    const p = await ssh('starphleet pause site --max-pause 60s');
    assert.equal(p.code, 0, p.err);
    assert.match(p.out, /site: paused/);
    const t0 = Date.now();
    let doneAt = 0;
    const held = curl(v.ship.httpPort, '/site/').then((r) => {
      doneAt = Date.now();
      return r;
    });
    await sleep(3000);
    assert.equal(doneAt, 0, 'the request is held while paused');
    const resumedAt = Date.now();
    const r = await ssh('starphleet resume site');
    assert.equal(r.code, 0, r.err);
    const got = await held;
    assert.equal(got.status, 200);
    assert.ok(doneAt >= resumedAt && doneAt - t0 >= 3000, `answered ${doneAt - t0} ms after it was sent`);
    assert.equal((await ssh('starphleet resume site')).code, 1, 'a second resume says it is not paused');
  });

  test('hostile arguments over ssh: refused with the reason, nothing changes', async () => {
    const big = 'x'.repeat(33 * 1024);
    const cases: [string, RegExp][] = [
      [`starphleet maintenance site on --page-html ${big}`, /--page: at most 32768 bytes/],
      ["starphleet maintenance site on --message \"$(printf 'a\\nb')\"", /--message: one line/],
      ['starphleet maintenance site on --allow ../../etc', /--allow: expected an absolute path/],
      ['starphleet maintenance site on --retry-after 1e9', /--retry-after: expected seconds/],
      ['starphleet maintenance site on --evil x', /unknown option --evil/],
      ['starphleet maintenance nosuch on', /no service named nosuch/],
      ['starphleet pause site --max-pause 2h', /--max-pause: expected a duration/],
      ["starphleet pause '../site'", /no service named \.\.\/site/],
      ['starphleet rollout site --percent 101', /percent/],
      ['starphleet rollout site --percent 5 --header "X-A:a b"', /--header: expected NAME:VALUE/],
    ];
    for (const [cmd, want] of cases) {
      const r = await ssh(cmd);
      assert.notEqual(r.code, 0, cmd.slice(0, 80));
      assert.match(r.err, want, cmd.slice(0, 80));
    }
    const st = await ssh('starphleet status --json');
    const site = (JSON.parse(st.out) as { services: { name: string; traffic: unknown }[] }).services.find((s) => s.name === 'site');
    assert.equal(site?.traffic, null, 'nothing changed');
    assert.equal((await curl(v.ship.httpPort, '/site/')).status, 200);
  });

  test('a client that gives up while held leaves nothing behind: resume answers the others', async () => {
    assert.equal((await ssh('starphleet pause site')).code, 0);
    const quitter = spawn('curl', ['-sS', '-m', '1', `http://127.0.0.1:${v.ship.httpPort}/site/`], { stdio: 'ignore' });
    const quit = new Promise<number | null>((r) => quitter.once('close', (c) => r(c)));
    const stays = curl(v.ship.httpPort, '/site/');
    assert.equal(await quit, 28, 'curl timed out while held');
    assert.equal((await ssh('starphleet resume site')).code, 0);
    assert.equal((await stays).status, 200);
  });
});
