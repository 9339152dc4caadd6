import { realpath } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { runProgram } from '../../util/run-program.js';
import { BuildError } from '../../agent/releases/build-release.js';
import { ensureRepo, repoDir } from '../../agent/releases/source.js';
import { withLock } from '../../agent/releases/key-lock.js';
import { pushRepoPath, pushServiceName } from '../../data-dir/push-names.js';
import { auditPushUpdate, getPush } from '../../state/push-audit.js';
import type { CommandContext } from '../command.js';
import { quarantineEnv, treeTooLarge } from './push-tree-size.js';

const SHA = /^[0-9a-f]{40}$/;
const ZERO = /^0{40}$/;
const BRANCH = /^refs\/heads\/[A-Za-z0-9._\/-]{1,200}$/;
/** git 2.39 names its quarantine dir tmp_objdir-incoming-XXXXXX, directly under the repo's objects/. */
const QUARANTINE = /^tmp_objdir-incoming-[A-Za-z0-9]{1,32}$/;

/** The quarantine dir the hook reports, accepted only where git puts it for this very repo. */
async function checkQuarantine(repo: string, path: string): Promise<string | null> {
  if (path === '') return null;
  const real = await realpath(path).catch(() => '');
  const objects = await realpath(join(repo, 'objects')).catch(() => '?');
  if (dirname(real) !== objects || !QUARANTINE.test(basename(real))) throw new Error(`quarantine dir ${JSON.stringify(path)} is not inside ${repo}/objects`);
  return real;
}

/**
 * Copies the pushed commit into the build side's source clone of the push repo. Until the hook says yes, the objects
 * are only in git's quarantine dir, which nothing but this push's git processes can see; a `git push` run with the
 * hook's object dirs hands them over, so the build then finds the sha in its clone without fetching.
 */
async function handOver(dataDir: string, repo: string, quarantine: string | null, sha: string): Promise<void> {
  const clone = await withLock(repoDir(dataDir, repo), () => ensureRepo(dataDir, repo));
  const env = quarantineEnv(repo, quarantine);
  const r = await withLock(clone, () =>
    runProgram('git', ['push', '--quiet', '--no-verify', clone, `+${sha}:refs/starphleet/pushed`], { cwd: repo, env, extendEnv: false }),
  );
  if (r.failed) throw new Error(`cannot hand the pushed commit to the build: ${String(r.stderr).trim() || r.message}`);
}

function fail(ctx: CommandContext, id: number | null, message: string): number {
  if (id !== null) auditPushUpdate(ctx.ship.db, id, { result: 'rejected', message });
  ctx.err(`starphleet: ${message}\n`);
  return 1;
}

/** The push-build command (push-build.ts): checks the ref update, hands the commit over, builds it. */
export async function pushBuild(args: readonly string[], ctx: CommandContext): Promise<number> {
  const [idArg = '', quarantineArg = '', ...updates] = args;
  const id = /^[1-9][0-9]{0,15}$/.test(idArg) ? Number(idArg) : null;
  const push = id === null ? undefined : getPush(ctx.ship.db, id);
  if (id === null || !push || push.result !== 'receiving') return fail(ctx, null, 'pushes are built only when they come through ssh://git@SHIP (no push session found)');
  if (updates.length !== 1) return fail(ctx, id, `push one branch at a time (this push updates ${updates.length} refs)`);
  const [old = '', sha = '', ref = ''] = (updates[0] as string).split(' ');
  if (!BRANCH.test(ref)) return fail(ctx, id, `only branches are built: ${JSON.stringify(ref)} refused`);
  if (!SHA.test(sha) || !SHA.test(old)) return fail(ctx, id, `malformed ref update ${JSON.stringify(updates[0])}`);
  if (ZERO.test(sha)) return fail(ctx, id, `deleting ${ref} is not supported: push a commit to replace it`);
  const { ship } = ctx;
  const dataDir = ship.options.dataDir;
  const repo = pushRepoPath(dataDir, push.name);
  if (repo === null) return fail(ctx, id, `bad push name ${JSON.stringify(push.name)}`);
  const service = pushServiceName(push.name);
  if (ship.headquarters.current?.services.some((s) => s.name === service)) return fail(ctx, id, `${service} is the name of a service HQ orders: pick another push name`);
  auditPushUpdate(ship.db, id, { result: 'building', ref, sha });
  try {
    const quarantine = await checkQuarantine(repo, quarantineArg);
    const tooLarge = await treeTooLarge(repo, quarantine, sha);
    if (tooLarge !== null) return fail(ctx, id, `${tooLarge}; ${ref} stays where it was`);
    await handOver(dataDir, repo, quarantine, sha);
  } catch (e) {
    return fail(ctx, id, (e as Error).message);
  }
  try {
    const release = await ship.agent.buildPush({ service, repo, sha, hqEnv: ship.headquarters.current?.env ?? {}, log: (line) => ctx.out(`${line}\n`), signal: ctx.signal });
    auditPushUpdate(ship.db, id, { result: 'built', release: release.config.id });
    ctx.out(`-----> Built ${push.name} at ${sha.slice(0, 7)}: the push is accepted, the test instance starts next\n`);
    return 0;
  } catch (e) {
    const why = e instanceof BuildError ? `${e.message} (log: ${e.logFile})` : (e as Error).message;
    return fail(ctx, id, `build of ${push.name} at ${sha.slice(0, 7)} failed: ${why}; the push is rejected and ${ref} stays where it was`);
  }
}
