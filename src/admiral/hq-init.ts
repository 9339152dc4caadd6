import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseKeyLine } from '../headquarters/keys.js';
import { AdmiralError } from './remotes.js';
import { ordersText, readmeText, STARPHLEET_TEXT } from './hq-files.js';

const run = promisify(execFile);

/** The example service shipped in the package (examples/services/hello), from src/admiral and dist/admiral alike. */
export const EXAMPLE_SERVICE = fileURLToPath(new URL('../../examples/services/hello/', import.meta.url));
export const EXAMPLE_BRANCH = 'example-hello';

/** The user's public keys: the --key files given, else ~/.ssh/id_*.pub. Each must be one valid key line. */
function publicKeys(given: readonly string[], home: string): { file: string; line: string }[] {
  const sshDir = join(home, '.ssh');
  const files = given.length > 0 ? given.map((f) => resolve(f)) : existsSync(sshDir) ? readdirSync(sshDir).filter((f) => /^id_[a-z0-9_-]+\.pub$/.test(f)).sort().map((f) => join(sshDir, f)) : [];
  if (files.length === 0) throw new AdmiralError(`no public key found (${join(sshDir, 'id_*.pub')}): pass --key FILE.pub (make one with ssh-keygen -t ed25519)`);
  return files.map((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new AdmiralError(`--key ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    const first = lines[0];
    const parsed = lines.length === 1 && first !== undefined ? parseKeyLine(first) : 'expected exactly one public key line';
    if (typeof parsed === 'string' || first === undefined) throw new AdmiralError(`${file}: not a usable public key: ${typeof parsed === 'string' ? parsed : ''}`);
    return { file, line: first };
  });
}

function keyFileName(user: string, file: string): string {
  return `${user}.${basename(file).replace(/\.pub$/, '')}`.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[._-]+/, '');
}

async function git(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run('git', [...args], { cwd, env, encoding: 'utf8' })).stdout.trim();
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new AdmiralError(`git ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

/** Commits `src` as the root of an orphan branch without touching the work tree (a private index file). */
async function commitDirAsBranch(repo: string, src: string, branch: string, env: NodeJS.ProcessEnv): Promise<void> {
  const index = join(repo, '.git', `starphleet-init-index`);
  const e = { ...env, GIT_INDEX_FILE: index };
  try {
    await git(['--work-tree', src, 'add', '--all', '.'], repo, e);
    const tree = await git(['write-tree'], repo, e);
    const commit = await git(['commit-tree', tree, '-m', 'The hello example service, bundled with starphleet'], repo, e);
    await git(['update-ref', `refs/heads/${branch}`, commit], repo, e);
  } finally {
    rmSync(index, { force: true });
  }
}

/**
 * `starphleet hq init <dir>`: a new HQ git repo (branch master) with a commented example orders file deploying the
 * bundled hello service, the user's public keys as admirals, a commented .starphleet and a README. Refuses a
 * directory that exists and is not empty: nothing of the user's is ever overwritten.
 */
export async function hqInit(dirArg: string, flags: { key?: string[] }, out: (s: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const dir = resolve(dirArg);
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new AdmiralError(`${dir} exists and is not empty: hq init makes a new headquarters in a new or empty directory`);
  const home = env.HOME && env.HOME !== '' ? env.HOME : homedir();
  const keys = publicKeys(flags.key ?? [], home);
  const user = (env.USER ?? userInfo().username) || 'admiral';
  const gitEnv: NodeJS.ProcessEnv = { ...env, GIT_CONFIG_NOSYSTEM: env.GIT_CONFIG_NOSYSTEM ?? '1' };
  mkdirSync(dir, { recursive: true });
  let made = false;
  try {
    await git(['init', '--quiet', '--initial-branch', 'master', dir], dir, gitEnv);
    made = true;
    // The user's own identity when git has one; a plain one otherwise, so init never stops at "tell me who you are".
    const hasIdentity = await git(['config', 'user.email'], dir, gitEnv).then((v) => v !== '', () => false);
    if (!hasIdentity) {
      await git(['config', 'user.name', 'starphleet hq init'], dir, gitEnv);
      await git(['config', 'user.email', 'hq-init@starphleet.invalid'], dir, gitEnv);
    }
    await commitDirAsBranch(dir, EXAMPLE_SERVICE, EXAMPLE_BRANCH, gitEnv);
    mkdirSync(join(dir, 'authorized_keys'));
    const keyFiles: string[] = [];
    for (const k of keys) {
      const name = keyFileName(user, k.file);
      if (keyFiles.includes(name)) continue;
      writeFileSync(join(dir, 'authorized_keys', name), `${k.line}\n`);
      keyFiles.push(name);
    }
    writeFileSync(join(dir, 'orders'), ordersText(dir, EXAMPLE_BRANCH));
    writeFileSync(join(dir, '.starphleet'), STARPHLEET_TEXT);
    writeFileSync(join(dir, 'README.md'), readmeText(keyFiles.map((f) => `authorized_keys/${f}`)));
    await git(['add', '--all'], dir, gitEnv);
    await git(['commit', '--quiet', '-m', 'New headquarters (starphleet hq init)'], dir, gitEnv);
    out(
      `new headquarters in ${dir}: orders deploys the bundled hello example (branch ${EXAMPLE_BRANCH}); admirals: ${keyFiles.join(', ')}\n` +
        `next: starphleet hq check ${dirArg} && starphleet ship --headquarters ${dir}\n`,
    );
    return 0;
  } catch (e) {
    // A half-made HQ is worse than none: remove what we created (the directory was new or empty).
    if (made) for (const f of readdirSync(dir)) rmSync(join(dir, f), { recursive: true, force: true });
    throw e;
  }
}
