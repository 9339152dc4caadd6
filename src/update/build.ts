import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup } from '../util/process-group.js';
import { buildEnv, type BuildIdentity } from './build-identity.js';
import { placeDependencies } from './dependency-tree.js';

/** Where a step's output goes, line by line as it comes (an admiral's update@ session). */
export type Progress = (text: string) => void;

export class StepFailed extends Error {}

/**
 * Runs one build step in dir with its output streamed to progress; rejects with StepFailed naming the step and how it
 * ended (exit code, signal, time limit). Its own process group, so the time limit or an abort ends npm's children too.
 */
export function runStep(
  what: string,
  cmd: string,
  args: readonly string[],
  o: { cwd: string; progress: Progress; timeoutMs: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv; as?: BuildIdentity | null },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const who = o.as ? { uid: o.as.uid, gid: o.as.gid } : {};
    const child = spawn(cmd, [...args], { cwd: o.cwd, env: o.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...who });
    let out = '';
    let why = '';
    const kill = (reason: string): void => {
      why ||= reason;
      killGroup(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => kill(`timed out after ${o.timeoutMs / 1000} s`), o.timeoutMs);
    const onAbort = (): void => kill('aborted: the caller went away');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const take = (b: Buffer): void => {
      const s = b.toString('utf8');
      out += s;
      o.progress(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => {
      why ||= e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && !why) return resolve(out);
      reject(new StepFailed(`${what} failed: ${why || (signal ? `killed by ${signal}` : `exit ${code}`)}`));
    });
  });
}

/** The same package-lock.json as the running version: its installed node_modules are what `npm ci` would produce. */
export function sameLockfile(a: string, b: string): boolean {
  const fa = join(a, 'package-lock.json');
  const fb = join(b, 'package-lock.json');
  return existsSync(fa) && existsSync(fb) && existsSync(join(b, 'node_modules')) && readFileSync(fa).equals(readFileSync(fb));
}

export interface BuildOptions {
  readonly dir: string;
  /** The running version's package root: its node_modules are copied when the lock file did not change. */
  readonly runningRoot: string;
  readonly progress: Progress;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** HOME and npm cache of a build run as this process's user (made here); a build user gets one of its own. */
  readonly home: string;
  /** Who runs npm and the new version's check when the ship is root (build-identity.ts); null: this process's user. */
  readonly as: BuildIdentity | null;
  /** The ship's env, of which the build gets only what build-identity.ts passes. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Installs and builds a fetched version, then checks it: its own `starphleet version` must run and print a version.
 * Dependencies: `npm ci`, unless package-lock.json is byte-identical to the running version's, in which case the
 * running node_modules are copied (same lock file and same node: the tree npm ci would make, without rebuilding native
 * modules, which takes minutes). Returns the new version string.
 * The install and build scripts (the new version's and its dependencies') run with a minimal env, and as `o.as`
 * when the ship is root: what they can reach is the version's own directory. The tree is then copied afresh by
 * root (new files, owned by root, no setuid bit), so nothing the build user still holds open can change what runs.
 */
export async function buildVersion(o: BuildOptions): Promise<string> {
  const root = { cwd: o.dir, progress: o.progress, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
  const same = sameLockfile(o.dir, o.runningRoot);
  if (!o.as) {
    const seeded = same ? await seedFromRunning(o.runningRoot, o.dir, root) : null;
    mkdirSync(o.home, { recursive: true, mode: 0o700 });
    const version = await installAndBuild(o.dir, { ...root, env: buildEnv(o.env ?? process.env, o.home), as: null });
    if (seeded) pruned(o.dir, seeded, o.progress);
    return version;
  }
  // The data dir is closed to other users: the build user works on a copy in a directory of its own under the
  // system's temporary directory, and root copies the result back. With the running version's lock file its
  // node_modules stay root's: root puts them in the copy (hard links when the running tree is root's alone:
  // dependency-tree.ts) before the copy is handed over, and hands over everything but them, so the build reads them
  // and cannot change them; the sealed version gets the running version's tree again, placed by root, whatever the
  // build left at that name. (They were copied twice, 219 MB each time, and walked by chown and chmod.)
  const work = mkdtempSync(join(tmpdir(), 'starphleet-update-'));
  try {
    const src = join(work, 'src');
    const home = join(work, 'home');
    mkdirSync(home, { mode: 0o700 });
    await runStep('copying the version for its build', 'cp', ['-a', '--', o.dir, src], { ...root, cwd: '/' });
    const seeded = same ? await seedFromRunning(o.runningRoot, src, { ...root, cwd: '/' }, 'root') : null;
    o.progress(`npm and the build run as ${o.as.user} (uid ${o.as.uid}), with a minimal environment\n`);
    const owner = `${o.as.uid}:${o.as.gid}`;
    const keep = same ? ['-path', join(src, 'node_modules'), '-prune', '-o'] : [];
    await runStep('handing the copy to the build user', 'find', [work, ...keep, '-exec', 'chown', '--no-dereference', owner, '{}', '+'], { ...root, cwd: '/' });
    const version = await installAndBuild(src, { ...root, cwd: src, env: buildEnv(o.env ?? process.env, home), as: o.as });
    await sealAsRoot(src, o.dir, { ...root, cwd: '/' }, same ? join(o.runningRoot, 'node_modules') : null);
    // On root's own copy, never in the build user's tree (which it could have turned into links anywhere).
    if (seeded) pruned(o.dir, seeded, o.progress);
    return version;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * With the running version's lock file: its node_modules (what `npm ci` would make), and its compiled dist/ with
 * tsc's incremental record (dist/.tsbuildinfo), so tsc compiles only the sources that changed, by content hash (a
 * version bump took 3.5 CPU-seconds instead of 11.6). The same lock file means the same compiler.
 */
async function seedFromRunning(running: string, dest: string, step: { cwd: string; progress: Progress; timeoutMs: number; signal?: AbortSignal }, deps: 'copy' | 'root' = 'copy'): Promise<string | null> {
  step.progress('dependencies unchanged: copying node_modules of the running version\n');
  const from = join(running, 'node_modules');
  if (deps === 'copy') {
    await runStep('copying node_modules', 'cp', ['-a', '--', from, join(dest, 'node_modules')], step);
  } else if ((await placeDependencies(from, join(dest, 'node_modules'), (what, cmd, args) => runStep(what, cmd, args, step))) === 'linked') {
    step.progress('(as hard links: the running tree is root\'s alone, and stays root\'s: the build only reads it)\n');
  }
  const record = join(running, 'dist', TSBUILDINFO);
  if (!existsSync(record)) return null;
  step.progress('compiler unchanged: tsc starts from the running version\'s output\n');
  await runStep('copying the running version\'s output', 'cp', ['-a', '--', join(running, 'dist'), join(dest, 'dist')], step);
  sameConfigTime(running, dest);
  return record;
}

/**
 * `tsc -b` takes a tsconfig.json newer than its record for a changed setup and builds the whole program again (2.4
 * CPU-s for this tree) even when no source differs. The checkout is newer than any record; when its tsconfig.json
 * is byte for byte the running version's, it gets that file's time, and tsc compares the sources by content hash
 * (0.2 CPU-s when none changed). Only regular files, never through a link: the new version's tree is read as hostile.
 */
export function sameConfigTime(running: string, dest: string): void {
  const from = join(running, 'tsconfig.json');
  const to = join(dest, 'tsconfig.json');
  const a = lstatSync(from, { throwIfNoEntry: false });
  const b = lstatSync(to, { throwIfNoEntry: false });
  if (!a?.isFile() || !b?.isFile() || a.size !== b.size || !readFileSync(from).equals(readFileSync(to))) return;
  utimesSync(to, a.atime, a.mtime);
}

/** tsc's incremental record, as tsconfig.json names it. */
const TSBUILDINFO = '.tsbuildinfo';

/**
 * Output of sources the new version no longer has (an incremental build keeps what it did not write): removed, or a
 * deleted module would still sit in dist/, importable. The sources the seed was compiled from are the ones its tsc
 * record lists (`../src/X.ts`): each of those missing from this version's src/ takes `dist/X.js` and its map along.
 */
export function pruneOrphans(dir: string, seedRecord: string): string[] {
  let names: unknown;
  try {
    names = (JSON.parse(readFileSync(seedRecord, 'utf8')) as { fileNames?: unknown }).fileNames;
  } catch {
    return [];
  }
  if (!Array.isArray(names)) return [];
  // Only regular files whose every folder from dist/ down is a real folder inside it: no link is followed.
  const dist = join(dir, 'dist');
  const inside = (rel: string): boolean => {
    let at = dist;
    for (const part of ['', ...rel.split('/').slice(0, -1)]) {
      at = part ? join(at, part) : at;
      if (!lstatSync(at, { throwIfNoEntry: false })?.isDirectory()) return false;
    }
    return lstatSync(join(dist, rel), { throwIfNoEntry: false })?.isFile() === true;
  };
  const removed: string[] = [];
  for (const name of names) {
    const m = typeof name === 'string' ? /^\.\.\/src\/((?:[\w-][\w.-]*\/)*[\w-][\w.-]*)\.ts$/.exec(name) : null;
    if (!m || m[1]?.endsWith('.d') || existsSync(join(dir, 'src', `${m[1]}.ts`))) continue;
    for (const out of [`${m[1]}.js`, `${m[1]}.js.map`]) {
      if (!inside(out)) continue;
      rmSync(join(dist, out));
      removed.push(out);
    }
  }
  return removed;
}

function pruned(dir: string, seedRecord: string, progress: Progress): void {
  const gone = pruneOrphans(dir, seedRecord);
  if (gone.length > 0) progress(`removed the output of ${gone.length} source file(s) this version no longer has\n`);
}

async function installAndBuild(dir: string, step: { cwd: string; progress: Progress; timeoutMs: number; signal?: AbortSignal; env: NodeJS.ProcessEnv; as: BuildIdentity | null }): Promise<string> {
  if (!existsSync(join(dir, 'node_modules'))) {
    step.progress('$ npm ci\n');
    await runStep('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], { ...step, cwd: dir });
  }
  step.progress('$ npm run build\n');
  await runStep('npm run build', 'npm', ['run', 'build'], { ...step, cwd: dir });
  return checkVersion(dir, { ...step, cwd: dir });
}

/**
 * Puts a copy of `built` made by root in place of `dest`: new inodes owned by root without setuid bits or group and
 * other write, so nothing the build user still holds open (a process a dependency left behind) changes what runs.
 * With `deps` (the running version's node_modules, when the lock file is the same) the copy's node_modules is that
 * tree, placed by root, whatever the build left at that name.
 */
async function sealAsRoot(built: string, dest: string, step: { cwd: string; progress: Progress; timeoutMs: number }, deps: string | null): Promise<void> {
  const sealed = `${dest}.sealed`;
  rmSync(sealed, { recursive: true, force: true });
  if (deps === null) {
    await runStep('copying the built version back', 'cp', ['-R', '--no-dereference', '--preserve=mode,timestamps,links', '--', built, sealed], step);
  } else {
    // Everything but node_modules (whatever the build left at that name), then the running version's tree.
    mkdirSync(sealed, { mode: 0o755 });
    const entries = readdirSync(built).filter((name) => name !== 'node_modules');
    if (entries.length > 0) await runStep('copying the built version back', 'cp', ['-R', '--no-dereference', '--preserve=mode,timestamps,links', '--', ...entries.map((name) => join(built, name)), sealed], step);
    await placeDependencies(deps, join(sealed, 'node_modules'), (what, cmd, args) => runStep(what, cmd, args, step));
  }
  await runStep('copying the built version back', 'chmod', ['-R', 'ug-s,go-w', '--', sealed], step);
  rmSync(dest, { recursive: true, force: true });
  renameSync(sealed, dest);
}

/** The new build's `starphleet version`, run by the node that will run the ship. */
export async function checkVersion(dir: string, step: { cwd: string; progress: Progress; timeoutMs: number; env?: NodeJS.ProcessEnv; as?: BuildIdentity | null }): Promise<string> {
  const cli = join(dir, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new StepFailed(`the build made no ${cli}`);
  const out = await runStep('the new starphleet version check', process.execPath, [cli, 'version'], { ...step, progress: () => {}, timeoutMs: 60_000 });
  const version = out.trim().split('\n').pop()?.trim() ?? '';
  if (!/^\S+$/.test(version)) throw new StepFailed(`the new starphleet version check printed ${JSON.stringify(out.slice(0, 200))}, not a version`);
  return version;
}
