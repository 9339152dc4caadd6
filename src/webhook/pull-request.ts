import { readPush, type Push } from './push.js';

type Json = Record<string, unknown>;

const obj = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : typeof v === 'string' && /^\d{1,12}$/.test(v) ? Number(v) : null);
const BRANCH = /^[\x21-\x7e]{1,250}$/;

/**
 * A pull (merge) request event, read as the refs it moves in the repository it targets, for previews whose patterns
 * name them (docs/previews.md): GitHub, Gitea and Forgejo publish `refs/pull/<n>/head`, GitLab
 * `refs/merge-requests/<iid>/head`, Bitbucket Data Center `refs/pull-requests/<id>/from` (and the source branch);
 * Bitbucket Cloud publishes no pull request ref, so its event names the source branch. Null when it names no
 * repository or no request.
 */
export function readPullRequest(payload: unknown): Push | null {
  const p = obj(payload);
  if (!p) return null;
  const refs: string[] = [];
  let target: Json = p;
  const github = num(p.number) ?? num(obj(p.pull_request)?.number);
  const gitlab = p.object_kind === 'merge_request' ? num(obj(p.object_attributes)?.iid) : null;
  const cloud = obj(p.pullrequest);
  const dc = obj(p.pullRequest);
  if (gitlab !== null) refs.push(`refs/merge-requests/${gitlab}/head`);
  else if (github !== null && obj(p.pull_request)) refs.push(`refs/pull/${github}/head`);
  else if (cloud) {
    const branch = obj(obj(obj(cloud.source)?.branch))?.name;
    if (typeof branch === 'string' && BRANCH.test(branch)) refs.push(`refs/heads/${branch}`);
  } else if (dc) {
    const id = num(dc.id);
    if (id !== null) refs.push(`refs/pull-requests/${id}/from`);
    const from = obj(dc.fromRef)?.id;
    if (typeof from === 'string' && from.startsWith('refs/') && BRANCH.test(from)) refs.push(from);
    // The repository the request is made to (its refs are where the ship looks), not the one it comes from.
    const repo = obj(obj(dc.toRef)?.repository);
    if (repo) target = { repository: repo };
  }
  if (refs.length === 0) return null;
  const push = readPush(target);
  return push ? { ...push, refs } : null;
}
