/**
 * bench/sftp: the same 1 GiB file downloaded through the ship's SFTP view and through OpenSSH sshd's internal-sftp
 * (started here on loopback), and uploaded to the ship's /incoming/ and to a directory through sshd, with each cipher,
 * in alternating rounds (ship, sshd, ship, ...). Prints the best of the rounds, the ratio, each server's CPU per
 * transfer, the ship's RSS and the machine's load: the cores are shared, so figures only compare within one run.
 *
 *   npm run bench:sftp      (SIZE_MB=1024 ROUNDS=3 CIPHERS=aes128-gcm@openssh.com,chacha20-poly1305@openssh.com
 *                            DIRECTIONS=download,upload by default)
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { registryPaths } from '../src/data-dir/registry-paths.js';
import { startSshShip } from '../test/helpers/ssh.js';
import { startSshd } from '../test/helpers/sshd.js';
import { tmpDir } from '../test/helpers/tmp.js';

const SIZE_MB = Number(process.env.SIZE_MB ?? 1024);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CIPHERS = (process.env.CIPHERS ?? 'aes128-gcm@openssh.com,chacha20-poly1305@openssh.com').split(',');
const DIRECTIONS = (process.env.DIRECTIONS ?? 'download,upload').split(',') as ('download' | 'upload')[];

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * CPU seconds (/proc/<pid>/stat, 100 Hz): the ship's own threads (utime+stime; its children are git for HQ sync, not
 * the transfer), sshd with its reaped children (+cutime+cstime: each connection is a child).
 */
function cpuSeconds(pid: number, children: boolean): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (children ? [11, 12, 13, 14] : [11, 12]).reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / 100;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

/** One `sftp -b` run of a single batch line; its wall time in seconds. */
function sftp(key: string, port: number, user: string, cipher: string, line: string): Promise<number> {
  const batch = join(tmpDir('sp-bb-'), 'batch');
  writeFileSync(batch, `${line}\n`);
  const args = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR', '-c', cipher, '-o', 'KexAlgorithms=curve25519-sha256', '-i', key, '-P', String(port), '-b', batch, `${user}@127.0.0.1`];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const c = spawn('sftp', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`sftp ${line} exited ${code}`))));
  });
}

interface Figures {
  readonly seconds: number[];
  readonly cpu: number[];
}

async function main(): Promise<void> {
  const { ship, dir, admiral: key } = await startSshShip();
  mkdirSync(join(ship.dataDir, 'data'), { recursive: true });
  const file = join(ship.dataDir, 'data', 'big.bin');
  const chunk = Buffer.alloc(1 << 20);
  const fd = openSync(file, 'w');
  for (let i = 0; i < SIZE_MB; i++) {
    chunk.writeUInt32BE(i, 0);
    writeSync(fd, chunk);
  }
  closeSync(fd);
  const sshdTarget = tmpDir('sp-bench-up-');
  const incoming = registryPaths.incoming(ship.dataDir);
  const loadBefore = loadavg();
  const sshd = await startSshd([key.pub]);
  const local = join(dir, 'download.bin');
  const shipPid = ship.child.pid as number;
  const sshdPid = sshd.child.pid as number;
  // The ship does other work all the time (HQ sync, reconcile pulse): its idle CPU rate is taken off its figure.
  const idle0 = cpuSeconds(shipPid, false);
  await new Promise((r) => setTimeout(r, 5000));
  const idleRate = (cpuSeconds(shipPid, false) - idle0) / 5;
  const baseRss = rss(shipPid);
  const peak = { download: baseRss, upload: baseRss };
  const results = new Map<string, { ship: Figures; sshd: Figures }>();
  try {
    for (const direction of DIRECTIONS) {
      for (const cipher of CIPHERS) {
        const r = { ship: { seconds: [] as number[], cpu: [] as number[] }, sshd: { seconds: [] as number[], cpu: [] as number[] } };
        results.set(`${direction} ${cipher}`, r);
        for (let round = 0; round < ROUNDS; round++) {
          const sampler = setInterval(() => (peak[direction] = Math.max(peak[direction], rss(shipPid))), 100);
          let c0 = cpuSeconds(shipPid, false);
          const shipLine = direction === 'download' ? `get /data/big.bin ${local}` : `put ${file} /incoming/big.bin`;
          r.ship.seconds.push(await sftp(key.privatePath, ship.sshPort, 'admiral', cipher, shipLine));
          clearInterval(sampler);
          await settle();
          r.ship.cpu.push(Math.max(0, cpuSeconds(shipPid, false) - c0 - idleRate * ((r.ship.seconds.at(-1) as number) + 0.5)));
          // Each round starts from nothing: the download's copy and the stored upload are removed.
          rmSync(local, { force: true });
          for (const n of readdirSync(incoming)) rmSync(join(incoming, n), { force: true });
          c0 = cpuSeconds(sshdPid, true);
          const sshdLine = direction === 'download' ? `get ${file} ${local}` : `put ${file} ${join(sshdTarget, 'big.bin')}`;
          r.sshd.seconds.push(await sftp(key.privatePath, sshd.port, sshd.user, cipher, sshdLine));
          // sshd's per-connection processes are counted once the listener has reaped them.
          await settle();
          r.sshd.cpu.push(cpuSeconds(sshdPid, true) - c0);
          rmSync(local, { force: true });
          rmSync(join(sshdTarget, 'big.bin'), { force: true });
        }
      }
    }
  } finally {
    await sshd.stop();
    await ship.stop();
    rmSync(sshdTarget, { recursive: true, force: true });
  }
  const best = (xs: number[]): number => Math.min(...xs);
  const mbps = (s: number): number => SIZE_MB / s;
  const loadAfter = loadavg();
  console.log(`sftp ${DIRECTIONS.join(' and ')} of ${SIZE_MB} MiB, best of ${ROUNDS} alternating rounds (ship, sshd internal-sftp, ...)`);
  for (const [what, r] of results) {
    const ship = mbps(best(r.ship.seconds));
    const sshd = mbps(best(r.sshd.seconds));
    console.log(`  ${what}: ship ${ship.toFixed(0)} MiB/s, sshd ${sshd.toFixed(0)} MiB/s, ratio ship/sshd ${(ship / sshd).toFixed(2)} (target >= 1.0)`);
    console.log(`      runs (s): ship ${r.ship.seconds.map((s) => s.toFixed(2)).join(', ')}; sshd ${r.sshd.seconds.map((s) => s.toFixed(2)).join(', ')}`);
    // CPU per transfer does not depend on how busy the machine is as much as wall time: the fairer figure when shared.
    console.log(`      server CPU per transfer (best): ship ${best(r.ship.cpu).toFixed(2)} s, sshd ${best(r.sshd.cpu).toFixed(2)} s`);
  }
  console.log(`  ship idle CPU rate taken off: ${idleRate.toFixed(3)} CPU s/s`);
  console.log(`  ship RSS: ${(baseRss / 2 ** 20).toFixed(0)} MiB before; peak ${(peak.download / 2 ** 20).toFixed(0)} MiB during downloads, ${(peak.upload / 2 ** 20).toFixed(0)} MiB during uploads`);
  const la = (l: number[]): string => l.map((x) => x.toFixed(2)).join(' ');
  console.log(`  machine: ${cpus().length} cores, load average (1, 5, 15 min) ${la(loadBefore)} before, ${la(loadAfter)} after`);
}

await main();
