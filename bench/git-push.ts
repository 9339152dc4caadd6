/**
 * bench/git-push: the SSH transport for git. `git clone` of the same ~50 MB repository (random, incompressible files)
 * from the ship's `git` user and from OpenSSH sshd (started here on loopback, running git-upload-pack itself), same
 * cipher and key exchange, alternating, several rounds; prints the times and the ratio ship/sshd (target <= 1.1).
 *
 *   npm run bench:git-push        (SIZE_MB=50 ROUNDS=5 CIPHER=aes128-gcm@openssh.com by default)
 *
 * Both serve the very same bare repo (<data>/push/bench.git) and packfile. A push is not timed: the ship builds every
 * pushed commit before git accepts it, so a push's time is this same transport plus a build.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gitIn, initRepo } from '../test/helpers/git.js';
import { startSshShip } from '../test/helpers/ssh.js';
import { startSshd } from '../test/helpers/sshd.js';
import { tmpDir } from '../test/helpers/tmp.js';

const SIZE_MB = Number(process.env.SIZE_MB ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CIPHER = process.env.CIPHER ?? 'aes128-gcm@openssh.com';
const KEX = 'curve25519-sha256';

function clone(key: string, url: string, dest: string): Promise<number> {
  const ssh = `ssh -i ${key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR -c ${CIPHER} -o KexAlgorithms=${KEX}`;
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const c = spawn('git', ['clone', '--quiet', '--bare', url, dest], { env: { ...process.env, GIT_SSH_COMMAND: ssh, GIT_CONFIG_NOSYSTEM: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`git clone ${url} exited ${code}`))));
  });
}

/** A repo of SIZE_MB of random 1 MiB files in one commit: nothing for git's delta or zlib to win back. */
function makeRepo(dir: string): void {
  initRepo(dir, { README: 'bench\n' });
  for (let i = 0; i < SIZE_MB; i++) {
    const fd = openSync(join(dir, `blob-${i}.bin`), 'w');
    writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
  }
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', 'random data');
}

async function main(): Promise<void> {
  const dir = tmpDir('sp-bench-git-');
  const src = join(dir, 'src');
  makeRepo(src);
  const { ship, admiral: key } = await startSshShip();
  const dataDir = ship.dataDir;
  // The bare repo where a push would have put it; both servers hand out this one.
  const bare = join(dataDir, 'push', 'bench.git');
  execFileSync('git', ['clone', '--quiet', '--bare', src, bare]);
  execFileSync('git', ['repack', '-a', '-d', '-q'], { cwd: bare });
  const packMb = Number(execFileSync('du', ['-sm', join(bare, 'objects')], { encoding: 'utf8' }).split('\t')[0]);
  const sshd = await startSshd([key.pub], [`Ciphers ${CIPHER}`, `KexAlgorithms ${KEX}`]);
  const times = { ship: [] as number[], sshd: [] as number[] };
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Alternating which goes first, so a warm page cache or a busy neighbour favours neither.
      const order: ('ship' | 'sshd')[] = r % 2 === 0 ? ['ship', 'sshd'] : ['sshd', 'ship'];
      for (const who of order) {
        const dest = join(dir, `clone-${who}-${r}`);
        const url = who === 'ship' ? `ssh://git@127.0.0.1:${ship.sshPort}/bench` : `ssh://${sshd.user}@127.0.0.1:${sshd.port}${bare}`;
        times[who].push(await clone(key.privatePath, url, dest));
        rmSync(dest, { recursive: true, force: true });
      }
    }
  } finally {
    await sshd.stop();
    await ship.stop();
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const fmt = (xs: number[]): string => xs.map((s) => s.toFixed(2)).join(', ');
  console.log(`git clone of a ${packMb} MB repository (${SIZE_MB} random 1 MiB files), cipher ${CIPHER}, kex ${KEX}, ${ROUNDS} rounds`);
  console.log(`  OpenSSH sshd + git-upload-pack: median ${median(times.sshd).toFixed(2)} s  (runs: ${fmt(times.sshd)} s)`);
  console.log(`  starphleet ship (git user):     median ${median(times.ship).toFixed(2)} s  (runs: ${fmt(times.ship)} s)`);
  console.log(`  ratio ship/sshd (median): ${(median(times.ship) / median(times.sshd)).toFixed(2)}x (target <= 1.1x); best-of: ${(Math.min(...times.ship) / Math.min(...times.sshd)).toFixed(2)}x`);
}

await main();
