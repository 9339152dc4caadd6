import type { DesiredState, HtpasswdFile, PreviewEnvFile, SealedFile, Service } from '../../headquarters/types.js';
import type { PreviewRecord } from '../../state/previews.js';

/** The HQ env and sealed files a preview's deploys get in place of its service's (reconcile's inputs). */
export interface PreviewInputs {
  readonly hqEnv: Readonly<Record<string, string>>;
  readonly sealed: readonly SealedFile[];
}

export interface Expanded {
  /** HQ's desired state plus one service per running preview, and their guards. */
  readonly desired: DesiredState;
  readonly inputs: ReadonlyMap<string, PreviewInputs>;
}

function split(env: Readonly<Record<string, string>>): { settings: Record<string, string>; plain: Record<string, string> } {
  const settings: Record<string, string> = {};
  const plain: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) (k.startsWith('STARPHLEET_') ? settings : plain)[k] = v;
  return { settings, plain };
}

/**
 * One preview as a service of its own: its service's orders at the preview's commit (a full sha: nothing to resolve),
 * without PUBLISH_PORT (one port of the ship has one owner), with `STARPHLEET_PREVIEW=<branch>`, the service settings
 * of previews.env (STARPHLEET_MEMORY...) and `<slug>.<name>` as its virtual hosts. Its own name, mount, releases, logs,
 * instances, cgroup and /var/data follow from its name.
 */
export function previewService(parent: Service, r: PreviewRecord, envFile: PreviewEnvFile | undefined): Service {
  const { previews: _previews, ...orders } = parent.orders;
  const { PUBLISH_PORT: _port, ...env } = orders.env;
  return {
    name: r.name,
    mount: r.mount,
    ordersFile: parent.ordersFile,
    ordersDigest: parent.ordersDigest,
    stale: parent.stale,
    orders: { ...orders, ref: r.sha, env: { ...env, ...split(envFile?.env ?? {}).settings, STARPHLEET_PREVIEW: r.branch }, proxyFor: r.hosts },
  };
}

/**
 * The inputs of a preview's deploys: HQ `.starphleet` with previews.env over it (so a previews.env name wins over the
 * orders, the secrets and .starphleet alike), and HQ secrets only with `previews --secrets` (the service's own file
 * then applies at the preview's mount). Without it, no secrets.age file reaches a preview, the phleet-wide one neither.
 */
export function previewInputs(hq: DesiredState, parent: Service, r: PreviewRecord, envFile: PreviewEnvFile | undefined): PreviewInputs {
  const withSecrets = parent.orders.previews?.secrets === true;
  return {
    hqEnv: { ...hq.env, ...split(envFile?.env ?? {}).plain },
    sealed: withSecrets ? (hq.secrets ?? []).map((f) => (f.mount === parent.mount ? { ...f, mount: r.mount } : f)) : [],
  };
}

/** previews.htpasswd when HQ has one for the service, else its .htpasswd: at the preview's mount. */
function guardOf(hq: DesiredState, parent: Service, r: PreviewRecord): HtpasswdFile | null {
  const f = hq.previewHtpasswd?.find((h) => h.mount === parent.mount) ?? hq.htpasswd.find((h) => h.mount === parent.mount);
  return f ? { mount: r.mount, file: f.file, entries: f.entries } : null;
}

/**
 * HQ's desired state with the previews in it: each record to run (wanted, or held while it runs) becomes a service;
 * everything downstream (reconcile, deploys, switches, routes, guards, removal) treats it like any other.
 */
export function expandDesired(hq: DesiredState, records: readonly PreviewRecord[], runs: (r: PreviewRecord) => boolean): Expanded {
  const services: Service[] = [];
  const guards: HtpasswdFile[] = [];
  const inputs = new Map<string, PreviewInputs>();
  for (const r of records) {
    if (!runs(r)) continue;
    const parent = hq.services.find((s) => s.name === r.service && s.orders.previews !== undefined);
    if (!parent) continue;
    const envFile = hq.previewEnv?.find((f) => f.mount === parent.mount);
    services.push(previewService(parent, r, envFile));
    inputs.set(r.name, previewInputs(hq, parent, r, envFile));
    const g = guardOf(hq, parent, r);
    if (g) guards.push(g);
  }
  if (services.length === 0) return { desired: hq, inputs };
  return {
    desired: { ...hq, services: [...hq.services, ...services].sort((a, b) => a.mount.localeCompare(b.mount)), htpasswd: [...hq.htpasswd, ...guards] },
    inputs,
  };
}
