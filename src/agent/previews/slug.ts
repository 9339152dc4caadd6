import { createHash } from 'node:crypto';

/**
 * A preview's slug: the one word of its URL path (`/<mount>--<slug>/`), service name (`<service>--<slug>`) and virtual
 * host (`<slug>.<proxy_for name>`), so a DNS label: lowercase letters, digits and `-`, at most SLUG_MAX characters,
 * not starting or ending with `-`. The rules (docs/previews.md):
 * - a branch: its name lowercased, every other character (`/` included) turned into `-`, runs of `-` made one;
 * - refs/pull/N/head (GitHub, Gitea, Forgejo) and refs/pull-requests/N/from (Bitbucket Data Center): `pr-N`;
 *   refs/merge-requests/N/head (GitLab): `mr-N`; any other ref: its name without `refs/`, as a branch;
 * - longer than SLUG_MAX: cut, and `-` plus the first 6 hex digits of the sha256 of the full ref appended;
 * - two refs with one slug: each whose name is not exactly its slug gets that suffix too (a clean name keeps its
 *   slug), so every ship of the phleet gives the same refs the same slugs, whatever order it saw them in.
 */
export const SLUG_MAX = 40;
const HASH_LEN = 6;

export function refHash(ref: string): string {
  return createHash('sha256').update(ref).digest('hex').slice(0, HASH_LEN);
}

/** What a ref is called: a branch by its name, other refs by their full name. */
export function branchOf(ref: string): string {
  return ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : ref;
}

function clean(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** The slug before collisions are looked at; `exact` when the branch name is that slug as it is. */
export function baseSlug(ref: string): { slug: string; exact: boolean } {
  const pr = /^refs\/(pull|merge-requests|pull-requests)\/(\d{1,12})\/(head|from)$/.exec(ref);
  const text = pr ? `${pr[1] === 'merge-requests' ? 'mr' : 'pr'}-${pr[2] as string}` : ref.startsWith('refs/heads/') ? branchOf(ref) : ref.slice('refs/'.length);
  const c = clean(text);
  if (c.length === 0) return { slug: refHash(ref), exact: false };
  if (c.length > SLUG_MAX) return { slug: withHash(c, ref), exact: false };
  return { slug: c, exact: ref.startsWith('refs/heads/') && text === c };
}

function withHash(slug: string, ref: string): string {
  const keep = slug.slice(0, SLUG_MAX - HASH_LEN - 1).replace(/-+$/, '');
  return `${keep}-${refHash(ref)}`;
}

/** Slugs for a set of refs, collisions settled as the rules above say (a function of the set alone). */
export function slugsFor(refs: readonly string[]): Map<string, string> {
  const base = new Map(refs.map((r) => [r, baseSlug(r)]));
  const count = new Map<string, number>();
  for (const b of base.values()) count.set(b.slug, (count.get(b.slug) ?? 0) + 1);
  const out = new Map<string, string>();
  for (const [ref, b] of base) out.set(ref, (count.get(b.slug) ?? 0) > 1 && !b.exact ? withHash(b.slug, ref) : b.slug);
  return out;
}

/** `/app` + slug -> `/app--slug`; the root service's previews are `/--slug`. */
export function previewMount(mount: string, slug: string): string {
  return mount === '/' ? `/--${slug}` : `${mount}--${slug}`;
}

/** `app` + slug -> `app--slug` (`root--slug` for the root service): its releases, logs and SFTP folder. */
export function previewName(service: string, slug: string): string {
  return `${service}--${slug}`;
}
