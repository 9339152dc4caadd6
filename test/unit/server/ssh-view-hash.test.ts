import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type ssh2 from 'ssh2';
import { coreutilsLine, parseHashCommand, quoteName } from '../../../src/server/sftp/hash-command.js';
import { openForRead, packet, rawSftp, type Raw, sshClient, statusOf, str, u32, u64 } from '../../helpers/sftp-raw.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';

/** Files of the view's /data (the shared data tree), with names that make coreutils escape and quote. */
const FILES: Record<string, Buffer> = {
  'plain.txt': Buffer.from('plain\n'),
  'with space.txt': Buffer.from('space\n'),
  'back\\slash': Buffer.from('backslash\n'),
  'new\nline': Buffer.from('newline\n'),
  "it's": Buffer.from('quote\n'),
  'empty': Buffer.alloc(0),
  'big.bin': Buffer.alloc(3 * 1024 * 1024 + 17, 7),
};

const sq = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/** What coreutils prints for the real files, with the real directory shown as /data: the output to match. */
function coreutils(program: string, realDir: string, names: readonly string[]): { stdout: string; stderr: string; status: number | null } {
  const r = spawnSync(program, ['--', ...names.map((n) => join(realDir, n))], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LANG: 'C' } });
  const view = (s: string): string => s.split(realDir).join('/data');
  return { stdout: view(r.stdout), stderr: view(r.stderr), status: r.status };
}

describe('hashes of the SFTP view: md5sum/sha1sum/sha256sum over exec, check-file and md5-hash over SFTP', () => {
  let s: SshShip;
  let shared: string;
  const clients: ssh2.Client[] = [];
  before(async () => {
    s = await startSshShip();
    shared = join(s.ship.dataDir, 'data');
    mkdirSync(join(shared, 'dir'), { recursive: true });
    for (const [n, b] of Object.entries(FILES)) writeFileSync(join(shared, n), b);
    // A link out of the view's jail: the view does not show it, so the command is the shell's.
    symlinkSync('/etc/hostname', join(shared, 'escape'));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await s?.ship.stop();
  });

  it('answers md5sum, sha1sum and sha256sum of view paths exactly as coreutils does, several files and escaped names included', async () => {
    const names = Object.keys(FILES);
    for (const program of ['md5sum', 'sha1sum', 'sha256sum']) {
      const r = await s.ssh([`${program} ${names.map((n) => sq(`/data/${n}`)).join(' ')}`]);
      const want = coreutils(program, shared, names);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.toString(), want.stdout, program);
      assert.equal(r.stderr, '');
    }
  });

  it('a directory among the operands is an error on stderr and exit 1, the other files are still hashed', async () => {
    const names = ['plain.txt', 'dir', 'with space.txt'];
    const r = await s.ssh([`md5sum -- /data/plain.txt /data/dir '/data/with space.txt' /services`]);
    const want = coreutils('md5sum', shared, names);
    assert.equal(r.code, 1);
    assert.equal(r.stdout.toString(), want.stdout);
    assert.equal(r.stderr, `${want.stderr}md5sum: /services: Is a directory\n`);
  });

  it('what is not in the view runs in the shell as before: host paths, a path missing from the view, a link out of it, options, stdin, shell syntax', async () => {
    const host = await s.ssh(['md5sum /etc/hostname']);
    assert.equal(host.stdout.toString(), spawnSync('md5sum', ['/etc/hostname'], { encoding: 'utf8' }).stdout);
    // rclone's probe: md5sum of empty stdin.
    const probe = await s.ssh(['md5sum']);
    assert.equal(probe.stdout.toString(), 'd41d8cd98f00b204e9800998ecf8427e  -\n');
    const missing = await s.ssh(['md5sum /data/plain.txt /data/not-there']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /md5sum: \/data\/plain\.txt: No such file or directory/, 'the whole command went to the shell');
    const escape = await s.ssh(['md5sum /data/escape']);
    assert.equal(escape.code, 1);
    assert.doesNotMatch(escape.stdout.toString(), /[0-9a-f]{32}/, 'the link is not followed out of the view');
    const tagged = await s.ssh(['md5sum --tag /data/plain.txt']);
    assert.equal(tagged.code, 1, 'an option: the shell (where /data/plain.txt does not exist)');
    const shell = await s.ssh(['md5sum /data/plain.txt; echo shell-ran']);
    assert.match(shell.stdout.toString(), /shell-ran/);
  });

  it('parses only the plain shape, and quotes and escapes names as coreutils does', () => {
    assert.deepEqual(parseHashCommand("md5sum /a\\ b '/c d' \"/e\"f"), { program: 'md5sum', hash: 'md5', operands: ['/a b', '/c d', '/ef'] });
    assert.deepEqual(parseHashCommand('sha256sum -- /x'), { program: 'sha256sum', hash: 'sha256', operands: ['/x'] });
    // rclone escapes a newline as '\n' in single quotes.
    assert.deepEqual(parseHashCommand("md5sum /data/new'\n'line")?.operands, ['/data/new\nline']);
    for (const c of ['md5sum', 'md5sum -', 'md5sum -b /x', 'md5sum /x -b', 'md5sum rel', 'md5sum /x;id', 'md5sum /x*', 'md5sum $HOME/x', 'md5sum "/x$y"', 'md5sum `id`', 'md5sum /x | cat', 'md5sum ~/x', 'md5sum /x\nid', 'sha512sum /x', 'constructor /x', "md5sum '/x"])
      assert.equal(parseHashCommand(c), null, c);
    assert.equal(coreutilsLine('ab', 'a\\b\nc\rd'), '\\ab  a\\\\b\\nc\\rd\n');
    for (const n of ['plain', 'a b', 'a:b', "it's", "it's $x", 'x\ny', '\x01', '~a', 'a~', '{', 'é', '']) {
      const r = spawnSync('md5sum', ['--', n], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', LANG: 'C' } });
      assert.equal(`md5sum: ${quoteName(n)}: No such file or directory\n`, r.stderr, JSON.stringify(n));
    }
  });

  const sftp = async (): Promise<Raw> => {
    const client = await sshClient({ port: s.port, key: s.admiral.privatePath });
    clients.push(client);
    return rawSftp(client);
  };
  const ext = (r: Buffer): Buffer[] => {
    assert.equal(r[0], 201, `EXTENDED_REPLY expected, got ${r[0]}`);
    const out: Buffer[] = [];
    let p = 5;
    for (let i = 0; i < 2 && p < r.length; i++) {
      const n = r.readUInt32BE(p);
      out.push(r.subarray(p + 4, p + 4 + n));
      p += 4 + n;
    }
    out.push(r.subarray(p));
    return out;
  };

  it('check-file-name/-handle hash a range, whole or in blocks, with the first algorithm of the list the ship knows', async () => {
    const raw = await sftp();
    const big = FILES['big.bin'] as Buffer;
    raw.send(packet(200, u32(1), str('check-file-name'), str('/data/big.bin'), str('crc32,sha256,md5'), u64(0), u64(0), u32(0)));
    const [name, alg, hash] = ext(await raw.reply());
    assert.equal(String(name), 'check-file');
    assert.equal(String(alg), 'sha256');
    assert.deepEqual(hash, createHash('sha256').update(big).digest());
    const h = await openForRead(raw, '/data/big.bin');
    raw.send(packet(200, u32(2), str('check-file-handle'), str(h), str('md5'), u64(100), u64(1_000_000), u32(65536)));
    const blocks = ext(await raw.reply())[2] as Buffer;
    const want: Buffer[] = [];
    for (let at = 100; at < 1_000_100; at += 65536) want.push(createHash('md5').update(big.subarray(at, Math.min(at + 65536, 1_000_100))).digest());
    assert.deepEqual(blocks, Buffer.concat(want));
    raw.send(packet(200, u32(3), str('check-file-name'), str('/data/big.bin'), str('crc32'), u64(0), u64(0), u32(0)));
    assert.equal(statusOf(await raw.reply()).code, 8, 'no known algorithm: unsupported');
    raw.send(packet(200, u32(4), str('check-file-name'), str('/data/big.bin'), str('md5'), u64(0), u64(0), u32(16)));
    assert.equal(statusOf(await raw.reply()).code, 4, 'a block below 256 bytes');
    raw.send(packet(200, u32(5), str('check-file-name'), str('/data/big.bin'), str('sha512'), u64(0), u64(0), u32(256)));
    assert.equal(statusOf(await raw.reply()).code, 4, 'more hashes than one reply holds');
    raw.send(packet(200, u32(6), str('check-file-name'), str('/data/dir'), str('md5'), u64(0), u64(0), u32(0)));
    assert.equal(statusOf(await raw.reply()).code, 4, 'a directory');
    raw.send(packet(200, u32(7), str('check-file-name'), str('/data/escape'), str('md5'), u64(0), u64(0), u32(0)));
    assert.equal(statusOf(await raw.reply()).code, 2, 'a link out of the view does not exist');
  });

  it('md5-hash and md5-hash-handle answer the hash, or an empty one when the quick check of the first 2048 bytes differs', async () => {
    const raw = await sftp();
    const big = FILES['big.bin'] as Buffer;
    const md5 = (b: Buffer): Buffer => createHash('md5').update(b).digest();
    raw.send(packet(200, u32(1), str('md5-hash'), str('/data/big.bin'), u64(0), u64(0), str(md5(big.subarray(0, 2048)))));
    let [name, hash] = ext(await raw.reply());
    assert.equal(String(name), 'md5-hash');
    assert.deepEqual(hash, md5(big));
    const h = await openForRead(raw, '/data/plain.txt');
    raw.send(packet(200, u32(2), str('md5-hash-handle'), str(h), u64(1), u64(3), str('')));
    [name, hash] = ext(await raw.reply());
    assert.equal(String(name), 'md5-hash-handle');
    assert.deepEqual(hash, md5((FILES['plain.txt'] as Buffer).subarray(1, 4)));
    raw.send(packet(200, u32(3), str('md5-hash'), str('/data/big.bin'), u64(0), u64(0), str(Buffer.alloc(16))));
    assert.equal(ext(await raw.reply())[1]?.length, 0, 'quick check differs: empty hash');
  });
});
