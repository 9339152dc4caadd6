import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { initRepo } from '../../helpers/git.js';
import { runGit } from '../../helpers/git-push.js';
import { scpLegacyGet, sftpBatch } from '../../helpers/sftp.js';
import { freePort } from '../../helpers/ship.js';
import { runSsh, sshBase, startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/**
 * Users x key options x requests, with the real OpenSSH client (and real git), against one ship. The expectation
 * table is docs/ssh.md's (section "Who may do what"): the test reads it from there, so the two cannot drift apart.
 * `yes` = served as asked, `status` = the forced command (`starphleet status`) ran instead, `no` = refused.
 */

type Outcome = 'yes' | 'no' | 'status';

/** docs/ssh.md row label -> authorized_keys/<file> and its options. */
const KEYS: Record<string, { file: string; options: string }> = {
  '(none)': { file: 'plain', options: '' },
  'command="starphleet status"': { file: 'forced', options: 'command="starphleet status"' },
  restrict: { file: 'restricted', options: 'restrict' },
  'restrict,pty': { file: 'restrictpty', options: 'restrict,pty' },
  'no-pty': { file: 'nopty', options: 'no-pty' },
  'from="127.0.0.1" (matches)': { file: 'fromok', options: 'from="127.0.0.1,::1"' },
  'from="10.9.9.9" (does not)': { file: 'fromno', options: 'from="10.9.9.9"' },
};

const STATUS = /^ship testship \(starphleet /m;
const LOGIN_REFUSED = /Permission denied \(publickey\)/;

function readmeTable(): { columns: string[]; rows: Map<string, Map<string, Outcome>> } {
  const readme = readFileSync(new URL('../../../docs/ssh.md', import.meta.url), 'utf8');
  const start = readme.indexOf('<!-- ssh-gate-matrix -->');
  assert.ok(start >= 0, 'docs/ssh.md has no <!-- ssh-gate-matrix --> table');
  const lines = readme.slice(start).split('\n').slice(1).filter((l, i, all) => l.startsWith('|') && all.slice(0, i).every((p) => p.startsWith('|')));
  const cells = (l: string): string[] => l.slice(1, -1).split(' | ').map((c) => c.trim().replace(/^`|`$/g, '').replace(/\\\|/g, '|'));
  const columns = cells(lines[0] ?? '').slice(1);
  const rows = new Map<string, Map<string, Outcome>>();
  for (const l of lines.slice(2)) {
    const [label = '', ...values] = cells(l);
    rows.set(label, new Map(values.map((v, i) => [columns[i] ?? '', v as Outcome])));
  }
  return { columns, rows };
}

describe('ssh gate: users x key options x requests (OpenSSH client)', () => {
  let s: SshShip;
  let agent: ChildProcess | null = null;
  let agentSock = '';
  const table = readmeTable();

  before(async () => {
    s = await startSshShip({
      admirals: Object.fromEntries(Object.values(KEYS).map((k) => [k.file, k.options])),
      // An update that is allowed gets as far as fetching, and fails there: the ship never really updates.
      env: { STARPHLEET_REMOTE: '/nonexistent/starphleet-remote' },
    });
    mkdirSync(join(s.ship.dataDir, 'data'), { recursive: true });
    writeFileSync(join(s.ship.dataDir, 'data', 'hello.txt'), 'hello from the ship\n');
    agentSock = join(tmpDir('sp-agent-'), 'agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
    await waitFor(() => existsSync(agentSock), 'ssh-agent socket');
    spawnSync('ssh-add', [s.admiral.privatePath], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, stdio: 'ignore' });
  });
  after(async () => {
    agent?.kill();
    await s?.ship.stop();
  });

  const keyOf = (label: string): string => s.keys[KEYS[label]?.file ?? '']?.privatePath ?? '';
  const fingerprintOf = (label: string): string => s.keys[KEYS[label]?.file ?? '']?.fingerprint ?? '';

  /**
   * A refusal must say why: a key from= keeps out gets OpenSSH's own login refusal; after login, the gate's one line
   * on stderr (for a pty, OpenSSH's own message: the client shows no text for it).
   */
  const refused = (stderr: string, what: string, label: string): Outcome => {
    const want = label.startsWith('from="10.9.9.9"') ? LOGIN_REFUSED : what === 'pty' ? /PTY allocation request failed/ : /^starphleet: denied: .+$/m;
    assert.match(stderr, want, `${label} ${what}: refused without the reason: ${stderr}`);
    return 'no';
  };

  const denyAudited = (label: string, request: RegExp): boolean => {
    const db = new Database(join(s.ship.dataDir, 'state.db'), { readonly: true });
    try {
      const rows = db.prepare("SELECT command FROM audit WHERE kind = 'deny' AND fingerprint = ?").all(fingerprintOf(label)) as { command: string }[];
      return rows.some((r) => request.test(r.command));
    } finally {
      db.close();
    }
  };

  /**
   * OpenSSH logs a refused channel only at verbose levels: the proof of a refused forward is the ship's audit (or,
   * for a key from= keeps out, the refused login).
   */
  const forwardRefused = (label: string, stderr: string, request: RegExp, what: string): Outcome => {
    if (LOGIN_REFUSED.test(stderr)) return 'no';
    assert.ok(denyAudited(label, request), `${what}: refused but no audited deny matching ${request}`);
    return 'no';
  };

  /** A local forward (-L or -D) is open: does a request through it reach the ship's HTTP port? */
  const throughForward = async (args: string[], key: string, viaSocks: boolean): Promise<{ outcome: Outcome; stderr: string }> => {
    const local = await freePort();
    const errPath = join(tmpDir('sp-fwd-'), 'err');
    const err = (await import('node:fs')).openSync(errPath, 'w');
    const child = spawn('ssh', [...sshBase(key, s.port), '-N', ...args.map((a) => a.replace('LOCAL', String(local))), 'admiral@127.0.0.1'], { stdio: ['ignore', 'ignore', err] });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    try {
      const listening = await Promise.race([
        waitFor(async () => (await canConnect(local)) || null, 'the local forward to listen', 20_000).then(() => true),
        exited.then(() => false),
      ]);
      if (!listening) return { outcome: 'no', stderr: readFileSync(errPath, 'utf8') };
      const reply = viaSocks ? await socksGet(local, s.ship.httpPort) : await httpThrough(local);
      // Let ssh write its "open failed" line before reading its stderr.
      await sleep(300);
      return { outcome: /^HTTP\/1\.1 \d{3}/.test(reply) ? 'yes' : 'no', stderr: readFileSync(errPath, 'utf8') };
    } finally {
      child.kill();
      await exited;
    }
  };

  const RUN: Record<string, (label: string) => Promise<Outcome>> = {
    'admiral@ shell': async (label) => {
      const script = join(tmpDir('sp-script-'), 'in');
      writeFileSync(script, 'echo shell-$((6*7))\n');
      const r = await runSsh({ key: keyOf(label), port: s.port, args: [], options: ['-T'], stdin: script });
      if (r.stdout.toString().includes('shell-42')) return 'yes';
      if (STATUS.test(r.stdout.toString())) return 'status';
      return refused(r.stderr, 'shell', label);
    },
    'admiral@ exec': async (label) => {
      const r = await runSsh({ key: keyOf(label), port: s.port, args: ['echo exec-$((6*7))'] });
      if (r.stdout.toString() === 'exec-42\n') return 'yes';
      if (STATUS.test(r.stdout.toString())) return 'status';
      return refused(r.stderr, 'exec', label);
    },
    'admiral@ pty': async (label) => {
      const r = await runSsh({ key: keyOf(label), port: s.port, args: ['tty'], options: ['-tt'] });
      if (r.code === 255 || /PTY allocation request failed/.test(r.stderr)) return refused(r.stderr, 'pty', label);
      // Forced key: its command ran on a pty; otherwise tty(1) names the pty.
      assert.match(r.stdout.toString(), /\/dev\/pts\/\d+|ship testship/, r.stderr);
      return 'yes';
    },
    'admiral@ sftp': async (label) => {
      const r = await sftpBatch({ key: keyOf(label), port: s.port, lines: ['get /data/hello.txt'] });
      if (existsSync(join(r.cwd, 'hello.txt'))) return 'yes';
      return refused(r.stderr, 'sftp', label);
    },
    'admiral@ scp -O': async (label) => {
      const r = await scpLegacyGet({ key: keyOf(label), port: s.port, remote: '/data/hello.txt', cwd: tmpDir('sp-scp-') });
      if (existsSync(join(r.cwd, 'hello.txt'))) return 'yes';
      return refused(r.stderr, 'scp -O', label);
    },
    'admiral@ starphleet update': async (label) => {
      const r = await runSsh({ key: keyOf(label), port: s.port, args: ['starphleet', 'update'] });
      const out = r.stdout.toString();
      if (STATUS.test(out)) return 'status';
      if (/checking \/nonexistent\/starphleet-remote|already in progress/.test(out + r.stderr)) return 'yes';
      return refused(r.stderr, 'starphleet update', label);
    },
    'update@': async (label) => {
      const r = await runSsh({ key: keyOf(label), port: s.port, user: 'update', args: [], options: ['-T'] });
      if (/checking \/nonexistent\/starphleet-remote|already in progress/.test(r.stdout.toString() + r.stderr)) return 'yes';
      assert.doesNotMatch(r.stdout.toString(), STATUS, 'the forced command must not run for update@ either');
      return refused(r.stderr, 'update@', label);
    },
    'update@ sftp': async (label) => {
      const r = await sftpBatch({ key: keyOf(label), port: s.port, user: 'update', lines: ['get /data/hello.txt'] });
      if (existsSync(join(r.cwd, 'hello.txt'))) return 'yes';
      return refused(r.stderr, 'update@ sftp', label);
    },
    'git push': async (label) => {
      const app = tmpDir('sp-app-');
      initRepo(app, { 'index.js': 'console.log(1)\n' });
      // --dry-run: receive-pack runs and advertises, nothing is sent or built.
      const r = await runGit(['push', '--dry-run', `ssh://git@127.0.0.1:${s.port}/matrix-${KEYS[label]?.file}`, 'HEAD:master'], { cwd: app, key: keyOf(label) });
      if (r.code === 0 && /\[new branch\]/.test(r.stderr + r.stdout)) return 'yes';
      assert.doesNotMatch(r.stderr, STATUS);
      return refused(r.stderr, 'git push', label);
    },
    'git clone': async (label) => {
      const r = await runGit(['ls-remote', `ssh://git@127.0.0.1:${s.port}/nothing-here`], { cwd: s.dir, key: keyOf(label) });
      // Past the gate, git-upload-pack answers for the name itself.
      if (/no repository named nothing-here/.test(r.stderr)) return 'yes';
      return refused(r.stderr, 'git clone', label);
    },
    'git@ shell': async (label) => {
      const r = await runSsh({ key: keyOf(label), port: s.port, user: 'git', args: [], options: ['-T'] });
      assert.doesNotMatch(r.stdout.toString(), STATUS);
      return r.code === 0 ? 'yes' : refused(r.stderr, 'git@ shell', label);
    },
    '-L': async (label) => {
      const r = await throughForward(['-L', `LOCAL:127.0.0.1:${s.ship.httpPort}`], keyOf(label), false);
      if (r.outcome === 'no') forwardRefused(label, r.stderr, /^direct-tcpip to /, '-L');
      return r.outcome;
    },
    '-D': async (label) => {
      const r = await throughForward(['-D', 'LOCAL'], keyOf(label), true);
      if (r.outcome === 'no') forwardRefused(label, r.stderr, /^direct-tcpip to /, '-D');
      return r.outcome;
    },
    '-R': async (label) => {
      const port = await freePort();
      const r = await runSsh({ key: keyOf(label), port: s.port, args: ['sleep 5; echo still-here'], options: ['-o', 'ExitOnForwardFailure=yes', '-R', `${port}:127.0.0.1:${s.ship.httpPort}`] });
      if (r.stdout.toString().includes('still-here') || STATUS.test(r.stdout.toString())) return 'yes';
      assert.match(r.stderr, /remote port forwarding failed|Permission denied \(publickey\)/);
      return forwardRefused(label, r.stderr, /^tcpip-forward tcpip-forward \S*:\d+$/, '-R');
    },
    '-A': async (label) => {
      const r = await runSsh({ key: keyOf(label), port: s.port, args: ['echo agent:${SSH_AUTH_SOCK:-none}'], options: ['-A', '-o', `IdentityAgent=${agentSock}`] });
      if (LOGIN_REFUSED.test(r.stderr)) return 'no';
      const out = r.stdout.toString();
      if (/^agent:\//m.test(out)) return 'yes';
      assert.ok(out === 'agent:none\n' || STATUS.test(out), out);
      // OpenSSH asks for agent forwarding without wanting a reply: the proof of the refusal is the audit.
      assert.ok(await waitFor(() => denyAudited(label, /^agent$/), `an audited agent deny for ${label}`), 'agent deny audited');
      return 'no';
    },
  };

  it('the docs/ssh.md table covers every request this test runs, and every key option', () => {
    assert.deepEqual(table.columns, Object.keys(RUN));
    assert.deepEqual([...table.rows.keys()], Object.keys(KEYS));
  });

  for (const label of Object.keys(KEYS)) {
    it(`key options ${label}: every request as docs/ssh.md says`, async () => {
      const want = table.rows.get(label);
      assert.ok(want, `docs/ssh.md has no row ${label}`);
      const got: Record<string, Outcome> = {};
      // Requests in parallel, a few at a time: each is its own ssh connection.
      const names = Object.keys(RUN);
      for (let i = 0; i < names.length; i += 4) {
        await Promise.all(names.slice(i, i + 4).map(async (n) => (got[n] = await (RUN[n] as (l: string) => Promise<Outcome>)(label))));
      }
      assert.deepEqual(got, Object.fromEntries(names.map((n) => [n, want.get(n)])));
    });
  }

  it('a command= key gets the status from `ssh admiral@ship anything`; its git requests are denied and audited', async () => {
    const r = await runSsh({ key: keyOf('command="starphleet status"'), port: s.port, args: ['rm', '-rf', '/tmp/anything'] });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), STATUS);
    assert.ok(denyAudited('command="starphleet status"', /^git-upload-pack|^git-receive-pack/), 'git denies of the forced key are audited');
  });

  it('every refused forwarding is audited with its kind', () => {
    for (const kind of [/^direct-tcpip to 127\.0\.0\.1:\d+$/, /^tcpip-forward tcpip-forward \S*:\d+$/, /^agent$/]) {
      assert.ok(denyAudited('(none)', kind), `no audited deny matching ${kind}`);
    }
  });
});

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

function collect(port: number, send: (c: ReturnType<typeof connect>, data: Buffer) => void, first: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      c.destroy();
      resolve(got.toString('latin1'));
    };
    const timer = setTimeout(done, 10_000);
    c.once('connect', () => c.write(first));
    c.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      send(c, got);
    });
    c.once('close', done);
    c.once('error', done);
  });
}

const GET = Buffer.from('GET /starphleet/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');

/** An HTTP request into a -L forward; the answer, or '' when ssh could not open the channel. */
function httpThrough(port: number): Promise<string> {
  return collect(port, () => {}, GET);
}

/** The same through a -D forward (SOCKS5, no auth, CONNECT to 127.0.0.1:target); only the HTTP part is returned. */
async function socksGet(port: number, target: number): Promise<string> {
  let stage = 0;
  const raw = await collect(port, (c, got) => {
    if (stage === 0 && got.length >= 2) {
      stage = 1;
      c.write(Buffer.from([5, 1, 0, 1, 127, 0, 0, 1, target >> 8, target & 255]));
    } else if (stage === 1 && got.length >= 12 && got[3] === 0) {
      // greeting (2) + reply (10): a success reply (got[3] === 0) opens the tunnel.
      stage = 2;
      c.write(GET);
    }
  }, Buffer.from([5, 1, 0]));
  return raw.length > 12 ? raw.slice(12) : '';
}
