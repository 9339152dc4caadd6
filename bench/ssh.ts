/**
 * bench/ssh: the ship's embedded SSH server against OpenSSH sshd (started here on loopback with a temp config and
 * host key), same client, same key, same key exchange (curve25519-sha256):
 *   1. latency of connect + auth + `true`, one at a time (ROUNDS, alternating between the two servers);
 *   2. CONCURRENT sessions started at once, each `true`: wall time and how many succeeded.
 * Prints medians, p90s and the ratios ship/sshd (below 1 means the ship is faster).
 *
 *   npm run bench:ssh            (ROUNDS=40 CONCURRENT=100 by default)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { initRepo } from '../test/helpers/git.js';
import { makeKey } from '../test/helpers/keys.js';
import { startShip } from '../test/helpers/ship.js';
import { startSshd } from '../test/helpers/sshd.js';
import { tmpDir } from '../test/helpers/tmp.js';

const ROUNDS = Number(process.env.ROUNDS ?? 40);
const CONCURRENT = Number(process.env.CONCURRENT ?? 100);
const KEX = 'curve25519-sha256';

interface Target {
  readonly name: string;
  readonly port: number;
  readonly user: string;
}

/** One `ssh user@127.0.0.1 true`; resolves with its wall time in ms and whether it exited 0. */
function sshTrue(key: string, t: Target): Promise<{ ms: number; ok: boolean }> {
  const args = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'LogLevel=ERROR', '-o', `KexAlgorithms=${KEX}`, '-i', key, '-p', String(t.port), `${t.user}@127.0.0.1`, 'true'];
  const started = process.hrtime.bigint();
  return new Promise((resolve) => {
    const c = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'ignore'] });
    c.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, ok: code === 0 }));
  });
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
}

async function main(): Promise<void> {
  const dir = tmpDir('sp-bench-ssh-');
  const key = makeKey(dir, 'admiral');
  const hq = join(dir, 'hq');
  initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n` });
  // MaxStartups above CONCURRENT: sshd's default (10:30:100) would drop most of a burst of 100 by design.
  // SetEnv SHLVL=1: the ship's sessions set it so Debian's bash skips ~/.bashrc for `bash -c`; sshd gets the same,
  // so both run the same `true` and the figures compare the servers, not this machine's ~/.bashrc.
  const sshd = await startSshd([key.pub], [`KexAlgorithms ${KEX}`, `MaxStartups ${CONCURRENT * 2}`, 'SetEnv SHLVL=1']);
  const ship = await startShip({ headquarters: hq, dataDir: join(dir, 'data'), pulse: 5 });
  try {
    await ship.waitForLog(/ssh listening on/);
    await ship.waitForLog(/\d+ admirals/);
    const targets: Target[] = [
      { name: 'ship', port: ship.sshPort, user: 'admiral' },
      { name: 'sshd', port: sshd.port, user: sshd.user },
    ];
    for (const t of targets) {
      const warm = await sshTrue(key.privatePath, t);
      if (!warm.ok) throw new Error(`${t.name}: ssh ${t.user}@127.0.0.1 true failed`);
    }
    const lat: Record<string, number[]> = { ship: [], sshd: [] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const t of i % 2 ? [...targets].reverse() : targets) {
        const r = await sshTrue(key.privatePath, t);
        if (!r.ok) throw new Error(`${t.name}: round ${i} failed`);
        lat[t.name]?.push(r.ms);
      }
    }
    const burst: Record<string, { ms: number; ok: number }> = {};
    for (const t of targets) {
      const started = process.hrtime.bigint();
      const rs = await Promise.all(Array.from({ length: CONCURRENT }, () => sshTrue(key.privatePath, t)));
      burst[t.name] = { ms: Number(process.hrtime.bigint() - started) / 1e6, ok: rs.filter((r) => r.ok).length };
    }
    const f = (n: number): string => `${n.toFixed(1)} ms`;
    const [shipLat, sshdLat] = [lat.ship ?? [], lat.sshd ?? []];
    console.log(`ssh connect+auth+true, kex ${KEX}, ${ROUNDS} rounds each (OpenSSH client, loopback)`);
    console.log(`  ship  median ${f(quantile(shipLat, 0.5))}  p90 ${f(quantile(shipLat, 0.9))}`);
    console.log(`  sshd  median ${f(quantile(sshdLat, 0.5))}  p90 ${f(quantile(sshdLat, 0.9))}`);
    console.log(`  ratio ship/sshd (median): ${(quantile(shipLat, 0.5) / quantile(sshdLat, 0.5)).toFixed(2)}`);
    console.log(`${CONCURRENT} concurrent sessions`);
    for (const t of targets) console.log(`  ${t.name}  ${burst[t.name]?.ok}/${CONCURRENT} succeeded in ${f(burst[t.name]?.ms ?? NaN)}`);
    console.log(`  ratio ship/sshd (wall time): ${((burst.ship?.ms ?? NaN) / (burst.sshd?.ms ?? NaN)).toFixed(2)}`);
  } finally {
    await ship.stop();
    await sshd.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
