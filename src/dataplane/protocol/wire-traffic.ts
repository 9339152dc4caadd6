import type { Upstream } from './upstream.js';

/**
 * What the admiral (or HQ) asked of a route's traffic, as the ship sends it inside the route table: the table is the
 * one thing a data plane keeps across ship restarts and hands to a newer plane, so a maintained, paused or split
 * service stays so. Plain data, checked on arrival (parseWireTraffic) like the rest of the table.
 */
export interface WireTraffic {
  /** 503 with Retry-After and a page to everything but the allowed paths. */
  readonly maintenance?: WireMaintenance;
  /** New requests are held (in arrival order, at most `queue`, each at most maxPauseMs), then sent on or answered 503. */
  readonly pause?: WirePause;
  /** A share of the clients (by a sticky cookie) and the listed ones go to these instances of the new release. */
  readonly rollout?: WireRollout;
}

export interface WireMaintenance {
  /** The plain-text answer's words (and the default page's). */
  readonly message: string;
  /** The page for clients that accept text/html; null: a page made of the message. */
  readonly html: string | null;
  readonly retryAfter: number;
  /** Paths under the mount (`/up`, `/api/health`) that still reach the instances: the path itself and below it. */
  readonly allow: readonly string[];
}

export interface WirePause {
  /** How long one request may be held before it is answered 503. */
  readonly maxPauseMs: number;
  /** Held requests at most (STARPHLEET_PAUSE_QUEUE); more are answered 503 at once. */
  readonly queue: number;
}

export interface WireMatch {
  readonly name: string;
  readonly value: string;
}

export interface WireRollout {
  /** 0-100: the share of clients (by the hash of their rollout cookie) that the new release serves. */
  readonly percent: number;
  /** A request with one of these headers (exact value) goes to the new release, whatever its cookie. */
  readonly headers: readonly WireMatch[];
  /** A request with one of these cookies (exact value) goes to the new release too. */
  readonly cookies: readonly WireMatch[];
  /** The new release's id (for logs and the status) and its web instances. */
  readonly release: string;
  readonly instances: readonly { readonly id: string; readonly upstream: Upstream }[];
}

/** The headers nginx's paused locations add for the ship's holding socket (hold-server.ts); never passed on to the instance. */
export const HOLD_SERVICE = 'x-starphleet-hold';
export const HOLD_SIDE = 'x-starphleet-side';

/** The cookie the planes set to keep a client on one side of a rollout: an id, hashed with the service's name. */
export const ROLLOUT_COOKIE = 'starphleet_rollout';
/** What a rollout cookie may hold; anything else is treated as no cookie (a new id is given). */
export const ROLLOUT_ID = /^[A-Za-z0-9_-]{8,64}$/;
/** Header names and values a rollout may match on: a token, and visible ASCII (they go into nginx's config). */
export const MATCH_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;
export const MATCH_VALUE = /^[\x21-\x7e]{1,128}$/;
/** Cookie names (RFC 6265 token, kept to what nginx's $cookie_ variables can name). */
export const COOKIE_NAME = /^[A-Za-z0-9_]{1,64}$/;
/** An allowed path under maintenance: an absolute path of plain segments. */
export const ALLOW_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function num(v: unknown, where: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new Error(`${where}: expected a number from ${min} to ${max}`);
  return v;
}

function matches(v: unknown, where: string, name: RegExp): WireMatch[] {
  if (!Array.isArray(v)) throw new Error(`${where}: expected an array of {name, value}`);
  return v.map((m: unknown, i) => {
    if (!isObj(m) || typeof m.name !== 'string' || !name.test(m.name) || typeof m.value !== 'string' || !MATCH_VALUE.test(m.value)) throw new Error(`${where}[${i}]: expected {name, value} of visible characters`);
    return { name: m.name, value: m.value };
  });
}

function percentOf(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 100) throw new Error(`${where}: expected a whole number from 0 to 100`);
  return v;
}

/** Checks the `traffic` of a route that came over the control socket; `instances` checks upstreams as wire.ts does. */
export function parseWireTraffic(v: unknown, where: string, instances: (v: unknown, where: string) => WireRollout['instances']): WireTraffic | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw new Error(`${where}: expected an object`);
  const out: { maintenance?: WireMaintenance; pause?: WirePause; rollout?: WireRollout } = {};
  const m = v.maintenance;
  if (m !== undefined) {
    const w = `${where}.maintenance`;
    if (!isObj(m) || typeof m.message !== 'string' || m.message.length > 4096) throw new Error(`${w}.message: expected a string of at most 4096 characters`);
    if (m.html !== null && (typeof m.html !== 'string' || m.html.length > 65536)) throw new Error(`${w}.html: expected null or a page of at most 64 KiB`);
    if (!Array.isArray(m.allow) || !m.allow.every((p) => typeof p === 'string' && ALLOW_PATH.test(p) && !p.split('/').includes('..') && !p.split('/').includes('.'))) {
      throw new Error(`${w}.allow: expected absolute paths of plain segments`);
    }
    out.maintenance = { message: m.message, html: m.html as string | null, retryAfter: Math.round(num(m.retryAfter, `${w}.retryAfter`, 0, 86400)), allow: m.allow as string[] };
  }
  const p = v.pause;
  if (p !== undefined) {
    const w = `${where}.pause`;
    if (!isObj(p)) throw new Error(`${w}: expected {maxPauseMs, queue}`);
    out.pause = { maxPauseMs: Math.round(num(p.maxPauseMs, `${w}.maxPauseMs`, 0, 3_600_000)), queue: Math.round(num(p.queue, `${w}.queue`, 0, 1_000_000)) };
  }
  const r = v.rollout;
  if (r !== undefined) {
    const w = `${where}.rollout`;
    if (!isObj(r) || typeof r.release !== 'string') throw new Error(`${w}.release: expected a string`);
    out.rollout = {
      percent: percentOf(r.percent, `${w}.percent`),
      headers: matches(r.headers, `${w}.headers`, MATCH_NAME),
      cookies: matches(r.cookies, `${w}.cookies`, COOKIE_NAME),
      release: r.release,
      instances: instances(r.instances, `${w}.instances`),
    };
  }
  return out;
}
