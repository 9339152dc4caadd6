import { access, constants, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitAccess } from '../../headquarters/git.js';
import { parseGitRef } from '../../headquarters/giturl.js';
import { PACKAGE_ROOT, VERSION } from '../../version.js';
import { parseReleaseYaml, type BuildpackRelease } from './procfile.js';
import { runScript, type ScriptOptions, type ScriptResult, type StepSandbox } from './run-script.js';
import { exportTree, fetchCommit, resolveRef } from './source.js';
import type { LineSink } from '../types.js';
import { SANDBOX_PATH } from '../runtime/runtime-types.js';

/** Tried in this order; the first whose bin/detect exits 0 builds the app (see buildpacks/README.md). */
export const BUILTIN_BUILDPACKS = ['node', 'python', 'static', 'procfile'] as const;

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
}

/** Runs one buildpack script (bin/detect, bin/compile, bin/release) of the buildpack in bpDir, in the build's sandbox. */
function runStep(bpDir: string, script: string, args: readonly string[], buildDir: string, ctx: StepContext, extra: Partial<ScriptOptions> = {}): Promise<ScriptResult> {
  const sandbox = ctx.sandbox ? { ...ctx.sandbox, mounts: [...ctx.sandbox.mounts, { src: bpDir, dest: bpDir, rw: false }] } : null;
  return runScript(join(bpDir, 'bin', script), args, {
    cwd: buildDir,
    env: ctx.scriptEnv,
    log: ctx.log,
    deadline: ctx.deadline,
    sandbox,
    recordIn: ctx.dataDir,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...extra,
  });
}

/** What buildpack scripts see: a clean env (no ship secrets), a private HOME, proxies passed through. */
export function buildpackScriptEnv(home: string, sha: string, sandboxed = true): Record<string, string> {
  // A sandboxed step gets a fixed env: nothing of the ship's own (its PATH, a proxy URL with its credentials) reaches it.
  const env: Record<string, string> = { PATH: sandboxed ? SANDBOX_PATH : (process.env.PATH ?? SANDBOX_PATH), HOME: home, LANG: 'C.UTF-8', STACK: 'starphleet', SOURCE_VERSION: sha };
  if (sandboxed) return env;
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  return env;
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
  if (r.stopped === 'timeout') return `${what} did not finish within the build time limit (${Math.round(ctx.timeoutMs / 1000)} s) and was killed`;
  if (r.stopped === 'aborted') return `${what} was stopped: the build was cancelled`;
  if (r.limit) return `${what} failed: ${r.limit}`;
  return `${what} failed (exit ${r.code ?? 'by signal'})`;
}

async function detect(bp: { dir: string }, buildDir: string, ctx: StepContext): Promise<ScriptResult> {
  return runStep(bp.dir, 'detect', [buildDir], buildDir, ctx, { captureStdout: true });
}

/** BUILDPACK_URL when set (fetched through the same cached clones as service repos), else the first built-in that detects. */
export async function selectBuildpack(
  buildDir: string,
  workDir: string,
  buildpackUrl: string | undefined,
  o: { dataDir: string; access: GitAccess },
  ctx: StepContext,
): Promise<Buildpack> {
  if (buildpackUrl !== undefined && buildpackUrl.trim() !== '') {
    const spec = parseGitRef(buildpackUrl.trim());
    if ('error' in spec) throw new BuildFailure(`BUILDPACK_URL ${JSON.stringify(buildpackUrl)}: ${spec.error}`);
    ctx.log(`-----> Fetching buildpack ${buildpackUrl}`);
    let sha: string;
    let dir: string;
    try {
      sha = await resolveRef(spec.url, spec.ref, o.access, o.dataDir);
      const repo = await fetchCommit(o.dataDir, spec.url, sha, o.access);
      dir = join(workDir, 'buildpack');
      await exportTree(repo, sha, dir);
    } catch (e) {
      throw new BuildFailure(`BUILDPACK_URL ${buildpackUrl}: ${(e as Error).message}`);
    }
    if (!(await executable(join(dir, 'bin', 'compile')))) throw new BuildFailure(`BUILDPACK_URL ${buildpackUrl}: no executable bin/compile at ${sha.slice(0, 7)}`);
    if (await executable(join(dir, 'bin', 'detect'))) {
      const r = await detect({ dir }, buildDir, ctx);
      if (r.code !== 0) throw new BuildFailure(`BUILDPACK_URL ${buildpackUrl}: ${explain('its bin/detect', r, ctx)}: it does not apply to this app`);
    }
    return { name: buildpackUrl, version: `${spec.url}#${sha}`, dir };
  }
  for (const name of BUILTIN_BUILDPACKS) {
    const dir = join(BUILTIN_DIR, name);
    const r = await detect({ dir }, buildDir, ctx);
    if (r.stopped) throw new BuildFailure(explain(`${name} bin/detect`, r, ctx));
    if (r.code === 0) return { name, version: `${name}@${VERSION}`, dir };
  }
  throw new BuildFailure('no buildpack applies: add a package.json, requirements.txt, index.html or Procfile, or set BUILDPACK_URL');
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
export async function releaseInfo(bp: Buildpack, buildDir: string, ctx: StepContext): Promise<BuildpackRelease> {
  const script = join(bp.dir, 'bin', 'release');
  if (!(await executable(script))) return { defaultProcessTypes: {}, configVars: {} };
  const r = await runStep(bp.dir, 'release', [buildDir], buildDir, ctx, { captureStdout: true });
  if (r.code !== 0 || r.stopped) throw new BuildFailure(explain(`${bp.name} bin/release`, r, ctx));
  const { release, problems } = parseReleaseYaml(r.stdout);
  for (const p of problems) ctx.log(`warning: ${bp.name} bin/release output line ${p.line}: ${p.message}`);
  return release;
}
