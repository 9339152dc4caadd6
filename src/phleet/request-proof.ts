/**
 * An admiral's signed phleet request (`phleet logs`, `phleet redeploy`): what lets another ship do, on that admiral's
 * word, what user `ship` may not do on its own. The admiral's machine signs it (`ssh-keygen -Y sign`, their SSH key or
 * agent: src/admiral/sign-request.ts); the ship they asked passes it on unchanged to every ship; each ship checks it
 * against its own HQ's admirals (verify-proof.ts). It names the operation and the service, is good for a few minutes
 * and once per ship: a ship that saw it can neither widen it nor use it again later.
 */

export type PhleetOp = 'logs' | 'logs-follow' | 'redeploy';

export interface PhleetRequest {
  readonly op: PhleetOp;
  readonly service: string;
  /** Unix seconds, when the admiral signed. */
  readonly issued: number;
  /** 32 hex digits: the request's name in the ships' replay memory and audit. */
  readonly nonce: string;
}

/** The SSHSIG namespace: a signature made for git, or for anything else, is not a phleet request. */
export const PROOF_NAMESPACE = 'starphleet-phleet';

/** base64url of a small JSON object: one shell word, checked by the SSH gate (phleet-exec.ts) before anything else. */
export const PROOF_TOKEN = /^[A-Za-z0-9_-]{16,12000}$/;

const SERVICE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const OPS: readonly PhleetOp[] = ['logs', 'logs-follow', 'redeploy'];

/** The exact text signed: fixed lines, so two requests that differ in anything sign differently. */
export function requestMessage(r: PhleetRequest): string {
  return `starphleet phleet request v1\nop ${r.op}\nservice ${r.service}\nissued ${r.issued}\nnonce ${r.nonce}\n`;
}

export function encodeProof(r: PhleetRequest, signature: string): string {
  return Buffer.from(JSON.stringify({ ...r, signature })).toString('base64url');
}

/** The request and its armored signature, or the reason the token is not one. */
export function decodeProof(token: string): { request: PhleetRequest; signature: string } | string {
  if (!PROOF_TOKEN.test(token)) return 'not a proof token';
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'not a proof token (no JSON inside)';
  }
  const { op, service, issued, nonce, signature } = v;
  if (typeof op !== 'string' || !OPS.includes(op as PhleetOp)) return 'the proof names no known operation';
  if (typeof service !== 'string' || !SERVICE.test(service)) return 'the proof names no service';
  if (typeof issued !== 'number' || !Number.isSafeInteger(issued)) return 'the proof has no issue time';
  if (typeof nonce !== 'string' || !/^[0-9a-f]{32}$/.test(nonce)) return 'the proof has no nonce';
  if (typeof signature !== 'string' || !signature.startsWith('-----BEGIN SSH SIGNATURE-----')) return 'the proof carries no SSH signature';
  return { request: { op: op as PhleetOp, service, issued, nonce }, signature };
}
