import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tmpDir } from '../../helpers/tmp.js';
import { startViewShip, type ViewShip } from '../../helpers/view-ship.js';
import { waitFor } from '../../helpers/wait.js';
import { PYTHON } from '../../helpers/python.js';

const NO_HOST_CHECK = '-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o BatchMode=yes -o LogLevel=ERROR';

/** Every file of a tree, relative path → bytes. */
function tree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(root, p), readFileSync(p));
    }
  };
  walk(root);
  return out;
}

function run(cmd: string, args: readonly string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('SSH clients nobody here wrote, against a ship serving a real release', () => {
  let v: ViewShip;
  let release: string;
  let files: Map<string, Buffer>;
  before(async () => {
    v = await startViewShip();
    // The site answers a moment before the serving release is recorded in configs/.
    await waitFor(() => existsSync(join(v.dataDir, 'configs', 'site.json')), 'configs/site.json');
    release = join(v.dataDir, 'services', 'site', 'releases', v.releaseId());
    files = tree(release);
    assert.ok(files.has('index.html') && files.size > 3, [...files.keys()].join(' '));
  });
  after(async () => {
    await v?.stop();
  });

  it('curl (libssh2 1.10: CTR with non-ETM MACs) gets a file of the view byte-exact over sftp:// and scp://', () => {
    for (const scheme of ['sftp', 'scp']) {
      const out = join(tmpDir('sp-curl-'), 'index.html');
      const r = run('curl', ['-sS', '--insecure', '--key', v.admiral.privatePath, '--pubkey', v.admiral.publicPath, '-u', 'admiral:', '-o', out, `${scheme}://127.0.0.1:${v.ship.sshPort}/services/site/current/index.html`]);
      assert.equal(r.status, 0, `${scheme}: ${r.stderr}`);
      assert.deepEqual(readFileSync(out), files.get('index.html'), scheme);
    }
  });

  it('paramiko (Debian 2.12) runs an exec, lists, stats and gets, with a DH group and with CTR + hmac-sha2-256 too, and checks a file with check-file', () => {
    const local = join(tmpDir('sp-paramiko-'), 'index.html');
    const script = `
import sys, json, hashlib, paramiko
port, key, local = int(sys.argv[1]), sys.argv[2], sys.argv[3]
out = {}
for name, opts in [('default', {}), ('dh', {'kex': ('diffie-hellman-group16-sha512',)}), ('ctr', {'ciphers': ('aes128-ctr',), 'digests': ('hmac-sha2-256',)})]:
    t = paramiko.Transport(('127.0.0.1', port))
    so = t.get_security_options()
    for k, v in opts.items(): setattr(so, k, v)
    t.connect(username='admiral', pkey=paramiko.Ed25519Key.from_private_key_file(key))
    ch = t.open_session(); ch.exec_command('echo hi-from-paramiko')
    text = ch.makefile().read().decode(); code = ch.recv_exit_status()
    sftp = paramiko.SFTPClient.from_transport(t)
    names = sorted(sftp.listdir('/services/site/current'))
    size = sftp.stat('/services/site/current/index.html').st_size
    sftp.get('/services/site/current/index.html', local)
    f = sftp.open('/services/site/current/index.html'); check = f.check('md5', 0, 0, 0).hex(); f.close()
    out[name] = {'exec': text, 'code': code, 'names': names, 'size': size, 'check': check, 'kex': so.kex, 'cipher': t.remote_cipher, 'mac': t.remote_mac}
    t.close()
print(json.dumps(out))
`;
    const r = run(PYTHON, ['-c', script, String(v.ship.sshPort), v.admiral.privatePath, local]);
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as Record<string, { exec: string; code: number; names: string[]; size: number; check: string; kex: string[]; cipher: string; mac: string }>;
    const top = [...new Set([...files.keys()].map((p) => p.split('/')[0] as string))].sort();
    for (const [name, g] of Object.entries(got)) {
      assert.equal(g.exec, 'hi-from-paramiko\n', name);
      assert.equal(g.code, 0, name);
      assert.deepEqual(g.names, top, name);
      assert.equal(g.size, files.get('index.html')?.length, name);
      assert.equal(g.check, createHash('md5').update(files.get('index.html') as Buffer).digest('hex'), name);
    }
    assert.deepEqual(readFileSync(local), files.get('index.html'));
    // Only that key exchange was offered: the login proves the ship does it.
    assert.deepEqual(got.dh?.kex, ['diffie-hellman-group16-sha512']);
    assert.deepEqual([got.ctr?.cipher, got.ctr?.mac], ['aes128-ctr', 'hmac-sha2-256']);
  });

  it('asyncssh (Debian 2.10) runs an exec, lists, stats and gets', () => {
    const local = join(tmpDir('sp-asyncssh-'), 'index.html');
    const script = `
import sys, json, asyncio, warnings
warnings.simplefilter('ignore')
import asyncssh
async def main(port, key, local):
    async with asyncssh.connect('127.0.0.1', port, username='admiral', client_keys=[key], known_hosts=None) as conn:
        r = await conn.run('echo hi-from-asyncssh')
        async with conn.start_sftp_client() as sftp:
            names = sorted(n for n in await sftp.listdir('/services/site/current') if n not in ('.', '..'))
            size = (await sftp.stat('/services/site/current/index.html')).size
            await sftp.get('/services/site/current/index.html', local)
        return {'exec': r.stdout, 'code': r.exit_status, 'names': names, 'size': size}
print(json.dumps(asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))))
`;
    const r = run(PYTHON, ['-c', script, String(v.ship.sshPort), v.admiral.privatePath, local]);
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { exec: string; code: number; names: string[]; size: number };
    assert.deepEqual(got, { exec: 'hi-from-asyncssh\n', code: 0, names: [...new Set([...files.keys()].map((p) => p.split('/')[0] as string))].sort(), size: files.get('index.html')?.length });
    assert.deepEqual(readFileSync(local), files.get('index.html'));
  });

  it('rclone (1.60, default flags) copies, checks and md5sums a release, and lsf -R lists the files under current/', () => {
    const dir = tmpDir('sp-rclone-');
    const env = { RCLONE_CONFIG: join(dir, 'rclone.conf') };
    // A configured remote, as people use rclone: it keeps the hash command it found (see docs/ssh.md on rclone md5sum).
    assert.equal(run('rclone', ['config', 'create', 'ship', 'sftp', 'host=127.0.0.1', `port=${v.ship.sshPort}`, 'user=admiral', `key_file=${v.admiral.privatePath}`], env).status, 0);
    const local = join(dir, 'copy');
    const copy = run('rclone', ['copy', 'ship:/services/site/current', local], env);
    assert.equal(copy.status, 0, copy.stderr);
    assert.deepEqual(tree(local), files);
    const check = run('rclone', ['check', 'ship:/services/site/current', local], env);
    assert.equal(check.status, 0, check.stderr);
    assert.doesNotMatch(check.stderr, /corrupted|hash unsupported|differences found: [1-9]/);
    assert.match(check.stderr, new RegExp(`${files.size} matching files`));
    assert.match(readFileSync(env.RCLONE_CONFIG, 'utf8'), /md5sum_command = md5sum/, 'rclone found md5sum working on the ship');
    const sums = run('rclone', ['md5sum', 'ship:/services/site/current'], env);
    assert.equal(sums.status, 0, sums.stderr);
    const want = [...files].map(([p, b]) => `${createHash('md5').update(b).digest('hex')}  ${p}`).sort();
    assert.deepEqual(sums.stdout.trim().split('\n').sort(), want);
    const lsf = run('rclone', ['lsf', '-R', 'ship:/services/site'], env);
    assert.equal(lsf.status, 0, lsf.stderr);
    for (const p of files.keys()) assert.ok(lsf.stdout.split('\n').includes(`current/${p}`), `current/${p} in:\n${lsf.stdout}`);
  });

  it('lftp mirrors the serving release byte-exact', () => {
    const local = join(tmpDir('sp-lftp-'), 'mirror');
    const commands = join(tmpDir('sp-lftp-cmd-'), 'cmds');
    writeFileSync(commands, [
      `set sftp:connect-program "ssh -a -x ${NO_HOST_CHECK} -i ${v.admiral.privatePath}"`,
      'set net:max-retries 1',
      `open -u admiral, sftp://127.0.0.1:${v.ship.sshPort}`,
      `mirror /services/site/current ${local}`,
      '',
    ].join('\n'));
    const r = run('lftp', ['-f', commands]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(tree(local), files);
    assert.ok(statSync(join(local, 'index.html')).isFile());
  });
});
