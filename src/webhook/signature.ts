import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export type Provider = 'github' | 'gitlab' | 'gitea' | 'forgejo' | 'bitbucket';

export type Verdict = { readonly ok: true; readonly provider: Provider } | { readonly ok: false; readonly reason: string };

/** One header's value; a header sent twice is refused, so no one can pick the value a check reads. */
export function header(h: IncomingHttpHeaders, name: string): string | undefined | null {
  const v = h[name];
  if (Array.isArray(v)) return null;
  return v;
}

/** `hex` is a 64-digit HMAC-SHA256 of body with secret? Compared in constant time. */
function hmacMatches(hex: string, body: Buffer, secret: string): boolean {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return false;
  const want = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(hex, 'hex'), want);
}

/** A plain shared token (GitLab): both sides hashed first, so the compare takes the same time whatever their lengths. */
function tokenMatches(given: string, secret: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(secret).digest();
  return timingSafeEqual(a, b);
}

/**
 * Checks a delivery's signature over the raw body, before anything of it is parsed. Which provider sent it is told by
 * its signature header: GitLab's X-Gitlab-Token (the secret itself), Forgejo's X-Forgejo-Signature and Gitea's
 * X-Gitea-Signature (hex HMAC-SHA256; they also send GitHub's header), GitHub's X-Hub-Signature-256 and Bitbucket's
 * X-Hub-Signature (`sha256=` + hex HMAC-SHA256). GitHub's legacy SHA-1 X-Hub-Signature is refused.
 */
export function verifySignature(h: IncomingHttpHeaders, body: Buffer, secret: string): Verdict {
  const names = ['x-gitlab-token', 'x-forgejo-signature', 'x-gitea-signature', 'x-hub-signature-256', 'x-hub-signature'];
  for (const n of names) if (header(h, n) === null) return { ok: false, reason: `${n} sent more than once` };
  const gitlab = header(h, 'x-gitlab-token');
  if (gitlab !== undefined && gitlab !== null) return tokenMatches(gitlab, secret) ? { ok: true, provider: 'gitlab' } : { ok: false, reason: 'X-Gitlab-Token does not match the secret' };
  const forgejo = header(h, 'x-forgejo-signature');
  if (forgejo) return hmacMatches(forgejo, body, secret) ? { ok: true, provider: 'forgejo' } : { ok: false, reason: 'X-Forgejo-Signature does not match the body' };
  const gitea = header(h, 'x-gitea-signature');
  if (gitea) return hmacMatches(gitea, body, secret) ? { ok: true, provider: 'gitea' } : { ok: false, reason: 'X-Gitea-Signature does not match the body' };
  const github = header(h, 'x-hub-signature-256');
  if (github) {
    const ok = github.startsWith('sha256=') && hmacMatches(github.slice(7), body, secret);
    return ok ? { ok: true, provider: 'github' } : { ok: false, reason: 'X-Hub-Signature-256 does not match the body' };
  }
  const hub = header(h, 'x-hub-signature');
  if (hub) {
    if (!hub.startsWith('sha256=')) return { ok: false, reason: 'X-Hub-Signature must be sha256=<hex> (SHA-1 signatures are not accepted)' };
    return hmacMatches(hub.slice(7), body, secret) ? { ok: true, provider: 'bitbucket' } : { ok: false, reason: 'X-Hub-Signature does not match the body' };
  }
  return { ok: false, reason: 'no signature: expected X-Hub-Signature-256, X-Gitlab-Token, X-Gitea-Signature, X-Forgejo-Signature or X-Hub-Signature' };
}

/** The provider's id of this delivery (the same on a redelivery), or null when it sends none. */
export function deliveryId(h: IncomingHttpHeaders, p: Provider): string | null {
  const names: Record<Provider, readonly string[]> = {
    github: ['x-github-delivery'],
    gitlab: ['x-gitlab-event-uuid'],
    gitea: ['x-gitea-delivery'],
    forgejo: ['x-forgejo-delivery', 'x-gitea-delivery'],
    bitbucket: ['x-request-uuid'],
  };
  for (const n of names[p]) {
    const v = header(h, n);
    if (v) return v.slice(0, 200);
  }
  return null;
}

export type EventKind = 'push' | 'pull' | 'ping' | 'other';

/** Pull (merge) request events: they move the refs previews may follow (pull-request.ts). */
const PULL_EVENTS = new Set(['pull_request', 'pull_request_sync', 'merge request hook', 'pullrequest:created', 'pullrequest:updated', 'pullrequest:fulfilled', 'pullrequest:rejected', 'pr:opened', 'pr:from_ref_updated', 'pr:merged', 'pr:declined', 'pr:deleted']);

/** What the delivery is about, from the provider's event header. */
export function eventOf(h: IncomingHttpHeaders, p: Provider): { kind: EventKind; name: string } {
  const name =
    (p === 'github' ? header(h, 'x-github-event') : p === 'gitlab' ? header(h, 'x-gitlab-event') : p === 'bitbucket' ? header(h, 'x-event-key') : (header(h, 'x-forgejo-event') ?? header(h, 'x-gitea-event'))) ?? '';
  const n = name.toLowerCase();
  if (n === 'ping' || n === 'diagnostics:ping') return { kind: 'ping', name };
  if (n === 'push' || n === 'push hook' || n === 'tag push hook' || n === 'repo:push' || n === 'repo:refs_changed') return { kind: 'push', name };
  if (PULL_EVENTS.has(n)) return { kind: 'pull', name };
  return { kind: 'other', name };
}
