import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProgram } from '../util/run-program.js';
import type { Admiral } from '../headquarters/types.js';
import { decodeProof, PROOF_NAMESPACE, requestMessage, type PhleetOp } from './request-proof.js';

/** How old a request may be (the admiral's clock and this ship's differ a little; a follow runs on once started). */
const MAX_AGE_S = 300;
const MAX_AHEAD_S = 60;

/** Nonces this ship took, until they are too old to be taken anyway: each request is good once per ship. */
const seen = new Map<string, number>();

function remember(nonce: string, issued: number, now: number): boolean {
  for (const [n, at] of seen) if (at < now - MAX_AGE_S) seen.delete(n);
  if (seen.has(nonce)) return false;
  seen.set(nonce, issued);
  return true;
}

export interface ProvenRequest {
  /** The admiral's key file under authorized_keys/ and its fingerprint. */
  readonly admiral: string;
  readonly fingerprint: string;
  readonly nonce: string;
}

/**
 * Checks `token` proves an admiral of this ship's HQ asked for `op` on `service` just now, and that it was not used
 * here before. The signature is checked by OpenSSH's own `ssh-keygen -Y` against HQ's admiral keys (a key limited
 * to a forced command signs nothing here). Throws with the reason.
 */
export async function verifyProof(token: string, op: PhleetOp, service: string, admirals: readonly Admiral[], nowMs = Date.now()): Promise<ProvenRequest> {
  const d = decodeProof(token);
  if (typeof d === 'string') throw new Error(d);
  const { request, signature } = d;
  if (request.op !== op || request.service !== service) throw new Error(`the proof is for ${request.op} ${request.service}, not ${op} ${service}`);
  const now = Math.floor(nowMs / 1000);
  if (request.issued < now - MAX_AGE_S) throw new Error(`the proof was signed ${now - request.issued} s ago (good for ${MAX_AGE_S} s): ask again`);
  if (request.issued > now + MAX_AHEAD_S) throw new Error('the proof is signed in the future (check the clocks)');
  const signers = admirals.filter((a) => !a.options.some((o) => o.name === 'command'));
  if (signers.length === 0) throw new Error('HQ has no admiral key that may sign phleet requests');
  const dir = await mkdtemp(join(tmpdir(), 'starphleet-proof-'));
  try {
    const allowed = join(dir, 'allowed_signers');
    // Principals are numbers: a key file's name is HQ text, never a word of this file's syntax.
    await writeFile(allowed, signers.map((a, i) => `admiral-${i} namespaces="${PROOF_NAMESPACE}" ${a.type} ${a.blob.toString('base64')}\n`).join(''), { mode: 0o600 });
    const sig = join(dir, 'request.sig');
    await writeFile(sig, signature, { mode: 0o600 });
    const message = requestMessage(request);
    const found = await runProgram('ssh-keygen', ['-Y', 'find-principals', '-s', sig, '-f', allowed], { timeout: 20_000 });
    const principal = String(found.stdout).split('\n')[0]?.trim() ?? '';
    const index = /^admiral-(\d+)$/.exec(principal)?.[1];
    if (found.failed || index === undefined) throw new Error("the proof is not signed by an admiral's key in HQ");
    const r = await runProgram('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', principal, '-n', PROOF_NAMESPACE, '-s', sig], { input: message, timeout: 20_000 });
    if (r.failed) throw new Error(`the proof's signature does not verify (${r.stderr.trim().split('\n')[0] || r.message.split('\n')[0]})`);
    const signer = signers[Number(index)] as Admiral;
    if (!remember(request.nonce, request.issued, now)) throw new Error(`the proof ${request.nonce} was used here before: a request is good once`);
    return { admiral: signer.file, fingerprint: signer.fingerprint, nonce: request.nonce };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
