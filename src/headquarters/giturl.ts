/** `url#ref` as orders, remotes and --headquarters write it. */
export interface GitRef {
  readonly url: string;
  readonly ref?: string;
}

/** Refs git itself would accept, minus anything a shell or option parser could misread. */
const REF = /^(?!-)(?!.*\.\.)[A-Za-z0-9._\/-]+$/;

export function parseGitRef(spec: string): GitRef | { error: string } {
  const hash = spec.lastIndexOf('#');
  const url = hash < 0 ? spec : spec.slice(0, hash);
  const ref = hash < 0 ? undefined : spec.slice(hash + 1);
  if (url === '') return { error: 'empty git url' };
  if (url.startsWith('-')) return { error: `git url must not start with '-': ${url}` };
  if (/\s/.test(url)) return { error: `git url contains white space: ${JSON.stringify(url)}` };
  if (ref !== undefined && !REF.test(ref)) return { error: `bad ref after '#': ${JSON.stringify(ref)}` };
  return ref === undefined ? { url } : { url, ref };
}

export function formatGitRef(r: GitRef): string {
  return r.ref === undefined ? r.url : `${r.url}#${r.ref}`;
}
