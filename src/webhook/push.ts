/** What a push delivery says: the repository (every URL the provider gives for it) and the refs that moved. */
export interface Push {
  /** The repository as the payload names it (for the answer and the log). */
  readonly repository: string;
  readonly urls: readonly string[];
  /** Full ref names (`refs/heads/main`, `refs/tags/v1`); empty when the payload names none. */
  readonly refs: readonly string[];
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 && v.length < 2048 ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function strings(o: Json | null, keys: readonly string[]): string[] {
  if (!o) return [];
  return keys.map((k) => str(o[k])).filter((s): s is string => s !== null);
}

/** Bitbucket's `links` objects: `{ html: { href } }` (Cloud) or `{ clone: [{ href }], self: [{ href }] }` (Data Center). */
function linkHrefs(links: Json | null): string[] {
  if (!links) return [];
  const out: string[] = [];
  for (const v of Object.values(links)) {
    for (const l of Array.isArray(v) ? v : [v]) {
      const href = str(obj(l)?.href);
      if (href) out.push(href);
    }
  }
  return out;
}

/**
 * Reads a push payload as GitHub, Gitea/Forgejo (GitHub's shape), GitLab and Bitbucket (Cloud and Data Center) send
 * it. Null when it names no repository.
 */
export function readPush(payload: unknown): Push | null {
  const p = obj(payload);
  if (!p) return null;
  const repo = obj(p.repository);
  const project = obj(p.project);
  const urls = [
    ...strings(repo, ['clone_url', 'ssh_url', 'git_url', 'html_url', 'url', 'git_http_url', 'git_ssh_url', 'homepage']),
    ...strings(project, ['git_http_url', 'git_ssh_url', 'web_url', 'http_url', 'ssh_url']),
    ...linkHrefs(obj(repo?.links)),
  ];
  const fullName = str(repo?.full_name);
  if (urls.length === 0) return null;
  const refs = new Set<string>();
  const ref = str(p.ref);
  if (ref) refs.add(ref);
  for (const c of list(obj(p.push)?.changes)) {
    const n = obj(obj(c)?.new);
    const name = str(n?.name);
    if (name) refs.add(n?.type === 'tag' ? `refs/tags/${name}` : `refs/heads/${name}`);
  }
  for (const c of list(p.changes)) {
    const id = str(obj(obj(c)?.ref)?.id) ?? str(obj(c)?.refId);
    if (id) refs.add(id);
  }
  return { repository: str(project?.path_with_namespace) ?? fullName ?? (urls[0] as string), urls, refs: [...refs] };
}

/**
 * A repository URL reduced to host and path, so the forms of one repository compare equal: `https://host/a/b.git`,
 * `git@host:a/b.git`, `ssh://git@host:7999/a/b`, `https://user:token@host/a/b/` all give `host/a/b`; a local path (or
 * `file://`) gives the path. Lower case: a false match only costs a check, a missed one a deploy.
 */
export function repoKey(url: string): string | null {
  let u = url.trim();
  if (u === '') return null;
  let host = '';
  let path: string;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(u);
  if (scheme) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      return null;
    }
    host = parsed.protocol === 'file:' ? '' : parsed.hostname;
    path = decodeURIComponent(parsed.pathname);
  } else {
    const scp = /^(?:[^@/]+@)?([^/:]+):(.*)$/.exec(u);
    if (scp && !u.startsWith('/')) {
      host = scp[1] as string;
      path = `/${scp[2] as string}`;
    } else path = u;
  }
  u = path.replace(/\/+$/, '').replace(/\.git$/i, '');
  // Bitbucket Data Center serves https clones under /scm/.
  if (host) u = u.replace(/^\/scm\//i, '/');
  if (!u.startsWith('/')) u = `/${u}`;
  return `${host}${u}`.toLowerCase();
}

/** Does a push of these refs concern something that follows `ref` (undefined: the default branch, unknown here)? */
export function refConcerns(refs: readonly string[], ref: string | undefined): boolean {
  if (ref === undefined || refs.length === 0) return true;
  if (/^[0-9a-f]{7,40}$/i.test(ref)) return false; // a pinned sha never moves
  return refs.some((r) => r === ref || r === `refs/heads/${ref}` || r === `refs/tags/${ref}`);
}
