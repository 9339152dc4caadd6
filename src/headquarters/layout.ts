import { ordersDigestText } from './traffic-orders.js';
import { createHash } from 'node:crypto';
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { evaluateBashFile } from './bash-eval.js';
import { parseHtpasswd } from './htpasswd.js';
import { parseJobs } from './jobs.js';
import { duplicateKeyProblems, parseAuthorizedKeyFile } from './keys.js';
import { autodeployFrom, evaluateOrders } from './orders.js';
import { readHqCertificates } from './ssl.js';
import type { Admiral, DataRemote, DesiredState, HtpasswdFile, NamedFile, Problem, Service } from './types.js';
import { readIfFile } from './read-file.js';
import { readSealedFiles, SECRETS_FILE } from './sealed-files.js';
import { PREVIEWS_ENV, PREVIEWS_HTPASSWD, readPreviewEnv, readPreviewHtpasswd } from './preview-files.js';
import { parseTagsFile } from './placement.js';
import { serviceBaseSetting } from '../settings/agent-settings.js';

/** Top-level HQ entries with a meaning of their own: never mount paths. */
const RESERVED_TOP = new Set(['authorized_keys', 'containers', 'shipscripts', 'ships', 'jobs', '.starphleet', '.git', 'ssl']);
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
/** A bound on the walk: an HQ is a small repo of config, not a data dump. */
const MAX_ENTRIES = 20_000;
const EVAL_CONCURRENCY = 4;

export interface ReadOptions {
  readonly sha: string | null;
  /** Time limit for each orders / remote / .starphleet evaluation. */
  readonly evalTimeoutMs: number;
}

/** `/` -> `root`, `/a/b` -> `a.b`. */
export function serviceName(mount: string): string {
  return mount === '/' ? 'root' : mount.slice(1).replace(/\//g, '.');
}

interface Found {
  readonly orders: string[];
  readonly htpasswd: string[];
  readonly remotes: string[];
  readonly secrets: string[];
  /** previews.env and previews.htpasswd, symlinks included (they are refused when read: previews hold, fail closed). */
  readonly previews: string[];
}

async function walk(root: string, rel: string, found: Found, problems: Problem[], count: { n: number }): Promise<void> {
  const entries = await readdir(join(root, rel), { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (++count.n > MAX_ENTRIES) {
      if (count.n === MAX_ENTRIES + 1) problems.push({ file: rel || '.', message: `more than ${MAX_ENTRIES} files: the rest is not read` });
      return;
    }
    const path = rel ? `${rel}/${e.name}` : e.name;
    if (rel === '' && RESERVED_TOP.has(e.name)) continue;
    if (e.isSymbolicLink()) {
      // A symlinked secrets.age is kept as a broken one: its service must not deploy as if it had none.
      if (e.name === SECRETS_FILE) found.secrets.push(path);
      else if (e.name === PREVIEWS_ENV || e.name === PREVIEWS_HTPASSWD) found.previews.push(path);
      else if (['orders', '.htpasswd', 'remote'].includes(e.name) || !e.name.startsWith('.')) {
        problems.push({ file: path, message: 'symlink in HQ: not followed' });
      }
      continue;
    }
    if (e.isDirectory()) {
      if (e.name.startsWith('.')) continue;
      if (!SEGMENT.test(e.name)) {
        problems.push({ file: path, message: 'directory name cannot be a URL path segment (use letters, digits, . _ ~ -)' });
        continue;
      }
      await walk(root, path, found, problems, count);
    } else if (e.isFile()) {
      if (e.name === 'orders') found.orders.push(path);
      else if (e.name === '.htpasswd') found.htpasswd.push(path);
      else if (e.name === 'remote') found.remotes.push(path);
      else if (e.name === SECRETS_FILE) found.secrets.push(path);
      else if (e.name === PREVIEWS_ENV || e.name === PREVIEWS_HTPASSWD) found.previews.push(path);
    } else if (e.name === SECRETS_FILE) found.secrets.push(path);
  }
}

function dirOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i);
}

function mountOf(file: string): string {
  return `/${dirOf(file)}`;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  });
  await Promise.all(workers);
  return out;
}

async function listDir(root: string, rel: string): Promise<{ name: string; file: string; mode: number; symlink: boolean }[]> {
  let names: string[];
  try {
    names = await readdir(join(root, rel));
  } catch {
    return [];
  }
  const out = [];
  for (const name of names.sort()) {
    if (name.startsWith('.')) continue;
    const st = await lstat(join(root, rel, name));
    if (st.isDirectory()) continue;
    out.push({ name, file: `${rel}/${name}`, mode: st.mode, symlink: st.isSymbolicLink() });
  }
  return out;
}

async function readServices(root: string, files: readonly string[], opts: ReadOptions, problems: Problem[]): Promise<{ services: Service[]; broken: string[] }> {
  const results = await mapLimit(files, EVAL_CONCURRENCY, async (file) => {
    const path = join(root, file);
    const [res, bytes] = await Promise.all([evaluateOrders(path, file, join(root, dirOf(file)), opts.evalTimeoutMs), readFile(path)]);
    // A placed service's identity leaves `on` out: moving it must not redeploy it where it stays (types.ts); nor do
    // maintenance and release_pause redeploy anything (traffic-orders.ts).
    const placed = res.orders?.on !== undefined ? JSON.stringify({ ...res.orders, on: undefined, maintenance: undefined, releasePause: undefined }) : null;
    const digest = createHash('sha256').update(placed === null ? ordersDigestText(bytes) : Buffer.from(`placed\0${placed}`)).digest('hex');
    return { file, res, digest };
  });
  const services: Service[] = [];
  const broken: string[] = [];
  const byName = new Map<string, string>();
  for (const { file, res, digest } of results) {
    problems.push(...res.problems);
    const mount = mountOf(file);
    if (mount === '/starphleet' || mount.startsWith('/starphleet/')) {
      problems.push({ file, message: '/starphleet is reserved for the ship itself: service not mounted' });
      continue;
    }
    const name = serviceName(mount);
    const clash = byName.get(name);
    if (clash !== undefined) {
      problems.push({ file, message: `service name ${name} is already taken by ${clash}` });
      continue;
    }
    byName.set(name, file);
    if (res.orders) services.push({ mount, name, ordersFile: file, orders: res.orders, ordersDigest: digest, stale: false });
    else broken.push(mount);
  }
  services.sort((a, b) => a.mount.localeCompare(b.mount));
  // A virtual host can route to one service only: a second claim is reported (the front door serves one of them).
  const hosts = new Map<string, string>();
  for (const svc of services) {
    for (const h of svc.orders.proxyFor) {
      const owner = hosts.get(h);
      if (owner === undefined) hosts.set(h, svc.ordersFile);
      else problems.push({ file: svc.ordersFile, message: `proxy_for ${h}: already claimed by ${owner}` });
    }
  }
  return { services, broken };
}

/** The admirals of an HQ tree: each authorized_keys/ file's key (problems are added to the list given). */
export async function readAdmirals(root: string, problems: Problem[]): Promise<Admiral[]> {
  const admirals: Admiral[] = [];
  for (const f of await listDir(root, 'authorized_keys')) {
    if (f.symlink) {
      problems.push({ file: f.file, message: 'symlink in authorized_keys: not followed' });
      continue;
    }
    const text = await readFile(join(root, f.file), 'utf8');
    const r = parseAuthorizedKeyFile(text, f.file);
    problems.push(...r.problems);
    if (r.admiral) admirals.push(r.admiral);
  }
  problems.push(...duplicateKeyProblems(admirals));
  return admirals;
}

async function readRemotes(root: string, files: readonly string[], opts: ReadOptions, problems: Problem[]): Promise<DataRemote[]> {
  const remotes: DataRemote[] = [];
  for (const file of files) {
    const res = await evaluateBashFile({ path: join(root, file), file, cwd: join(root, dirOf(file)), timeoutMs: opts.evalTimeoutMs, verbs: ['autodeploy'] });
    const local: Problem[] = [...res.problems];
    const deploy = autodeployFrom(res.calls, file, local);
    problems.push(...local);
    const path = dirOf(file);
    if (path === '') problems.push({ file, message: 'a data remote needs a directory: it is synced to /var/data/<dir>' });
    else if (deploy && local.length === 0) remotes.push({ path, file, giturl: deploy.url, ...(deploy.ref !== undefined ? { ref: deploy.ref } : {}) });
  }
  return remotes;
}

async function readHtpasswd(root: string, files: readonly string[], mounts: ReadonlySet<string>, problems: Problem[]): Promise<HtpasswdFile[]> {
  const out: HtpasswdFile[] = [];
  for (const file of files) {
    const mount = mountOf(file);
    if (!mounts.has(mount)) problems.push({ file, message: 'no orders next to this .htpasswd: it protects nothing' });
    const r = parseHtpasswd(await readFile(join(root, file), 'utf8'), file);
    problems.push(...r.problems);
    out.push({ mount, file, entries: r.entries });
  }
  return out;
}

async function readNamedFiles(root: string, dir: string, requireExec: boolean, problems: Problem[]): Promise<NamedFile[]> {
  const out: NamedFile[] = [];
  for (const f of await listDir(root, dir)) {
    if (f.symlink) problems.push({ file: f.file, message: 'symlink: not followed' });
    else if (!FILE_NAME.test(f.name)) problems.push({ file: f.file, message: 'bad file name (use letters, digits, . _ -)' });
    else if (requireExec && (f.mode & 0o111) === 0) problems.push({ file: f.file, message: 'not executable: not run' });
    else out.push({ name: f.name, file: f.file });
  }
  return out;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

async function readPhleetEnv(root: string, opts: ReadOptions, problems: Problem[]): Promise<Record<string, string>> {
  if ((await readIfFile(join(root, '.starphleet'))) === null) return {};
  const res = await evaluateBashFile({ path: join(root, '.starphleet'), file: '.starphleet', cwd: root, timeoutMs: opts.evalTimeoutMs, verbs: [] });
  problems.push(...res.problems);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.env)) {
    if (ENV_NAME.test(k)) env[k] = v;
    else problems.push({ file: '.starphleet', message: `exported name is not a valid environment variable: ${JSON.stringify(k)}` });
  }
  return env;
}

/** HQ `.starphleet`'s exports alone (an admiral's tools read STARPHLEET_WRITEBACK there without reading the orders). */
export function readPhleetEnvOf(root: string, evalTimeoutMs: number): Promise<Record<string, string>> {
  return readPhleetEnv(root, { sha: null, evalTimeoutMs }, []);
}

/** Reads an HQ checkout into one desired state. Never throws for HQ content: every problem is a value. */
export async function readHeadquarters(root: string, opts: ReadOptions): Promise<DesiredState> {
  const problems: Problem[] = [];
  const found: Found = { orders: [], htpasswd: [], remotes: [], secrets: [], previews: [] };
  try {
    await walk(root, '', found, problems, { n: 0 });
  } catch (e) {
    problems.push({ file: '.', message: `cannot read HQ: ${(e as Error).message}` });
  }
  const { services, broken } = await readServices(root, found.orders, opts, problems);
  const jobsText = await readIfFile(join(root, 'jobs'));
  const jobs = jobsText === null ? { jobs: [], problems: [] } : parseJobs(jobsText, 'jobs');
  problems.push(...jobs.problems);
  const containers = await readNamedFiles(root, 'containers', false, problems);
  problems.push(...baseProblems(services, containers));
  const mounts = new Set([...services.map((s) => s.mount), ...broken]);
  const tagsText = await readIfFile(join(root, 'tags'));
  const tags = tagsText === null ? null : parseTagsFile(tagsText, 'tags');
  if (tags) problems.push(...tags.problems);
  else if ((await lstat(join(root, 'tags')).catch(() => null))?.isSymbolicLink()) problems.push({ file: 'tags', message: 'symlink in HQ: not followed' });
  const state: DesiredState = {
    sha: opts.sha,
    services,
    brokenOrders: broken,
    admirals: await readAdmirals(root, problems),
    // A broken orders file still has its mount (its last good orders stay in force): its .htpasswd still protects.
    htpasswd: await readHtpasswd(root, found.htpasswd, mounts, problems),
    dataRemotes: await readRemotes(root, found.remotes, opts, problems),
    jobs: jobs.jobs,
    env: await readPhleetEnv(root, opts, problems),
    shipscripts: await readNamedFiles(root, 'shipscripts', true, problems),
    containers,
    ssl: await readHqCertificates(root, problems),
    secrets: await readSealedFiles(root, found.secrets, mounts, problems),
    previewEnv: await readPreviewEnv(root, found.previews.filter((f) => f.endsWith(PREVIEWS_ENV)), mounts, problems),
    previewHtpasswd: await readPreviewHtpasswd(root, found.previews.filter((f) => f.endsWith(PREVIEWS_HTPASSWD)), mounts, problems),
    ...(tags ? { tags: tags.tags } : {}),
    problems: problems.sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0)),
  };
  return deepFreeze(state);
}

/** A service whose STARPHLEET_BASE names no containers/ file would fail every deploy: said at once, with its orders file. */
function baseProblems(services: readonly Service[], containers: readonly NamedFile[]): Problem[] {
  const names = new Set(containers.map((c) => c.name));
  return services.flatMap((s) => {
    const base = serviceBaseSetting(s.orders.env);
    return base !== undefined && base !== '' && !names.has(base) ? [{ file: s.ordersFile, message: `STARPHLEET_BASE=${base}: HQ has no containers/${base} (its deploys fail until there is one)` }] : [];
  });
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !Buffer.isBuffer(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
