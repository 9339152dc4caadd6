import ssh2 from 'ssh2';
import { fingerprint } from '../headquarters/keys.js';
import type { ShipRecord } from './record.js';

export interface ShipAnswer {
  readonly ship: string;
  /** Null: the ship could not be reached (reason in `unreachable`). */
  readonly code: number | null;
  readonly unreachable?: string;
}

export interface FanoutOptions {
  readonly privateKey: Buffer;
  readonly command: string;
  /** Called with whole lines (no newline) as they come, from stdout or stderr. */
  readonly line: (ship: string, text: string, stream: 'out' | 'err') => void;
  readonly signal: AbortSignal;
  readonly connectTimeoutMs?: number;
}

/** Splits a stream into lines; the last partial line comes out at the end. */
function lines(emit: (text: string) => void): { push(chunk: Buffer): void; end(): void } {
  let rest = '';
  return {
    push(chunk) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) emit(p);
    },
    end() {
      if (rest) emit(rest);
      rest = '';
    },
  };
}

/**
 * Runs one command on one ship as user `ship`, with this ship's client key. The ship's host key must be one its
 * ships/ entry names (fingerprints from HQ): HQ is the trust root, so nobody in between can pose as a ship.
 */
export function runOn(target: ShipRecord, o: FanoutOptions): Promise<ShipAnswer> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    let settled = false;
    const done = (a: ShipAnswer): void => {
      if (settled) return;
      settled = true;
      o.signal.removeEventListener('abort', abort);
      client.end();
      resolve(a);
    };
    const abort = (): void => done({ ship: target.name, code: null, unreachable: 'aborted' });
    o.signal.addEventListener('abort', abort, { once: true });
    client.on('error', (e) => done({ ship: target.name, code: null, unreachable: e.message }));
    client.on('close', () => done({ ship: target.name, code: null, unreachable: 'connection closed' }));
    client.on('ready', () => {
      client.exec(o.command, (err, stream) => {
        if (err) return done({ ship: target.name, code: null, unreachable: err.message });
        const out = lines((t) => o.line(target.name, t, 'out'));
        const errs = lines((t) => o.line(target.name, t, 'err'));
        let code: number | null = null;
        stream.on('data', (b: Buffer) => out.push(b));
        stream.stderr.on('data', (b: Buffer) => errs.push(b));
        stream.on('exit', (c: number | null) => (code = c));
        stream.on('close', () => {
          out.end();
          errs.end();
          done({ ship: target.name, code: code ?? 255 });
        });
      });
    });
    if (o.signal.aborted) return abort();
    client.connect({
      host: target.addresses[0] ?? '127.0.0.1',
      port: target.sshPort,
      username: 'ship',
      privateKey: o.privateKey,
      readyTimeout: o.connectTimeoutMs ?? 15_000,
      hostVerifier: (key: Buffer) => target.hostKeys.includes(fingerprint(key)),
    });
  });
}

/** The same command on every ship at once; every ship answers or is reported unreachable, none waits for another. */
export function fanout(targets: readonly ShipRecord[], o: FanoutOptions): Promise<ShipAnswer[]> {
  return Promise.all(targets.map((t) => runOn(t, o)));
}
