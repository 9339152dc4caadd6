/**
 * bench/sftp: downloads the same 1 GiB file through the ship's SFTP view and through OpenSSH sshd's internal-sftp
 * (started here on loopback), with the same cipher, in alternating rounds, and prints throughput, the ratio, the ship's
 * peak RSS and the machine's load (the cores are shared: the figures are only comparable within one run).
 *
 *   npm run bench:sftp            (SIZE_MB=1024 ROUNDS=3 CIPHER=aes128-gcm@openssh.com by default)
 */
import { spawn } from 'node:child_process';
import { openSync, readFileSync, rmSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { startSshShip } from '../test/helpers/ssh.js';
import { startSshd } from '../test/helpers/sshd.js';
import { tmpDir } from '../test/helpers/tmp.js';

const SIZE_MB = Number(process.env.SIZE_MB ?? 1024);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const CIPHER = process.env.CIPHER ?? 'aes128-gcm@openssh.com';

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** CPU seconds a process and its reaped children used (/proc/<pid>/stat utime+stime+cutime+cstime, 100 Hz). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i] ?? 0), 0) / 100;
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 500));

function sftpGet(key: string, port: number, user: string, remote: string, local: string): Promise<number> {
  const batch = join(tmpDir('sp-bb-'), 'batch');
  const fd = openSync(batch, 'w');
  writeSync(fd, `get ${remote} ${local}\n`);
  closeSync(fd);
  const args = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR', '-c', CIPHER, '-o', 'KexAlgorithms=curve25519-sha256', '-i', key, '-P', String(port), '-b', batch, `${user}@127.0.0.1`];
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const c = spawn('sftp', args, { stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`sftp exited ${code}`))));
  });
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
  const loadBefore = loadavg()[0] as number;
  const sshd = await startSshd([key.pub], [`Ciphers ${CIPHER}`, 'KexAlgorithms curve25519-sha256']);
  const local = join(dir, 'download.bin');
  const results = { ship: [] as number[], sshd: [] as number[] };
  const cpu = { ship: [] as number[], sshd: [] as number[] };
  const shipPid = ship.child.pid as number;
  const sshdPid = sshd.child.pid as number;
  // The ship does other work all the time (HQ sync, reconcile pulse): its idle CPU rate is taken off its figure.
  const idle0 = cpuSeconds(shipPid);
  await new Promise((r) => setTimeout(r, 5000));
  const idleRate = (cpuSeconds(shipPid) - idle0) / 5;
  let peak = rss(ship.child.pid as number);
  const baseRss = peak;
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const sampler = setInterval(() => (peak = Math.max(peak, rss(shipPid))), 100);
      let c0 = cpuSeconds(shipPid);
      results.ship.push(await sftpGet(key.privatePath, ship.sshPort, 'admiral', '/data/big.bin', local));
      clearInterval(sampler);
      await settle();
      cpu.ship.push(cpuSeconds(shipPid) - c0 - idleRate * ((results.ship.at(-1) as number) + 0.5));
      rmSync(local, { force: true });
      c0 = cpuSeconds(sshdPid);
      results.sshd.push(await sftpGet(key.privatePath, sshd.port, sshd.user, file, local));
      // sshd's per-connection processes are counted once the listener has reaped them.
      await settle();
      cpu.sshd.push(cpuSeconds(sshdPid) - c0);
      rmSync(local, { force: true });
    }
  } finally {
    await sshd.stop();
    await ship.stop();
  }
  const best = (xs: number[]): number => Math.min(...xs);
  const mbps = (s: number): number => SIZE_MB / s;
  const shipMBs = mbps(best(results.ship));
  const sshdMBs = mbps(best(results.sshd));
  console.log(`sftp download of ${SIZE_MB} MiB, cipher ${CIPHER}, best of ${ROUNDS}`);
  console.log(`  sshd internal-sftp: ${sshdMBs.toFixed(1)} MiB/s  (runs: ${results.sshd.map((s) => s.toFixed(2)).join(', ')} s)`);
  console.log(`  starphleet ship:    ${shipMBs.toFixed(1)} MiB/s  (runs: ${results.ship.map((s) => s.toFixed(2)).join(', ')} s)`);
  console.log(`  ratio ship/sshd: ${(shipMBs / sshdMBs).toFixed(2)} (target >= 1.0)`);
  // CPU per download does not depend on how busy the machine is: the fairer comparison on a shared machine.
  console.log(`  server CPU per download: sshd ${best(cpu.sshd).toFixed(2)} s, ship ${best(cpu.ship).toFixed(2)} s (ratio sshd/ship ${(best(cpu.sshd) / best(cpu.ship)).toFixed(2)}; ship idle rate ${idleRate.toFixed(3)} CPU s/s taken off)`);
  console.log(`  ship RSS: ${(baseRss / 2 ** 20).toFixed(0)} MiB before, ${(peak / 2 ** 20).toFixed(0)} MiB peak during downloads`);
  console.log(`  machine: ${cpus().length} cores, load average ${loadBefore.toFixed(2)} before, ${(loadavg()[0] as number).toFixed(2)} after`);
}

await main();
