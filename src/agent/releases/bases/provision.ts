import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, lchownSync, lstatSync, readdirSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAFE_NAME } from '../../../paths.js';
import { redactCredentials } from '../../../util/redact.js';
import { makeReadOnly, removeTree } from '../../../data-dir/data-paths.js';
import { openDataDirForSandboxes } from '../../sandbox/data-dir.js';
import { handTo, type SandboxHost } from '../../sandbox/sandbox.js';
import { sandboxLimits } from '../../sandbox/settings.js';
import { registrySettings } from '../../../settings/registry-settings.js';
import { withLock } from '../key-lock.js';
import { runScript } from '../run-script.js';
import { baseDir, basePrefix, type BaseRef } from './base-paths.js';

export interface ProvisionOptions {
  readonly dataDir: string;
  /** The HQ checkout the ship runs: `containers/<name>` is read from it. */
  readonly hqDir: string;
  readonly name: string;
  /** The sandbox the script runs in; null only with STARPHLEET_RUNTIME=process. */
  readonly sandbox: SandboxHost | null;
  /** Where the script's output goes (the deploy's log file), line by line. */
  readonly logFile: string;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Back to the ship's own user once built: the sandbox user wrote it, and must not be able to change it later. */
function ownBack(path: string, host: SandboxHost | null): void {
  if (!host?.switchUser) return;
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.uid !== uid || st.gid !== gid) lchownSync(p, uid, gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(path);
}

/** The script of `containers/<name>` and the hash that names its base. */
async function readScript(hqDir: string, name: string): Promise<{ file: string; content: Buffer; hash: string; executable: boolean }> {
  if (!SAFE_NAME.test(name)) throw new Error(`STARPHLEET_BASE=${JSON.stringify(name)}: not a containers/ file name (letters, digits, . _ ~ -)`);
  const file = join(hqDir, 'containers', name);
  let st;
  try {
    st = await lstat(file);
  } catch {
    throw new Error(`STARPHLEET_BASE=${name}: HQ has no containers/${name}`);
  }
  if (!st.isFile()) throw new Error(`STARPHLEET_BASE=${name}: containers/${name} is not a regular file (symlinks are not followed)`);
  const content = await readFile(file);
  return { file, content, hash: createHash('sha256').update(content).digest('hex'), executable: (st.mode & 0o111) !== 0 };
}

/**
 * The container base a service names with STARPHLEET_BASE, built once per content of HQ `containers/<name>`: the
 * script (HQ-trusted, like shipscripts, but run in a build sandbox: an unprivileged sandbox cannot write system dirs
 * and bubblewrap here has no overlay) installs into PREFIX=/opt/starphleet/bases/<name>, which is the base's own tree
 * <data>/bases/<name>/<hash>/ mounted read-write for that run only. Kept read-only afterwards, marked done by
 * <hash>.ok; a failed run leaves nothing and throws with the end of its output.
 */
export async function ensureBase(o: ProvisionOptions): Promise<BaseRef> {
  const script = await readScript(o.hqDir, o.name);
  const base: BaseRef = { name: o.name, hash: script.hash };
  const dir = baseDir(o.dataDir, base);
  const done = `${dir}.ok`;
  const built = async (): Promise<boolean> => (await lstat(done).catch(() => null))?.isFile() === true;
  if (await built()) return base;
  return withLock(`base:${o.dataDir}:${o.name}:${script.hash}`, async () => {
    if (await built()) return base;
    const parent = join(o.dataDir, 'bases', o.name);
    await mkdir(parent, { recursive: true });
    for (const d of [join(o.dataDir, 'bases'), parent]) await chmod(d, 0o711);
    await removeTree(dir);
    await mkdir(dir, { mode: 0o755 });
    const work = join(parent, `.work-${randomBytes(6).toString('hex')}`);
    await mkdir(join(work, 'script'), { recursive: true, mode: 0o711 });
    await mkdir(join(work, 'home'), { mode: 0o700 });
    const out = createWriteStream(o.logFile, { flags: 'a' });
    out.on('error', () => undefined);
    const tail: string[] = [];
    const log = (raw: string): void => {
      const line = redactCredentials(raw);
      out.write(`${line}\n`);
      tail.push(line);
      if (tail.length > 5) tail.shift();
    };
    try {
      // A copy the sandbox user may read: the HQ checkout itself is closed to it.
      await copyFile(script.file, join(work, 'script', 'provision'));
      await chmod(join(work, 'script', 'provision'), 0o755);
      const host = o.sandbox;
      const prefix = host ? basePrefix(o.name) : dir;
      const env: Record<string, string> = { PATH: `${prefix}/bin:/usr/local/bin:/usr/bin:/bin`, LANG: 'C.UTF-8', HOME: host ? '/tmp' : join(work, 'home'), PREFIX: prefix, STARPHLEET_BASE: o.name };
      // Only without a sandbox (it runs as the ship then): the ship's proxy and CA settings never reach a sandbox.
      if (!host) Object.assign(env, registrySettings());
      const scriptPath = host ? '/run/starphleet/base/provision' : join(work, 'script', 'provision');
      if (host) {
        openDataDirForSandboxes(o.dataDir, host);
        handTo(host, dir);
      }
      log(`-----> Container base ${o.name} (containers/${o.name}, ${script.hash.slice(0, 12)}): provisioning into ${prefix}`);
      const r = await runScript(script.executable ? scriptPath : 'bash', script.executable ? [] : [scriptPath], {
        cwd: host ? '/tmp' : work,
        env,
        log,
        deadline: Date.now() + o.timeoutMs,
        recordIn: o.dataDir,
        sandbox: host
          ? {
              host,
              dataDir: o.dataDir,
              hostname: `base-${o.name}`.slice(0, 63),
              limits: sandboxLimits({}),
              mounts: [
                { src: dir, dest: prefix, rw: true },
                { src: join(work, 'script'), dest: '/run/starphleet/base', rw: false },
              ],
            }
          : null,
        ...(o.signal ? { signal: o.signal } : {}),
      });
      if (r.code !== 0 || r.stopped) {
        const why = r.stopped === 'timeout' ? 'did not finish in time and was killed' : r.stopped === 'aborted' ? 'was cancelled' : r.limit ? r.limit : `failed (exit ${r.code ?? 'by signal'})`;
        log(`!      container base ${o.name}: provision script ${why}`);
        throw new Error(`container base ${o.name} (containers/${o.name}): provision script ${why}; its output ends: ${tail.slice(0, -1).join(' | ') || '(nothing)'}`);
      }
      ownBack(dir, host);
      await makeReadOnly(dir);
      await writeFile(done, `${script.hash}\n${new Date().toISOString()}\n`);
      log(`-----> Container base ${o.name} is ready`);
      return base;
    } catch (e) {
      await removeTree(dir).catch(() => undefined);
      throw e;
    } finally {
      await removeTree(work).catch(() => undefined);
      await new Promise<void>((r) => out.end(r));
    }
  });
}
