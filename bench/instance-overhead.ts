/**
 * What a ship adds around each instance, measured from /proc: a root ship serves N idle one-process node services
 * (a Procfile `web: node server.js`, no npm parent), and for every instance the processes of its sandbox are read:
 * the launcher (root), bwrap, the sandbox's init, the command's shell, and the app itself. Prints RSS and PSS
 * (/proc/<pid>/smaps_rollup: shared pages counted once across the instances) of what surrounds the app, per instance,
 * and the app's own, and checks that no relay (bridge.js) or slirp4netns runs.
 *
 *   npm run bench:instance-overhead [-- --services 20]
 *
 * Run as root (the direct path is the root ship's).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseHostResourcesUnder } from '../src/agent/sandbox/host-registry.js';
import { openDb } from '../src/state/db.js';
import { listInstances } from '../src/state/instances.js';
import { cli, httpGet, statusServices } from '../test/helpers/phleet.js';
import { startShip } from '../test/helpers/ship.js';
import { initRepo } from '../test/helpers/git.js';

const args = process.argv.slice(2);
const i = args.indexOf('--services');
const N = i >= 0 ? Number(args[i + 1]) : 20;

const APP = `require('node:http').createServer((q, s) => s.end('idle\\n')).listen(Number(process.env.PORT));\n`;



interface Mem {
  rss: number;
  pss: number;
}

function mem(pid: number): Mem {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kb('Rss'), pss: kb('Pss') };
}

function stat(pid: number): { ppid: number; pgrp: number; comm: string } {
  const t = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = t.slice(t.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(rest[1]), pgrp: Number(rest[2]), comm: t.slice(t.indexOf('(') + 1, t.lastIndexOf(')')) };
}

/** Every process that descends from pid (its sandbox included: bwrap's children keep their parent links). */
function tree(pid: number, all: number[]): number[] {
  const kids = all.filter((p) => {
    try {
      return stat(p).ppid === pid;
    } catch {
      return false;
    }
  });
  return [pid, ...kids.flatMap((k) => tree(k, all))];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the direct path is the root ship\'s');
  const root = mkdtempSync(join(tmpdir(), 'sp-overhead-'));
  execFileSync('chmod', ['711', root]);
  const dataDir = join(root, 'data');
  try {
    initRepo(join(root, 'app'), { Procfile: 'web: node server.js\n', 'server.js': APP });
    const orders: Record<string, string> = {};
    for (let s = 1; s <= N; s++) orders[`s${s}/orders`] = `autodeploy ${join(root, 'app')}\n`;
    initRepo(join(root, 'hq'), orders);
    const ship = await startShip({ headquarters: join(root, 'hq'), dataDir, pulse: 2 });
    const t0 = Date.now();
    while ((await statusServices(dataDir)).filter((r) => r.state === 'serving').length < N) {
      if (Date.now() - t0 > 900_000) throw new Error('not all services serve after 15 min');
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`${N} services serving after ${((Date.now() - t0) / 1000).toFixed(0)} s; idling 10 s`);
    for (let s = 1; s <= N; s++) await httpGet(ship.httpPort, `/s${s}/`);
    await new Promise((r) => setTimeout(r, 10_000));
    const db = openDb(join(dataDir, 'state.db'));
    const recs = listInstances(db).filter((r) => r.state === 'serving');
    db.close();
    const all = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number);
    let around: Mem = { rss: 0, pss: 0 };
    let app: Mem = { rss: 0, pss: 0 };
    const kinds = new Map<string, Mem & { n: number }>();
    for (const r of recs) {
      for (const pid of tree(r.pid, all)) {
        const m = mem(pid);
        const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        if (cmd.some((c) => c.includes('bridge.js')) || stat(pid).comm === 'slirp4netns') throw new Error(`a relay runs: ${cmd.join(' ')}`);
        const isApp = cmd[0] === 'node' && cmd[1] === 'server.js';
        const kind = isApp ? 'app (node server.js)' : pid === r.pid ? 'launcher (bash, root)' : stat(pid).comm === 'bwrap' ? 'bwrap' : cmd.includes('/run/starphleet/init') ? 'sandbox init (bash, pid 1)' : `${stat(pid).comm}: ${cmd.join(' ').slice(0, 40)}`;
        const k = kinds.get(kind) ?? { rss: 0, pss: 0, n: 0 };
        kinds.set(kind, { rss: k.rss + m.rss, pss: k.pss + m.pss, n: k.n + 1 });
        if (isApp) app = { rss: app.rss + m.rss, pss: app.pss + m.pss };
        else around = { rss: around.rss + m.rss, pss: around.pss + m.pss };
      }
    }
    const per = (kb: number): string => `${(kb / recs.length / 1024).toFixed(2)} MiB`;
    console.log(`instances measured: ${recs.length}`);
    for (const [k, m] of kinds) console.log(`  ${k.padEnd(34)} x${String(m.n).padEnd(3)} RSS ${per(m.rss)} PSS ${per(m.pss)} per instance`);
    console.log(`around the app, per instance: RSS ${per(around.rss)}, PSS ${per(around.pss)} (the app itself: RSS ${per(app.rss)}, PSS ${per(app.pss)})`);
    await ship.stop();
    await cli(dataDir, 'stop', '--all');
  } finally {
    releaseHostResourcesUnder(root);
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
