import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { fingerprint } from '../headquarters/keys.js';

/** Another ship as HQ describes it: where it listens and the host keys its ships/ entry (or a registry source) pins. */
export interface PinnedShip {
  readonly host: string;
  readonly port: number;
  /** `SHA256:...` fingerprints; the ship must show one of them. */
  readonly hostKeys: readonly string[];
}

/** Whether `seen` is one of `pinned`, compared in constant time (a fingerprint is not secret, but the rule is one rule). */
export function isPinned(seen: string, pinned: readonly string[]): boolean {
  const s = Buffer.from(seen);
  let found = false;
  for (const p of pinned) {
    const b = Buffer.from(p);
    // Every candidate compared, the loop not cut short: the time says nothing of which one matched.
    if (b.length === s.length && timingSafeEqual(b, s)) found = true;
  }
  return found;
}

/**
 * The one way a ship talks SSH to another: as user `ship`, with this ship's client key (phleet/client-key.ts), and only
 * to a host that shows a pinned key (HQ is the trust root, so nobody in between can pose as a ship; ssh2 ends the
 * handshake before authentication otherwise). `ready` settles once: authenticated, or the reason it is not (naming the
 * host key seen when that was the reason). Every later 'error' is the caller's to handle on `client`; one without a
 * listener is absorbed here, so a connection that breaks late never takes the process down.
 */
export function connectToShip(target: PinnedShip, o: { privateKey: Buffer; readyTimeoutMs: number }): { client: ssh2.Client; ready: Promise<void> } {
  const client = new ssh2.Client();
  let seen = '';
  let refused = false;
  const ready = new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.on('error', (e) => reject(refused ? new Error(`host key of ${target.host}:${target.port} is ${seen}, not the pinned ${target.hostKeys.join(' or ') || '(none pinned)'}: refused`) : e));
    client.once('close', () => reject(new Error(`connection to ${target.host}:${target.port} closed`)));
  });
  client.connect({
    host: target.host,
    port: target.port,
    username: 'ship',
    privateKey: o.privateKey,
    readyTimeout: o.readyTimeoutMs,
    hostVerifier: (key: Buffer) => {
      seen = fingerprint(key);
      refused = !isPinned(seen, target.hostKeys);
      return !refused;
    },
  });
  return { client, ready };
}
