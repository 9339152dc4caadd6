import { access, constants, lstat, mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { GitAccess } from '../../headquarters/git.js';
import { parseGitRef } from '../../headquarters/giturl.js';
import { PACKAGE_ROOT, VERSION } from '../../version.js';
import { checkPublicHost, fetchPublic, publicUrlProblem } from './buildpack-fetch.js';
import { BUILTIN_BUILDPACKS, builtinOf, type BuildpackChoice, type BuiltinName } from './buildpack-list.js';
import { parseReleaseYaml, type BuildpackRelease } from './procfile.js';
import { runScript, type ScriptOptions, type ScriptResult, type StepSandbox } from './run-script.js';
import { exportTree, fetchCommit, resolveRef } from './source.js';
import type { LineSink } from '../types.js';
import { SANDBOX_PATH } from '../runtime/runtime-types.js';
import { printable } from '../../util/terminal-safe.js';
import { registrySettings } from '../../settings/registry-settings.js';

export { BUILTIN_BUILDPACKS } from './buildpack-list.js';

export const BUILTIN_DIR = join(PACKAGE_ROOT, 'buildpacks');

export interface Buildpack {
  /** Built-in name, or the BUILDPACK_URL as given. */
  readonly name: string;
  /** What the build layer's version says: `node@0.1.0`, or `<url>#<sha>` for a git buildpack. */
  readonly version: string;
  readonly dir: string;
}

/** A build that failed for a reason worth one line to the admiral (the details are in the lines before it). */
export class BuildFailure extends Error {}

export interface StepContext {
  readonly log: LineSink;
  readonly deadline: number;
  readonly signal?: AbortSignal;
  /** The env buildpack scripts run with (not the app's env: that is in ENV_DIR). */
  readonly scriptEnv: Record<string, string>;
  readonly timeoutMs: number;
  /** Every buildpack script runs in it (the buildpack's own dir is added read-only); null only for the process runtime. */
  readonly sandbox: StepSandbox | null;
  /** The data dir, where each step's process group is recorded while it runs. */
  readonly dataDir: string;
  /** A step silent this long says what it waits for (STARPHLEET_BUILD_QUIET); 0: never. */
  readonly quietMs?: number;
}

/** Runs a program of the dir given (mounted read-only, nothing else added) in the build's sandbox, as a build step. */
function runFrom(dir: string, file: string, args: readonly string[], buildDir: string, ctx: StepContext, what: string, extra: Partial<ScriptOptions> = {}): Promise<ScriptResult> {
  const sandbox = ctx.sandbox ? { ...ctx.sandbox, mounts: [...ctx.sandbox.mounts, { src: dir, dest: dir, rw: false }] } : null;
  return runScript(file, args, {
    cwd: buildDir,
    env: ctx.scriptEnv,
    log: ctx.log,
    deadline: ctx.deadline,
    sandbox,
    recordIn: ctx.dataDir,
    what,
    ...(ctx.quietMs !== undefined ? { quietMs: ctx.quietMs } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...extra,
  });
}

/** Runs one buildpack script (bin/detect, bin/compile, bin/release) of the buildpack in bpDir, in the build's sandbox. */
function runStep(bpDir: string, script: string, args: readonly string[], buildDir: string, ctx: StepContext, extra: Partial<ScriptOptions> = {}): Promise<ScriptResult> {
  return runFrom(bpDir, join(bpDir, 'bin', script), args, buildDir, ctx, `${basename(bpDir)} bin/${script}`, extra);
}

/**
 * What buildpack scripts see: a clean env (no ship secrets), a private HOME, the ship's registry settings passed
 * through (settings/registry-settings.ts). A sandboxed step gets the sandbox's fixed PATH, never the ship's own.
 */
export function buildpackScriptEnv(home: string, sha: string, sandboxed = true): Record<string, string> {
  return { PATH: sandboxed ? SANDBOX_PATH : (process.env.PATH ?? SANDBOX_PATH), HOME: home, LANG: 'C.UTF-8', STACK: 'starphleet', SOURCE_VERSION: sha, ...registrySettings() };
}

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function explain(what: string, r: ScriptResult, ctx: StepContext): string {
  // Where it was: the buildpack's last step line and what ran at the end, so a timeout names the step it hung in.
  const at = [r.lastStep !== undefined ? `at ${JSON.stringify(r.lastStep.replace(/^-+>\s*/, ''))}` : '', r.activity ?? ''].filter((x) => x !== '').join(', ');
  const where = at ? ` (${at})` : '';
  if (r.stopped === 'timeout') return `${what} did not finish within the build time limit (${Math.round(ctx.timeoutMs / 1000)} s) and was killed${where}`;
  if (r.stopped === 'aborted') return `${what} was stopped: the build was cancelled`;
  if (r.limit) return `${what} failed: ${r.limit}`;
  return `${what} failed (exit ${r.code ?? 'by signal'})${r.complaint !== undefined ? `: ${r.complaint}` : ''}`;
}

async function detect(bp: { dir: string }, buildDir: string, ctx: StepContext): Promise<ScriptResult> {
  return runStep(bp.dir, 'detect', [buildDir], buildDir, ctx, { captureStdout: true });
}

/** The script that runs the built-ins' bin/detect in one step: see buildpacks/detect-builtins. */
const DETECT_BUILTINS = 'detect-builtins';
const ALL_DETECT = "the built-in buildpacks' bin/detect";

/**
 * What detect-builtins said: how many built-ins it tried (`trying NAME` lines, which must name them in order) and
 * whether the last one tried applied (`applies NAME`, the last line); null when its stdout is anything else.
 */
function detectAnswer(stdout: string): { tried: number; applies: boolean } | null {
  const lines = stdout.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let tried = 0;
  for (const [i, line] of lines.entries()) {
    if (tried < BUILTIN_BUILDPACKS.length && line === `trying ${BUILTIN_BUILDPACKS[tried]}`) tried++;
    else if (i === lines.length - 1 && tried > 0 && line === `applies ${BUILTIN_BUILDPACKS[tried - 1]}`) return { tried, applies: true };
    else return null;
  }
  return { tried, applies: false };
}

/**
 * The first built-in whose own bin/detect accepts the app, in BUILTIN_BUILDPACKS' order, or null when none does. All
 * of them run in one sandbox step (buildpacks/detect-builtins, the built-ins' dir mounted read-only), not one sandbox
 * each: starting a sandbox costs far more CPU than the five detect scripts together (issue 33). The answer is that
 * script's own stdout; the detect scripts' stdout never reaches it. `dir` is where the built-ins are (tests).
 */
export async function detectBuiltin(buildDir: string, ctx: StepContext, dir: string = BUILTIN_DIR): Promise<BuiltinName | null> {
  const r = await runFrom(dir, join(dir, DETECT_BUILTINS), [buildDir, ...BUILTIN_BUILDPACKS], buildDir, ctx, ALL_DETECT, { captureStdout: true });
  const answer = detectAnswer(r.stdout);
  // The last one tried is what ran when the step was stopped: a timeout names the built-in that hung, as before.
  const last = answer !== null && answer.tried > 0 ? (BUILTIN_BUILDPACKS[answer.tried - 1] as BuiltinName) : null;
  if (r.stopped) throw new BuildFailure(explain(last !== null && !answer?.applies ? `${last} bin/detect` : ALL_DETECT, r, ctx));
  if (answer !== null && r.code === 0 && answer.applies) return last;
  if (answer !== null && r.code === 1 && !answer.applies && answer.tried === BUILTIN_BUILDPACKS.length) return null;
  if (r.code !== 0 && r.code !== 1) throw new BuildFailure(explain(ALL_DETECT, r, ctx));
  throw new BuildFailure(`${ALL_DETECT}: ${DETECT_BUILTINS} answered ${JSON.stringify(printable(r.stdout, 200))} (exit ${r.code}): not an answer it gives`);
}

/** A buildpack named by URL: HQ's with the ship's git access, a repo's as anyone would fetch it (see buildpack-fetch.ts). */
async function fetchBuildpack(c: BuildpackChoice, dest: string, o: { dataDir: string; access: GitAccess; workDir: string }, ctx: StepContext): Promise<{ url: string; sha: string }> {
  const spec = parseGitRef(c.spec);
  if ('error' in spec) throw new BuildFailure(`${c.where}: ${JSON.stringify(c.spec)}: ${spec.error}`);
  if (!c.trusted) {
    const problem = publicUrlProblem(spec.url) ?? (await checkPublicHost(spec.url));
    if (problem !== null) throw new BuildFailure(`${c.where}: buildpack ${c.spec} refused: ${problem}`);
  }
  ctx.log(`-----> Fetching buildpack ${c.spec}${c.trusted ? '' : ' (named by the repo: fetched without the ship\'s credentials)'}`);
  try {
    if (!c.trusted) {
      const left = Math.max(1000, ctx.deadline - Date.now());
      const { repo, sha } = await fetchPublic(o.dataDir, spec.url, spec.ref, o.workDir, Math.min(left, 600_000));
      await exportTree(repo, sha, dest);
      return { url: spec.url, sha };
    }
    const sha = await resolveRef(spec.url, spec.ref, o.access, o.dataDir);
    const repo = await fetchCommit(o.dataDir, spec.url, sha, o.access);
    await exportTree(repo, sha, dest);
    return { url: spec.url, sha };
  } catch (e) {
    throw new BuildFailure(`${c.where}: buildpack ${c.spec}: ${(e as Error).message}`);
  }
}

/** One named buildpack, ready to run: a built-in, or fetched into the work dir; its bin/detect (if any) must accept the app. */
async function namedBuildpack(c: BuildpackChoice, n: number, buildDir: string, o: { dataDir: string; access: GitAccess; workDir: string }, ctx: StepContext): Promise<Buildpack> {
  const builtin = builtinOf(c.spec);
  if (builtin !== null) {
    const bp = { name: builtin, version: `${builtin}@${VERSION}`, dir: join(BUILTIN_DIR, builtin) };
    const r = await detect(bp, buildDir, ctx);
    if (r.stopped) throw new BuildFailure(explain(`${builtin} bin/detect`, r, ctx));
    if (r.code !== 0) throw new BuildFailure(`${c.where}: the built-in ${builtin} buildpack does not apply to this app (its bin/detect said no)`);
    return bp;
  }
  const dir = join(o.workDir, `buildpack-${n}`);
  const { url, sha } = await fetchBuildpack(c, dir, o, ctx);
  if (!(await executable(join(dir, 'bin', 'compile')))) throw new BuildFailure(`${c.where}: buildpack ${c.spec}: no executable bin/compile at ${sha.slice(0, 7)}`);
  if (await executable(join(dir, 'bin', 'detect'))) {
    const r = await detect({ dir }, buildDir, ctx);
    if (r.code !== 0) throw new BuildFailure(`${c.where}: buildpack ${c.spec}: ${explain('its bin/detect', r, ctx)}: it does not apply to this app`);
  }
  return { name: c.spec, version: `${url}#${sha}`, dir };
}

/** Whether the app's tree holds this name (any kind of file: it is not opened). */
async function holds(dir: string, name: string): Promise<boolean> {
  try {
    await lstat(join(dir, name));
    return true;
  } catch {
    return false;
  }
}

/**
 * The buildpacks that build the app, in order: those named (BUILDPACK_URL, `.buildpacks`: see chosenBuildpacks), each
 * of which must apply, or else the first built-in whose bin/detect accepts the app. An app with a Dockerfile that no
 * buildpack applies to is told so: this ship runs no container engine.
 */
export async function selectBuildpacks(buildDir: string, workDir: string, choices: readonly BuildpackChoice[], o: { dataDir: string; access: GitAccess }, ctx: StepContext): Promise<Buildpack[]> {
  if (choices.length > 0) {
    const out: Buildpack[] = [];
    for (const [i, c] of choices.entries()) out.push(await namedBuildpack(c, i + 1, buildDir, { ...o, workDir }, ctx));
    if (out.length > 1) ctx.log(`-----> ${out.length} buildpacks, in order: ${out.map((b) => b.name).join(', ')}`);
    return out;
  }
  const name = await detectBuiltin(buildDir, ctx);
  if (name !== null) return [{ name, version: `${name}@${VERSION}`, dir: join(BUILTIN_DIR, name) }];
  if (await holds(buildDir, 'Dockerfile')) throw new BuildFailure('Dockerfile builds are not supported on this ship: add a Procfile or set BUILDPACK_URL');
  throw new BuildFailure('no buildpack applies: add a package.json, go.mod, requirements.txt, index.html or Procfile, or set BUILDPACK_URL');
}

/** ENV_DIR: one file per variable, as Heroku buildpacks read it. */
export async function writeEnvDir(dir: string, env: Readonly<Record<string, string>>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, value] of Object.entries(env)) await writeFile(join(dir, name), value);
}

export async function compile(bp: Buildpack, buildDir: string, cacheDir: string, envDir: string, ctx: StepContext): Promise<void> {
  ctx.log(`-----> Building with ${bp.name}`);
  const r = await runStep(bp.dir, 'compile', [buildDir, cacheDir, envDir], buildDir, ctx);
  if (r.code !== 0 || r.stopped) throw new BuildFailure(explain(`${bp.name} bin/compile`, r, ctx));
}

/** bin/release's default processes and config vars; a buildpack without bin/release has none. */
async function releaseOf(bp: Buildpack, buildDir: string, ctx: StepContext): Promise<BuildpackRelease> {
  const script = join(bp.dir, 'bin', 'release');
  if (!(await executable(script))) return { defaultProcessTypes: {}, configVars: {} };
  const r = await runStep(bp.dir, 'release', [buildDir], buildDir, ctx, { captureStdout: true });
  if (r.code !== 0 || r.stopped) throw new BuildFailure(explain(`${bp.name} bin/release`, r, ctx));
  const { release, problems } = parseReleaseYaml(r.stdout);
  for (const p of problems) ctx.log(`warning: ${bp.name} bin/release output line ${p.line}: ${p.message}`);
  return release;
}

/**
 * Every buildpack's bin/release, merged as Heroku merges them: config vars of all (a later buildpack's win), the
 * default process types of the last buildpack (Heroku: the last buildpack decides them; a Procfile wins over both).
 */
export async function releaseInfo(bps: readonly Buildpack[], buildDir: string, ctx: StepContext): Promise<BuildpackRelease> {
  const configVars: Record<string, string> = {};
  let defaultProcessTypes: Record<string, string> = {};
  for (const bp of bps) {
    const r = await releaseOf(bp, buildDir, ctx);
    Object.assign(configVars, r.configVars);
    defaultProcessTypes = r.defaultProcessTypes;
  }
  return { defaultProcessTypes, configVars };
}
