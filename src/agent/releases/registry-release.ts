import { existsSync } from 'node:fs';
import { access, constants, mkdir, mkdtemp, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { parseRegistrySource, type RegistrySource } from '../../headquarters/registry-spec.js';
import { parseRegistryConfig, type RegistryConfig } from '../../registry/config-file.js';
import { registryPaths } from '../../data-dir/registry-paths.js';
import { fetchRemoteConfig, fetchRemoteLayer } from '../../registry/remote.js';
import { checkServiceName, dataPaths, makeReadOnly, removeTree } from '../../data-dir/data-paths.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { BuildInput, LayerRef, Release, ReleaseConfig } from '../types.js';
import { BuildFailure } from './buildpacks.js';
import type { BuildOptions } from './build-release.js';
import { resolveEnv } from './env.js';
import { importLayer, storeLayer, unpackLayers, unpinLayer } from './layers.js';
import { inProgress, servingRelease } from './release-store.js';
import { healthcheckPath, healthcheckTimeout, processTypes, type ProcessTypes } from './settings.js';

/**
 * Releases of `autodeploy registry:<N>` and `registry://<ship>/<N>#fp=...` (#22): no git, no buildpack. The
 * configuration's layers are unpacked in order (deploy-agent's merge), a small layer adds the configuration itself
 * (STATEFILE), and the tree runs like any release: its Procfile's processes, its `deploy` script (deploy-agent's, given
 * OLDID, OLDROOT, NEWID, NEWROOT, STATEFILE) as the release phase. The configuration's id stands in for the git sha,
 * so a change of the configuration is a new "sha" at the next pulse.
 */

function sourceOf(giturl: string): RegistrySource {
  const hash = giturl.indexOf('#');
  const r = parseRegistrySource(hash < 0 ? giturl : giturl.slice(0, hash), hash < 0 ? undefined : giturl.slice(hash + 1));
  if ('error' in r) throw new Error(r.error);
  return r;
}

async function readConfig(dataDir: string, giturl: string): Promise<RegistryConfig> {
  const src = sourceOf(giturl);
  if (src.kind === 'remote') return fetchRemoteConfig(dataDir, src);
  const file = registryPaths.config(dataDir, src.config);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(`no configuration ${src.config} in this ship's registry (starphleet registry configurations lists them)`);
  }
  return parseRegistryConfig(text, file);
}

/** The configuration's id (40 hex): the "sha" the reconcile loop compares with what serves. */
export async function resolveRegistryRef(giturl: string, dataDir: string): Promise<string> {
  return (await readConfig(dataDir, giturl)).id;
}

async function newReleaseId(dataDir: string, service: string, sha: string, at: Date): Promise<string> {
  const base = `${at.toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${sha.slice(0, 7)}`;
  for (let n = 1; ; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    if (![join(dataPaths.releases(dataDir, service), id), join(dataPaths.releases(dataDir, service), `${id}.json`)].some((p) => existsSync(p))) return id;
  }
}

export async function buildRegistryRelease(input: BuildInput, opts: BuildOptions): Promise<Release> {
  const { dataDir } = opts;
  const service = checkServiceName(input.service);
  if (inProgress.has(service)) throw new Error(`a build of ${service} is already running (${inProgress.get(service)})`);
  inProgress.set(service, 'starting');
  const layers: LayerRef[] = [];
  let work: string | undefined;
  try {
    const config = await readConfig(dataDir, input.giturl);
    if (config.id !== input.sha) throw new BuildFailure(`configuration ${config.name} changed while deploying (now ${config.id.slice(0, 7)}): the next pulse deploys it`);
    const src = sourceOf(input.giturl);
    const deployTime = new Date();
    const id = await newReleaseId(dataDir, service, input.sha, deployTime);
    inProgress.set(service, id);
    opts.log(`-----> Registry configuration ${config.name} (${config.layers.map((l) => `${l.component}@${l.version}`).join(', ')})`);
    for (const l of config.layers) {
      const file = src.kind === 'remote' ? await fetchRemoteLayer(dataDir, src, l.sha256) : registryPaths.layer(dataDir, l.sha256);
      const ref = await importLayer(dataDir, file, `registry/${l.component}`, l.version);
      layers.push(ref);
      if (ref.sha256 !== l.sha256) throw new BuildFailure(`layer ${l.component}@${l.version}: its archive's sha256 is ${ref.sha256}, the configuration says ${l.sha256}`);
    }
    const tmpRoot = dataPaths.tmp(dataDir);
    await mkdir(tmpRoot, { recursive: true });
    work = await mkdtemp(join(tmpRoot, `registry-${service}-`));
    const dir = join(dataPaths.releases(dataDir, service), id);
    const stateDir = join(work, 'state');
    await writeFileAtomic(join(stateDir, '.starphleet', 'registry.json'), `${JSON.stringify(config, null, 2)}\n`);
    layers.push(await storeLayer(dataDir, stateDir, ['.starphleet', '.starphleet/registry.json'], 'config', config.id));

    const merged = join(work, 'release');
    await unpackLayers(dataDir, layers, merged);
    const old = await servingRelease(dataDir, service);
    const env = {
      ...resolveEnv({ repoEnv: {}, ordersEnv: input.ordersEnv, hqEnv: input.hqEnv, giturl: input.giturl, shipName: input.shipName, deployTime }),
      // deploy-agent's names, for the `deploy` script (and any process that wants them).
      OLDID: old?.config.sha ?? '',
      OLDROOT: old?.dir ?? '',
      NEWID: config.id,
      NEWROOT: dir,
      STATEFILE: join(dir, '.starphleet', 'registry.json'),
    };
    const hasDeploy = await access(join(merged, 'deploy'), constants.X_OK).then(
      () => true,
      () => false,
    );
    // deploy-agent's kind of tree: a `deploy` script and no Procfile. The script is the whole deploy (it runs once,
    // in the sandbox, as the release phase); the release has no process, so it serves no HTTP (unpublished-like).
    const deployOnly = hasDeploy && !existsSync(join(merged, 'Procfile'));
    const types: ProcessTypes = deployOnly
      ? { processes: {} }
      : await processTypes(merged, { defaultProcessTypes: {}, configVars: {} }, opts.log).catch((e: unknown) => {
          throw new BuildFailure(`${(e as Error).message}${hasDeploy ? ' (a deploy script runs once per release; a Procfile says what runs)' : ''}`);
        });
    const releaseCommand = types.release ?? (hasDeploy ? './deploy' : undefined);
    await makeReadOnly(merged);
    const releaseConfig: ReleaseConfig = {
      service,
      id,
      giturl: input.giturl,
      sha: input.sha,
      createdAt: deployTime.toISOString(),
      layers: [...layers],
      env,
      command: types.processes.web ?? '',
      processes: types.processes,
      ...(releaseCommand !== undefined ? { releaseCommand } : {}),
      healthcheck: await healthcheckPath(merged, env),
      healthcheckTimeoutSeconds: healthcheckTimeout(env),
      buildpack: 'registry',
      ...(deployOnly ? { deployOnly: true } : {}),
      ...(input.secrets ? { secrets: input.secrets } : {}),
      ...(input.inputs !== undefined ? { inputs: input.inputs } : {}),
      ...(input.buildKey !== undefined ? { buildKey: input.buildKey } : {}),
    };
    await mkdir(dataPaths.releases(dataDir, service), { recursive: true });
    await rename(merged, dir);
    try {
      await writeFileAtomic(join(dataPaths.releases(dataDir, service), `${id}.json`), `${JSON.stringify(releaseConfig, null, 2)}\n`, 0o600);
    } catch (e) {
      await removeTree(dir);
      throw e;
    }
    opts.log(`-----> Release ${id} of ${service} is ready (registry ${config.name})`);
    return { config: releaseConfig, dir };
  } finally {
    for (const l of layers) unpinLayer(l.sha256);
    if (work !== undefined) await removeTree(work).catch(() => undefined);
    inProgress.delete(service);
  }
}
