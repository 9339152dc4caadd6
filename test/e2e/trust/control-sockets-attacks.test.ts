import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { connect, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { CommandShip } from '../../../src/commands/command.js';
import { DEFAULT_WORKER_USER } from '../../../src/dataplane/nginx/nginx-user.js';
import { workersOf } from '../../../src/dataplane/nginx/nginx-procs.js';
import { planePaths } from '../../../src/data-dir/plane-paths.js';
import { readPlaneRecord } from '../../../src/dataplane/ship-side/plane-record.js';
import { startControlSocket } from '../../../src/commands/control/control-socket.js';
import { controlSocketPath } from '../../../src/commands/control/control-wire.js';
import { send } from '../../helpers/http.js';
import { PLANES, startTestPlane } from '../../helpers/planes.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { alive } from '../../helpers/instances.js';

/**
 * Both control sockets as a hostile local process would try them: a control message written byte for byte, sent by
 * a non-root user (the socket's mode opened up, as a mistake or a wrong mount would), as a second line of an accepted
 * connection, and — the attack that once ran a command as root — as the body of an HTTP request the data plane itself
 * proxies to its own control socket. Each is refused, logged, and changes nothing.
 */

/** What a socket answers to bytes, until it closes (or 3 s). */
function exchange(path: string, bytes: string, thenBytes?: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(path);
    let got = '';
    s.on('connect', () => {
      s.write(bytes);
      if (thenBytes !== undefined) setTimeout(() => s.write(thenBytes), 300);
    });
    s.on('data', (d) => (got += d.toString()));
    s.on('error', () => undefined);
    s.on('close', () => resolve(got));
    setTimeout(() => s.destroy(), 3000);
  });
}

/** The same bytes sent by uid 65534 (nobody), in a process of its own; prints what came back and how it ended. */
async function exchangeAsNobody(path: string, bytes: string): Promise<string> {
  const script = `const s=require('net').connect(process.argv[1]);let got='';s.on('connect',()=>s.write(process.argv[2]));s.on('data',d=>got+=d);s.on('error',e=>{console.log('error '+e.code);process.exit(0)});s.on('close',()=>{console.log('closed '+JSON.stringify(got));process.exit(0)});setTimeout(()=>{console.log('timeout '+JSON.stringify(got));process.exit(0)},3000)`;
  // Not spawnSync: the ship's control socket under test serves from this very process.
  const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '-e', script, path, bytes], { encoding: 'utf8' });
  return r.stdout.trim();
}

/** Lets uid 65534 reach a socket of a test's data dir: the socket writable, folders above it that lack o+x get it. */
function openUp(path: string): void {
  chmodSync(path, 0o666);
  for (let d = dirname(path); d !== dirname(d); d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if ((mode & 0o001) === 0) chmodSync(d, mode | 0o011);
  }
}

const run = promisify(execFile);


for (const kind of PLANES) {
  describe(`the data plane's control socket refuses what it must (${kind})`, () => {
    let dp: Awaited<ReturnType<typeof startTestPlane>>;
    let sock: string;
    const planeLog = (): string => readFileSync(planePaths.log(dp.dir), 'utf8');
    before(async () => {
      dp = await startTestPlane(kind);
      sock = planePaths.socket(dp.dir);
    });
    after(async () => {
      await dp?.stop();
    });

    test('a control message from a non-root user is refused and logged; the plane keeps serving', async () => {
      openUp(sock);
      const got = await exchangeAsNobody(sock, '{"op":"stop"}\n');
      assert.match(got, /^(closed ""|error (EPIPE|ECONNRESET))$/, "no answer: the connection was cut");
      await waitFor(() => /refused \(peer pid \d+ uid 65534\): uid 65534 is neither root/.test(planeLog()), 'the refusal in the plane log');
      chmodSync(sock, 0o600);
      assert.ok(alive(dp.client.pid), 'the plane did not stop');
      assert.equal((await send(dp.client.port, '/starphleet/health')).status, 200);
    });

    test('a second line on one connection is refused and logged, and so is the first with it', async () => {
      const both = await exchange(sock, '{"op":"hello"}\n{"op":"stop"}\n');
      assert.equal(both, '', 'nothing of either request was answered');
      await waitFor(() => /more byte\(s\) after the request/.test(planeLog()), 'the refusal in the plane log');
      assert.ok(alive(dp.client.pid));
    });

    test('a request after an accepted subscription is refused and logged', async () => {
      const before = planeLog().split('\n').filter((l) => l.includes('after the request')).length;
      const got = await exchange(sock, '{"op":"subscribe"}\n', '{"op":"stop"}\n');
      assert.equal(got, '{"ok":true}\n', 'the subscription was accepted, the stop never answered');
      await waitFor(() => planeLog().split('\n').filter((l) => l.includes('after the request')).length > before, 'the refusal in the plane log');
      assert.ok(alive(dp.client.pid));
      assert.equal((await send(dp.client.port, '/starphleet/health')).status, 200);
    });

    test('an upgrade names no program: a path in the request is not run', async () => {
      const got = await exchange(sock, `${JSON.stringify({ op: 'upgrade', entry: ['-e', 'require("fs").writeFileSync("/tmp/sp-pwned","x")'] })}\n`);
      // Nothing recorded by a ship: refused with the file it wanted; either way the "entry" was never a program.
      assert.match(got, /"ok":false/);
      assert.match(got, /upgrade-to\.json/);
      assert.throws(() => readFileSync('/tmp/sp-pwned'), 'the named program did not run');
      assert.ok(alive(dp.client.pid));
    });

    if (kind === 'nginx') {
      test("nginx's workers run as an unprivileged user; the master stays root", () => {
        const master = Number(readFileSync(join(planePaths.nginx(dp.dir), 'nginx.pid'), 'utf8').trim());
        const uidOf = (pid: number): number => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        const workers = workersOf(master);
        assert.ok(workers.length > 0);
        assert.equal(uidOf(master), 0);
        for (const w of workers) assert.equal(uidOf(w.pid), Number(execFileSync('id', ['-u', DEFAULT_WORKER_USER], { encoding: 'utf8' }).trim()), `worker ${w.pid}`);
      });
    }

    test('a request body proxied to the control socket itself is never a control message', async () => {
      const table = { routes: [{ mount: '/', service: 'evil', instance: { id: 'evil', upstream: { kind: 'unix', path: sock } }, hosts: [], auth: null }] };
      await dp.client.setTable(table as never);
      const pid = dp.client.pid;
      const r = await send(dp.client.port, '/', { method: 'POST', body: '{"op":"stop"}\n' }).catch((e: Error) => ({ status: 0, body: e.message }));
      assert.notEqual(r.status, 200, `the request got no answer from the control socket: ${r.body}`);
      if (kind === 'embedded') await waitFor(() => /refused \(peer pid \d+ uid \d+\): the connection comes from this process itself/.test(planeLog()), 'the refusal in the plane log');
      assert.ok(alive(pid), 'the plane did not stop');
      assert.equal(readPlaneRecord(dp.dir)?.pid, pid);
      await dp.client.setTable({ routes: [] });
    });
  });
}

describe("the ship's control socket refuses what it must", () => {
  const dir = tmpDir('sp-ctl-');
  const lines: string[] = [];
  let server: Server;
  before(async () => {
    const ship = { options: { dataDir: dir, name: 'test', privateKey: null }, log: () => undefined } as unknown as CommandShip;
    server = await startControlSocket(ship, (l) => lines.push(l));
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('one request from the ship\'s own user is served', async () => {
    const got = await exchange(controlSocketPath(dir), `${JSON.stringify({ argv: ['version'] })}\n`);
    assert.match(got, /"exit":0/);
  });

  test('a command from a non-root user is refused and logged', async () => {
    openUp(controlSocketPath(dir));
    const got = await exchangeAsNobody(controlSocketPath(dir), `${JSON.stringify({ argv: ['version'] })}\n`);
    chmodSync(controlSocketPath(dir), 0o600);
    assert.match(got, /^(closed ""|error (EPIPE|ECONNRESET))$/);
    assert.ok(lines.some((l) => /control socket: refused \(peer pid \d+ uid 65534\)/.test(l)), lines.join('\n'));
  });

  test('a second line is refused and logged, and nothing of it runs', async () => {
    const got = await exchange(controlSocketPath(dir), `${JSON.stringify({ argv: ['version'] })}\n${JSON.stringify({ argv: ['version'] })}\n`);
    assert.equal(got, '');
    assert.ok(lines.some((l) => /more byte\(s\) after the request/.test(l)), lines.join('\n'));
  });

  test('an overlong request is refused and logged', async () => {
    await exchange(controlSocketPath(dir), `{"argv":["${'a'.repeat(70 * 1024)}"]}\n`);
    assert.ok(lines.some((l) => /longer than 65536 bytes/.test(l)), lines.join('\n'));
  });
});
