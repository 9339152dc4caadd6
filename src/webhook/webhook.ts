import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import { SeenDeliveries } from './deliveries.js';
import { readPush, refConcerns, repoKey } from './push.js';
import { readPullRequest } from './pull-request.js';
import { deliveryId, eventOf, verifySignature } from './signature.js';

/** A push payload is a few KiB to a few hundred; GitHub caps its own at 25 MB, but nothing we read needs that much. */
export const WEBHOOK_MAX_BYTES = 2 * 1024 * 1024;
/** What of a too large body is read and dropped after the 413 before the connection is cut. */
const DRAIN_BYTES = 16 * 1024 * 1024;

/** What the webhook needs of the ship (ship.ts wires it): the secret, who follows which repo, and the checks to start. */
export interface WebhookShip {
  /** STARPHLEET_WEBHOOK_SECRET from HQ `.starphleet`; undefined or empty: webhooks are off. */
  secret(): string | undefined;
  readonly headquarters: () => { readonly url: string; readonly ref: string | undefined };
  readonly services: () => readonly { readonly name: string; readonly giturl: string; readonly ref?: string; readonly previews?: (ref: string) => boolean }[];
  /** Starts an HQ check now (not waiting for the pulse). */
  checkHeadquarters(): void;
  /**
   * Starts a check of every service's ref now; the deploys of `names` it starts name `because` (the delivery).
   * `giturls` are the repos the push named (as the services follow them): those are polled at once and, a webhook
   * being seen for them, at the slower webhook pace from then on.
   */
  checkServices(names: readonly string[], because: string, giturls: readonly string[]): void;
  /** A signed delivery named these repos but concerns nothing that runs: they are polled at the webhook pace from now on. */
  webhookSeen?(giturls: readonly string[]): void;
  /** A refused delivery, for the audit trail (never the signature or the secret). */
  refused(remote: string, reason: string): void;
  readonly log: Logger;
}

function json(res: ServerResponse, status: number, body: Record<string, unknown>, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
}

/** The body, up to max bytes; null (and the connection closed after a 413) when it is larger. */
function readBody(req: IncomingMessage, res: ServerResponse, max: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const tooLarge = (): void => {
      done = true;
      // The rest is read and dropped (up to a bound) rather than the connection cut: a proxy still writing the body
      // would see a broken pipe instead of this answer.
      json(res, 413, { ok: false, error: `body larger than ${max} bytes` });
      let dropped = 0;
      req.on('data', (c: Buffer) => {
        dropped += c.length;
        if (dropped > DRAIN_BYTES) req.socket.destroy();
      });
      req.resume();
      resolve(null);
    };
    if (Number(req.headers['content-length'] ?? 0) > max) return tooLarge();
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > max) return tooLarge();
      chunks.push(c);
    });
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', () => {
      if (!done) resolve(null);
    });
  });
}

const CHECKED = new Set(['x-gitlab-token', 'x-forgejo-signature', 'x-gitea-signature', 'x-hub-signature-256', 'x-hub-signature', 'x-github-delivery', 'x-gitlab-event-uuid', 'x-gitea-delivery', 'x-forgejo-delivery', 'x-request-uuid', 'x-github-event', 'x-gitlab-event', 'x-gitea-event', 'x-forgejo-event', 'x-event-key']);

function repeatedHeader(raw: readonly string[]): string | null {
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const n = (raw[i] as string).toLowerCase();
    if (!CHECKED.has(n)) continue;
    if (seen.has(n)) return raw[i] as string;
    seen.add(n);
  }
  return null;
}

/** GitHub may send a push form-encoded (`payload=<json>`); every other provider sends JSON. */
function parsePayload(body: Buffer, contentType: string): unknown {
  const text = body.toString('utf8');
  if (contentType.startsWith('application/x-www-form-urlencoded')) return JSON.parse(new URLSearchParams(text).get('payload') ?? '');
  return JSON.parse(text);
}

/**
 * POST /starphleet/webhook: a signed push of the HQ repo or of a service's repo starts that check at once instead of at
 * the next pulse. The signature is checked over the raw body before it is parsed; a delivery seen before is answered
 * 200 and changes nothing.
 */
export class Webhook {
  private readonly seen = new SeenDeliveries(1000);

  constructor(
    private readonly ship: WebhookShip,
    private readonly maxBytes = WEBHOOK_MAX_BYTES,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, remote: string): Promise<void> {
    if (req.method !== 'POST') return json(res, 405, { ok: false, error: 'only POST is accepted here' }, { allow: 'POST' });
    const secret = this.ship.secret();
    if (!secret) {
      req.resume();
      return json(res, 404, { ok: false, error: 'webhooks are off on this ship: set STARPHLEET_WEBHOOK_SECRET in the HQ .starphleet' });
    }
    const body = await readBody(req, res, this.maxBytes);
    if (body === null) return;
    // Node joins a repeated header into one value: the raw list tells whether a check could be fed two.
    const repeated = repeatedHeader(req.rawHeaders);
    if (repeated !== null) {
      this.ship.refused(remote, `${repeated} sent more than once`);
      return json(res, 401, { ok: false, error: `${repeated} sent more than once` });
    }
    const v = verifySignature(req.headers, body, secret);
    if (!v.ok) {
      this.ship.refused(remote, v.reason);
      this.ship.log(`webhook: refused a delivery from ${remote}: ${v.reason}`);
      return json(res, 401, { ok: false, error: v.reason });
    }
    const delivery = deliveryId(req.headers, v.provider);
    if (delivery !== null && this.seen.check(`${v.provider} ${delivery}`)) {
      return json(res, 200, { ok: true, provider: v.provider, delivery, ignored: 'this delivery was seen before', triggered: [] });
    }
    const event = eventOf(req.headers, v.provider);
    if (event.kind === 'ping') return json(res, 200, { ok: true, provider: v.provider, delivery, event: event.name, triggered: [] });
    if (event.kind !== 'push' && event.kind !== 'pull') return json(res, 200, { ok: true, provider: v.provider, delivery, event: event.name, ignored: 'not a push event', triggered: [] });
    let payload: unknown;
    try {
      payload = parsePayload(body, String(req.headers['content-type'] ?? ''));
    } catch (e) {
      return json(res, 400, { ok: false, error: `the body is not a JSON push payload: ${(e as Error).message}` });
    }
    const push = event.kind === 'pull' ? readPullRequest(payload) : readPush(payload);
    if (!push) return json(res, 400, { ok: false, error: `the ${event.kind === 'pull' ? 'pull request' : 'push'} payload names no repository${event.kind === 'pull' ? ' or request' : ''}` });
    const keys = new Set(push.urls.map(repoKey).filter((k): k is string => k !== null));
    const triggered: string[] = [];
    const pushedUrls = new Set<string>();
    const skipped: { service: string; why: string }[] = [];
    const hq = this.ship.headquarters();
    const hqKey = repoKey(hq.url);
    if (event.kind === 'push' && hqKey !== null && keys.has(hqKey)) {
      if (refConcerns(push.refs, hq.ref)) triggered.push('headquarters');
      else skipped.push({ service: 'headquarters', why: `follows ${hq.ref ?? ''}` });
    }
    for (const s of this.ship.services()) {
      const k = repoKey(s.giturl);
      if (k === null || !keys.has(k)) continue;
      // A push of any ref tells this repo's webhook works: its polling slows down whatever branch was pushed.
      pushedUrls.add(s.giturl);
      // A pull request moves no deployed branch: only previews (docs/previews.md) whose patterns name its ref care.
      if (event.kind === 'push' && refConcerns(push.refs, s.ref)) triggered.push(s.name);
      else if (s.previews && push.refs.some(s.previews)) triggered.push(`${s.name} previews`);
      else skipped.push({ service: s.name, why: `follows ${s.ref ?? ''}${s.previews ? ' and no preview pattern names the ref' : ''}` });
    }
    const services = triggered.filter((t) => t !== 'headquarters');
    if (triggered.includes('headquarters')) this.ship.checkHeadquarters();
    if (services.length > 0) this.ship.checkServices(services, `webhook ${v.provider}${delivery ? ` delivery ${delivery}` : ''}`, [...pushedUrls]);
    else if (pushedUrls.size > 0) this.ship.webhookSeen?.([...pushedUrls]);
    const what = triggered.length > 0 ? `checks ${triggered.join(', ')}` : 'nothing follows it';
    this.ship.log(`webhook: ${v.provider} push of ${push.repository} ${push.refs.join(' ')}${delivery ? ` (delivery ${delivery})` : ''}: ${what}`);
    const answer = { ok: true, provider: v.provider, delivery, event: event.name, repository: push.repository, refs: push.refs, triggered, skipped };
    if (triggered.length === 0) return json(res, 200, { ...answer, message: 'neither the headquarters nor any service follows this repository and ref' });
    json(res, 202, answer);
  }
}
