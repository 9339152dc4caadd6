import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'node:http';

/** A delivery as a provider sends it: its headers (in order, repeats allowed) and its raw body. */
export interface Delivery {
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
}

const hmac = (alg: 'sha1' | 'sha256', secret: string, body: Buffer): string => createHmac(alg, secret).update(body).digest('hex');

interface Repo {
  readonly host: string;
  /** owner/name */
  readonly full: string;
}

const sha = (c: string): string => c.repeat(40).slice(0, 40);

function commitOf(after: string, host: string, full: string): Record<string, unknown> {
  return { id: after, message: 'change\n', timestamp: '2026-12-01T12:00:00Z', url: `https://${host}/${full}/commit/${after}`, author: { name: 'A Dmiral', email: 'a@example.com' }, added: [], removed: [], modified: ['README'] };
}

/** GitHub's push webhook: both signature headers (the SHA-1 one only for old receivers), delivery and hook ids. */
export function githubPush(secret: string, r: Repo, o: { ref?: string; after?: string; delivery?: string } = {}): Delivery {
  const after = o.after ?? sha('b');
  const [owner, name] = r.full.split('/');
  const payload = {
    ref: o.ref ?? 'refs/heads/master',
    before: sha('a'),
    after,
    created: false,
    deleted: false,
    forced: false,
    base_ref: null,
    compare: `https://${r.host}/${r.full}/compare/aaaaaaa...${after.slice(0, 7)}`,
    commits: [commitOf(after, r.host, r.full)],
    head_commit: commitOf(after, r.host, r.full),
    repository: {
      id: 1296269,
      node_id: 'MDEwOlJlcG9zaXRvcnkxMjk2MjY5',
      name,
      full_name: r.full,
      private: true,
      owner: { name: owner, login: owner },
      html_url: `https://${r.host}/${r.full}`,
      url: `https://${r.host}/${r.full}`,
      git_url: `git://${r.host}/${r.full}.git`,
      ssh_url: `git@${r.host}:${r.full}.git`,
      clone_url: `https://${r.host}/${r.full}.git`,
      svn_url: `https://${r.host}/${r.full}`,
      default_branch: 'master',
      master_branch: 'master',
    },
    pusher: { name: owner, email: 'a@example.com' },
    sender: { login: owner, id: 1 },
  };
  const body = Buffer.from(JSON.stringify(payload));
  return {
    headers: [
      ['Content-Type', 'application/json'],
      ['User-Agent', 'GitHub-Hookshot/2f9b8c1'],
      ['X-GitHub-Event', 'push'],
      ['X-GitHub-Delivery', o.delivery ?? randomUUID()],
      ['X-GitHub-Hook-ID', '292430182'],
      ['X-GitHub-Hook-Installation-Target-Type', 'repository'],
      ['X-Hub-Signature', `sha1=${hmac('sha1', secret, body)}`],
      ['X-Hub-Signature-256', `sha256=${hmac('sha256', secret, body)}`],
    ],
    body,
  };
}

/** GitLab's Push Hook: the secret itself in X-Gitlab-Token (GitLab signs nothing). */
export function gitlabPush(token: string, r: Repo, o: { ref?: string; delivery?: string } = {}): Delivery {
  const [ns, name] = r.full.split('/');
  const after = sha('c');
  const project = {
    id: 15,
    name,
    description: '',
    web_url: `https://${r.host}/${r.full}`,
    avatar_url: null,
    git_ssh_url: `git@${r.host}:${r.full}.git`,
    git_http_url: `https://${r.host}/${r.full}.git`,
    namespace: ns,
    visibility_level: 0,
    path_with_namespace: r.full,
    default_branch: 'master',
    homepage: `https://${r.host}/${r.full}`,
    url: `git@${r.host}:${r.full}.git`,
    ssh_url: `git@${r.host}:${r.full}.git`,
    http_url: `https://${r.host}/${r.full}.git`,
  };
  const payload = {
    object_kind: 'push',
    event_name: 'push',
    before: sha('a'),
    after,
    ref: o.ref ?? 'refs/heads/master',
    ref_protected: true,
    checkout_sha: after,
    user_id: 4,
    user_name: 'A Dmiral',
    user_username: 'admiral',
    project_id: 15,
    project,
    commits: [commitOf(after, r.host, r.full)],
    total_commits_count: 1,
    repository: { name, url: project.git_ssh_url, description: '', homepage: project.homepage, git_http_url: project.git_http_url, git_ssh_url: project.git_ssh_url, visibility_level: 0 },
  };
  return {
    headers: [
      ['Content-Type', 'application/json'],
      ['User-Agent', 'GitLab/17.5.1'],
      ['X-Gitlab-Event', 'Push Hook'],
      ['X-Gitlab-Webhook-UUID', '2b3d64c3-51e3-4bd1-9b2e-8c5f1c2e7a10'],
      ['X-Gitlab-Instance', `https://${r.host}`],
      ['X-Gitlab-Event-UUID', o.delivery ?? randomUUID()],
      ['Idempotency-Key', randomUUID()],
      ['X-Gitlab-Token', token],
    ],
    body: Buffer.from(JSON.stringify(payload)),
  };
}

/** Gitea's (or, with forgejo: true, Forgejo's) push: GitHub's payload shape, its own hex signature plus GitHub's headers. */
export function giteaPush(secret: string, r: Repo, o: { forgejo?: boolean; delivery?: string } = {}): Delivery {
  const [owner, name] = r.full.split('/');
  const after = sha('d');
  const payload = {
    ref: 'refs/heads/master',
    before: sha('a'),
    after,
    compare_url: `https://${r.host}/${r.full}/compare/aaaaaaa...${after.slice(0, 7)}`,
    commits: [commitOf(after, r.host, r.full)],
    total_commits: 1,
    head_commit: commitOf(after, r.host, r.full),
    repository: {
      id: 3,
      owner: { id: 1, login: owner, username: owner },
      name,
      full_name: r.full,
      private: false,
      html_url: `https://${r.host}/${r.full}`,
      ssh_url: `git@${r.host}:${r.full}.git`,
      clone_url: `https://${r.host}/${r.full}.git`,
      default_branch: 'master',
    },
    pusher: { id: 1, login: owner },
    sender: { id: 1, login: owner },
  };
  const body = Buffer.from(JSON.stringify(payload));
  const id = o.delivery ?? randomUUID();
  const sig = hmac('sha256', secret, body);
  const own: [string, string][] = o.forgejo
    ? [['X-Forgejo-Delivery', id], ['X-Forgejo-Event', 'push'], ['X-Forgejo-Event-Type', 'push'], ['X-Forgejo-Signature', sig]]
    : [];
  return {
    headers: [
      ['Content-Type', 'application/json'],
      ['User-Agent', o.forgejo ? 'Go-http-client/1.1' : 'Go-http-client/1.1'],
      ...own,
      ['X-Gitea-Delivery', id],
      ['X-Gitea-Event', 'push'],
      ['X-Gitea-Event-Type', 'push'],
      ['X-Gitea-Signature', sig],
      ['X-Gogs-Delivery', id],
      ['X-Gogs-Event', 'push'],
      ['X-Gogs-Signature', sig],
      ['X-GitHub-Delivery', id],
      ['X-GitHub-Event', 'push'],
      ['X-Hub-Signature', `sha1=${hmac('sha1', secret, body)}`],
      ['X-Hub-Signature-256', `sha256=${sig}`],
    ],
    body,
  };
}

/** Bitbucket Cloud's repo:push, signed with X-Hub-Signature (sha256=...). */
export function bitbucketPush(secret: string, r: Repo, o: { delivery?: string } = {}): Delivery {
  const [, name] = r.full.split('/');
  const payload = {
    push: {
      changes: [
        {
          old: { type: 'branch', name: 'master', target: { type: 'commit', hash: sha('a') } },
          new: { type: 'branch', name: 'master', target: { type: 'commit', hash: sha('e'), message: 'change\n' } },
          created: false,
          closed: false,
          forced: false,
          truncated: false,
        },
      ],
    },
    repository: {
      type: 'repository',
      full_name: r.full,
      name,
      uuid: '{6c1e2e58-3a3b-4e6f-9b2d-0d6a4c1c9e11}',
      links: {
        self: { href: `https://api.${r.host}/2.0/repositories/${r.full}` },
        html: { href: `https://${r.host}/${r.full}` },
        avatar: { href: `https://bytebucket.org/ravatar/%7B6c1e2e58%7D?ts=default` },
      },
      is_private: true,
      scm: 'git',
    },
    actor: { type: 'user', display_name: 'A Dmiral', nickname: 'admiral' },
  };
  const body = Buffer.from(JSON.stringify(payload));
  return {
    headers: [
      ['Content-Type', 'application/json'],
      ['User-Agent', 'Bitbucket-Webhooks/2.0'],
      ['X-Event-Key', 'repo:push'],
      ['X-Hook-UUID', '{0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b}'],
      ['X-Request-UUID', o.delivery ?? randomUUID()],
      ['X-Attempt-Number', '1'],
      ['X-Hub-Signature', `sha256=${hmac('sha256', secret, body)}`],
    ],
    body,
  };
}

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): Record<string, unknown>;
}

/** Sends a request with exactly these headers (repeats kept) and body; resolves with the answer. */
export function send(port: number, path: string, d: Delivery, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = { 'Content-Length': String(d.body.length) };
    for (const [n, v] of d.headers) {
      const had = headers[n];
      headers[n] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
    }
    const req = request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(d.body);
  });
}

/** The same delivery with one header replaced (or added). */
export function withHeader(d: Delivery, name: string, value: string): Delivery {
  const rest = d.headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
  return { headers: [...rest, [name, value]], body: d.body };
}
