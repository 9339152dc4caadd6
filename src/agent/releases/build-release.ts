import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, type WriteStream } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitAccess } from '../../headquarters/git.js';
import { BuildFailure, buildpackScriptEnv, compile, releaseInfo, selectBuildpacks, writeEnvDir, type StepContext } from './buildpacks.js';
import { chosenBuildpacks } from './buildpack-list.js';
import { readRepoFile } from './repo-file.js';
import { parseDotenv } from './dotenv.js';
import { resolveEnv, serviceEnvOfHq, withoutShipNames } from './env.js';
import { changedPaths, listTree, storeLayer, unpackLayers, unpinLayer } from './layers.js';
import { checkServiceName, dataPaths, makeReadOnly, removeTree } from '../../data-dir/data-paths.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import { inProgress, publicConfig } from './release-store.js';
import { buildPlaces, buildSandbox, removeBuildPlaces, stepSandbox } from './step-sandbox.js';
import type { SandboxHost } from '../sandbox/sandbox.js';
import { redactCredentials } from '../../util/redact.js';
import { healthcheckPath, healthcheckTimeout, processTypes } from './settings.js';
import { readAppJson } from './app-json.js';
import { runPredeploy } from './predeploy.js';
import { exportTree, fetchCommit } from './source.js';
import { baseBin, baseMount, pathWithBase } from './bases/base-paths.js';
import type { BuildInput, LayerRef, LineSink, Release, ReleaseConfig } from '../types.js';

export { listReleases, loadRelease, markServing, pruneReleases, removeService, servingRelease } from './release-store.js';

export const DEFAULT_BUILD_TIMEOUT_MS = 15 * 60_000;

export interface BuildOptions {
  readonly dataDir: string;
  readonly access: GitAccess;
  readonly log: LineSink;
  readonly signal?: AbortSignal;
  /** Limit for the buildpack scripts together (default 15 min); on expiry their process group is killed. */
  readonly timeoutMs?: number;
  /** The sandbox every buildpack script runs in; null only for the process runtime; default: this host's (see buildSandbox). */
  readonly sandbox?: SandboxHost | null;
  /** A build step silent this long says what it waits for (STARPHLEET_BUILD_QUIET, default 60 s); 0: never. */
  readonly quietMs?: number;
}

export const DEFAULT_BUILD_QUIET_MS = 60_000;

/** A failed build: the message is the one line to show; every line is also in logFile. Nothing of it was kept. */
export class BuildError extends Error {
  constructor(
    message: string,
    readonly releaseId: string,
    readonly logFile: string,
  ) {
    super(message);
    this.name = 'BuildError';
  }
}

/** `<UTC yyyymmddHHMMSS>-<sha7>`: sorts by time; `-2`, `-3`... when that name was used already. */
async function newReleaseId(dataDir: string, service: string, sha: string, at: Date): Promise<string> {
  const base = `${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${sha.slice(0, 7)}`;
  const releases = dataPaths.releases(dataDir, service);
  const logs = dataPaths.logs(dataDir, service);
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    if (![join(releases, id), join(releases, `${id}.json`), join(logs, `build-${id}.log`)].some((p) => existsSync(p))) return id;
  }
}

/**
 * The repo's `.env` as data; bad lines are reported (file:line) and skipped. STARPHLEET_* names are the ship's (limits,
 * base...): a repo's are left out, and the build log says which.
 */
async function repoDotenv(appDir: string, log: LineSink): Promise<Record<string, string>> {
  let text: string | null;
  try {
    text = await readRepoFile(appDir, '.env');
  } catch (e) {
    throw new BuildFailure((e as Error).message);
  }
  if (text === null) return {};
  const { env, problems } = parseDotenv(text);
  for (const p of problems) log(`.env:${p.line}: ${p.message} (line ignored)`);
  const kept = withoutShipNames(env);
  if (kept.ignored.length > 0) log(`warning: .env sets ${kept.ignored.join(', ')}: ignored (a service repo configures its service, never the ship: limits and other STARPHLEET_* settings come from HQ orders)`);
  return kept.env;
}

/**
 * Builds one release: the tree at the sha -> buildpack -> layers (source, build, config) -> the merged tree unpacked
 * from exactly those layers into services/<name>/releases/<id>/ (read-only) -> releases/<id>.json. Every step works in
 * a temp dir and moves into place at the end, so a failed or cancelled build leaves no release behind.
 */
export async function buildRelease(input: BuildInput, opts: BuildOptions): Promise<Release> {
  const { dataDir } = opts;
  const service = checkServiceName(input.service);
  if (!/^[0-9a-f]{40}$/.test(input.sha)) throw new Error(`build of ${service}: ${JSON.stringify(input.sha)} is not a full commit sha`);
  if (inProgress.has(service)) throw new Error(`a build of ${service} is already running (${inProgress.get(service)})`);
  inProgress.set(service, 'starting');
  let work: string | undefined;
  let logStream: WriteStream | undefined;
  const layers: LayerRef[] = [];
  try {
    const deployTime = new Date();
    const id = await newReleaseId(dataDir, service, input.sha, deployTime);
    inProgress.set(service, id);
    const logFile = join(dataPaths.logs(dataDir, service), `build-${id}.log`);
    await mkdir(dataPaths.logs(dataDir, service), { recursive: true });
    const stream = (logStream = createWriteStream(logFile, { flags: 'a' }));
    // A log file that cannot be written (disk full) must not take the ship down: the lines still stream to the caller.
    stream.once('error', (e) => opts.log(`warning: cannot write ${logFile}: ${e.message}`));
    // A repo or buildpack URL with credentials (and git's errors quoting it) shows as https://***@host.
    const log: LineSink = (raw) => {
      const line = redactCredentials(raw);
      stream.write(`${line}\n`);
      opts.log(line);
    };
    const tmpRoot = dataPaths.tmp(dataDir);
    await mkdir(tmpRoot, { recursive: true });
    await removeLeftovers(tmpRoot, service);
    work = await mkdtemp(join(tmpRoot, `build-${service}-`));
    try {
      const release = await build(input, opts, { id, work, deployTime, log, layers });
      const procs = Object.entries(release.config.processes ?? {}).map(([t, c]) => `${t}: ${c}`).join('; ');
      log(`-----> Release ${id} of ${service} is ready (${release.config.buildpack}; ${procs})`);
      return release;
    } catch (e) {
      const message = opts.signal?.aborted ? 'build cancelled' : (e as Error).message;
      log(`!      build failed: ${message}`);
      throw new BuildError(message, id, logFile);
    }
  } finally {
    for (const l of layers) unpinLayer(l.sha256);
    if (work !== undefined) {
      await removeTree(work).catch(() => undefined);
      try {
        removeBuildPlaces(dataDir, service, work);
      } catch {
        // Its volume is gone (stop --all meanwhile): nothing left to remove.
      }
    }
    inProgress.delete(service);
    const stream = logStream;
    if (stream) await new Promise<void>((r) => stream.end(r));
  }
}

/** A build the ship was killed in the middle of left its temp dir: nobody else uses it (one build per service). */
async function removeLeftovers(tmpRoot: string, service: string): Promise<void> {
  const mine = `build-${service}-`;
  // mkdtemp adds exactly six characters: service `a` must not take the leftovers of service `a-b`.
  for (const name of await readdir(tmpRoot)) if (name.startsWith(mine) && /^[A-Za-z0-9]{6}$/.test(name.slice(mine.length))) await removeTree(join(tmpRoot, name));
}

interface BuildState {
  readonly id: string;
  readonly work: string;
  readonly deployTime: Date;
  readonly log: LineSink;
  /** Filled as layers are stored, so the caller unpins them whatever happens. */
  readonly layers: LayerRef[];
}

async function build(input: BuildInput, opts: BuildOptions, s: BuildState): Promise<Release> {
  const { dataDir, access, signal } = opts;
  const { work, log } = s;
  const checkAborted = (): void => {
    if (signal?.aborted) throw new BuildFailure('build cancelled');
  };
  const timeoutMs = opts.timeoutMs ?? DEFAULT_BUILD_TIMEOUT_MS;
  const host = opts.sandbox === undefined ? buildSandbox() : opts.sandbox;

  log(`-----> Fetching ${input.giturl} at ${input.sha}`);
  const repo = await fetchCommit(dataDir, input.giturl, input.sha, access);
  const sourceDir = join(work, 'source');
  await exportTree(repo, input.sha, sourceDir);
  s.layers.push(await storeLayer(dataDir, sourceDir, [...(await listTree(sourceDir)).keys()], 'source', input.sha));
  checkAborted();

  const sources = { repoEnv: await repoDotenv(sourceDir, log), ordersEnv: input.ordersEnv, hqEnv: input.hqEnv, giturl: input.giturl, shipName: input.shipName, deployTime: s.deployTime };
  const buildEnv = resolveEnv(sources);
  // The dirs the build's scripts write are on the service's volume (bounded by STARPHLEET_DISK) when sandboxed.
  const places = await buildPlaces(host, { dataDir, work, service: input.service, env: buildEnv });
  const buildDir = places.buildDir;
  await cp(sourceDir, buildDir, { recursive: true, verbatimSymlinks: true });
  const envDir = join(work, 'env');
  await writeEnvDir(envDir, buildEnv);
  const cacheDir = places.cacheDir;
  await mkdir(cacheDir, { recursive: true });
  const scriptEnv = buildpackScriptEnv(places.home, input.sha, host !== null);
  let sandbox = host ? await stepSandbox(host, { dataDir, work, buildDir, cacheDir, envDir, service: input.service, env: buildEnv, home: places.home, ...(places.volume ? { volume: places.volume } : {}) }) : null;
  if (input.base) {
    // A container base: read-only at its prefix in every build step, its bin/ first on their PATH.
    scriptEnv.PATH = pathWithBase(scriptEnv.PATH, baseBin(dataDir, input.base, sandbox !== null));
    if (sandbox) sandbox = { ...sandbox, mounts: [...sandbox.mounts, baseMount(dataDir, input.base)] };
  }
  const ctx: StepContext = {
    log,
    deadline: Date.now() + timeoutMs,
    timeoutMs,
    scriptEnv,
    sandbox,
    dataDir,
    quietMs: opts.quietMs ?? DEFAULT_BUILD_QUIET_MS,
    ...(signal ? { signal } : {}),
  };
  // BUILDPACK_URL of HQ (orders, .starphleet) is fetched with the ship's git access; the repo's own (.env,
  // .buildpacks) only from public URLs, without it (see buildpack-fetch.ts).
  const fromHq = { ...input.ordersEnv, ...serviceEnvOfHq(input.hqEnv) }.BUILDPACK_URL;
  const url = buildEnv.BUILDPACK_URL === undefined ? undefined : { value: buildEnv.BUILDPACK_URL, fromHq: fromHq !== undefined };
  const bps = await selectBuildpacks(buildDir, work, await chosenBuildpacks(buildDir, url, log), { dataDir, access }, ctx);
  for (const bp of bps) await compile(bp, buildDir, cacheDir, envDir, ctx);
  const bpRelease = await releaseInfo(bps, buildDir, ctx);
  const bpShip = withoutShipNames(bpRelease.configVars).ignored;
  if (bpShip.length > 0) log(`warning: bin/release sets ${bpShip.join(', ')}: ignored (STARPHLEET_* settings come from HQ orders only)`);
  checkAborted();

  // app.json is read before anything of it runs: a malformed one fails the build, naming the file and position.
  const manifest = await readAppJson(buildDir);
  const types = await processTypes(buildDir, bpRelease, log);
  const env = resolveEnv({ ...sources, buildpackDefaults: bpRelease.configVars });
  // Dokku's predeploy runs in the built tree before it is stored: what it writes is part of the release.
  if (manifest.predeploy !== undefined) await runPredeploy(manifest.predeploy, buildDir, env, ctx);
  checkAborted();

  const added = await changedPaths(sourceDir, buildDir, (p) => log(`warning: ${p} is not a file, directory or symlink: left out of the release`));
  s.layers.push(await storeLayer(dataDir, buildDir, added, 'build', bps.map((b) => b.version).join(' + ')));

  const settings = {
    service: input.service,
    id: s.id,
    giturl: redactCredentials(input.giturl),
    sha: input.sha,
    createdAt: s.deployTime.toISOString(),
    env,
    command: types.processes.web ?? '',
    processes: types.processes,
    ...(types.release !== undefined ? { releaseCommand: types.release } : {}),
    manifest,
    healthcheck: await healthcheckPath(buildDir, env),
    healthcheckTimeoutSeconds: healthcheckTimeout(env),
    buildpack: bps.map((b) => b.name).join(', '),
    ...(input.base ? { base: { name: input.base.name, hash: input.base.hash } } : {}),
    ...(input.inputs !== undefined ? { inputs: input.inputs } : {}),
    ...(input.buildKey !== undefined ? { buildKey: input.buildKey } : {}),
  };
  const configDir = join(work, 'config');
  // The layer (and so the release tree and the SFTP view) names the env, it does not hold its values.
  const configJson = `${JSON.stringify(publicConfig(settings), null, 2)}\n`;
  await writeFileAtomic(join(configDir, '.starphleet', 'release.json'), configJson);
  const configVersion = createHash('sha256').update(configJson).digest('hex');
  s.layers.push(await storeLayer(dataDir, configDir, ['.starphleet', '.starphleet/release.json'], 'config', configVersion));
  checkAborted();

  // The release tree is what the layers give, not the build dir: anyone unpacking them gets the same tree.
  const merged = join(work, 'release');
  await unpackLayers(dataDir, s.layers, merged);
  await makeReadOnly(merged);
  // Its HQ secrets as the deploy opened them: names and sealed copies, never values, never in a layer or the build.
  const config: ReleaseConfig = { ...settings, layers: [...s.layers], ...(input.secrets ? { secrets: input.secrets } : {}) };
  const releases = dataPaths.releases(dataDir, input.service);
  await mkdir(releases, { recursive: true });
  const dir = join(releases, s.id);
  await rename(merged, dir);
  try {
    await writeFileAtomic(join(releases, `${s.id}.json`), `${JSON.stringify(config, null, 2)}\n`, 0o600);
  } catch (e) {
    await removeTree(dir);
    throw e;
  }
  return { config, dir };
}

