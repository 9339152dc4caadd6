import { createHash, randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { runProgram } from '../../util/run-program.js';
import { withLock } from './key-lock.js';

/**
 * A buildpack a service repo names (its `.env` BUILDPACK_URL, its `.buildpacks`) is the repo author's choice, not
 * HQ's: the ship fetches it as anyone on the internet could, with nothing of its own. Only http(s) and git URLs;
 * never a path or file:// (a path on the ship), ssh (the ship's keys), or a host that is the ship itself (loopback,
 * link-local: the cloud metadata address). git runs with an empty HOME and no system or global config (no credential
 * helper, no stored password, no ssh key), no prompt, no redirect, and only those protocols.
 */
export const PUBLIC_PROTOCOLS = ['https', 'http', 'git'] as const;

const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;

/** Addresses that are the ship itself or its link: never fetched from for a repo. */
function ownAddress(address: string): boolean {
  const a = address.toLowerCase().replace(/^::ffff:(?=\d+\.)/, '');
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number);
    return x === 127 || x === 0 || (x === 169 && y === 254);
  }
  return a === '::1' || a === '::' || /^fe[89ab][0-9a-f]:/.test(a);
}

/** Why a repo may not name this URL as a buildpack; null when it may. Checks the form only (see checkPublicHost). */
export function publicUrlProblem(url: string): string | null {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    return /^[^/]+@[^/]+:/.test(url) ? 'an ssh URL needs the ship\'s keys: a repo may only name public http(s) or git URLs' : 'a path on the ship: a repo may only name public http(s) or git URLs (HQ orders may name a path)';
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'not a URL';
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  if (!(PUBLIC_PROTOCOLS as readonly string[]).includes(scheme)) return `${scheme}:// is not fetched for a repo: only public http(s) or git URLs (HQ orders may name any)`;
  const host = u.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === '' || host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && ownAddress(host))) return `${u.hostname} is this ship: a repo may only name public hosts`;
  return null;
}

/** The URL's host must not resolve to the ship itself either (a name for 127.0.0.1). */
export async function checkPublicHost(url: string): Promise<string | null> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return null;
  let addresses: { address: string }[];
  try {
    addresses = await lookup(host, { all: true });
  } catch {
    return null; // git says it cannot resolve it, in its own words
  }
  const own = addresses.find((a) => ownAddress(a.address));
  return own ? `${host} resolves to ${own.address}, this ship: a repo may only name public hosts` : null;
}

/** git with nothing of the ship's: empty HOME, no config files, no prompt, no redirects, only the public protocols. */
async function publicGit(args: readonly string[], home: string, cwd: string | undefined, timeoutMs: number): Promise<string> {
  const env: Record<string, string> = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    LANG: 'C.UTF-8',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ALLOW_PROTOCOL: PUBLIC_PROTOCOLS.join(':'),
  };
  // A proxy is how the ship reaches the internet at all: the same for everyone, so it is passed on.
  for (const name of ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY']) {
    const v = process.env[name];
    if (v !== undefined) env[name] = v;
  }
  const config = ['-c', 'credential.helper=', '-c', 'http.followRedirects=false', '-c', 'core.askPass=', '-c', 'transfer.fsckObjects=true'];
  const r = await runProgram('git', [...config, ...args], { cwd, env, extendEnv: false, timeout: timeoutMs });
  if (r.failed) {
    const words = String(r.stderr || r.message).split('\n').map((l) => l.trim()).filter((l) => l !== '').slice(-3).join(' / ');
    throw new Error(r.timedOut ? `git ${args[0]} timed out after ${timeoutMs / 1000} s` : `git ${args[0]} failed: ${words || 'no output'}`);
  }
  return String(r.stdout).trim();
}

/**
 * Fetches a repo-named buildpack into its own cached bare clone (`repos/public/<sha256 of url>`, apart from the
 * ship's credentialed clones: a private repo the ship fetched with its keys is never handed to a repo that names its
 * URL) and returns the commit `ref` names (the remote's HEAD when undefined).
 */
export async function fetchPublic(dataDir: string, url: string, ref: string | undefined, workDir: string, timeoutMs: number): Promise<{ repo: string; sha: string }> {
  const repo = join(dataDir, 'repos', 'public', createHash('sha256').update(url).digest('hex'));
  return withLock(repo, async () => {
    // An empty HOME of the build's own: git finds no ~/.gitconfig, ~/.git-credentials or ~/.ssh of the ship there.
    const home = await mkdtemp(join(workDir, 'git-home-'));
    try {
      if (!existsSync(join(repo, 'HEAD'))) {
        await mkdir(join(dataDir, 'repos', 'public'), { recursive: true });
        const tmp = `${repo}.tmp-${randomBytes(4).toString('hex')}`;
        await publicGit(['init', '--quiet', '--bare', tmp], home, undefined, timeoutMs);
        await rename(tmp, repo);
      }
      await publicGit(['fetch', '--quiet', '--prune', '--force', '--', url, '+HEAD:refs/starphleet/head', '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], home, repo, timeoutMs);
      const names = ref === undefined ? ['refs/starphleet/head'] : FULL_SHA.test(ref) || SHORT_SHA.test(ref) ? [`refs/heads/${ref}`, `refs/tags/${ref}`, ref] : [`refs/heads/${ref}`, `refs/tags/${ref}`];
      for (const name of names) {
        try {
          return { repo, sha: await publicGit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${name}^{commit}`], home, repo, timeoutMs) };
        } catch {
          // not this kind of name
        }
      }
      throw new Error(ref === undefined ? 'the remote has no default branch (HEAD)' : `no branch, tag or commit ${JSON.stringify(ref)} on the remote`);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
}
