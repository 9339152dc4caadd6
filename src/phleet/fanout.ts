import type { ShipRecord } from './record.js';
import { connectToShip } from './ship-ssh.js';

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
 * Runs one command on one ship (ship-ssh.ts: user `ship`, this ship's client key, a host key its ships/ entry names).
 */
export function runOn(target: ShipRecord, o: FanoutOptions): Promise<ShipAnswer> {
  return new Promise((resolve) => {
    if (o.signal.aborted) return resolve({ ship: target.name, code: null, unreachable: 'aborted' });
    const { client, ready } = connectToShip({ host: target.addresses[0] ?? '127.0.0.1', port: target.sshPort, hostKeys: target.hostKeys }, { privateKey: o.privateKey, readyTimeoutMs: o.connectTimeoutMs ?? 15_000 });
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
    ready.then(
      () => {
        // Until ready, `ready` says why not (the host key refused, by name); from here the connection may still break.
        client.on('error', (e) => done({ ship: target.name, code: null, unreachable: e.message }));
        client.on('close', () => done({ ship: target.name, code: null, unreachable: 'connection closed' }));
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
      },
      (e: Error) => done({ ship: target.name, code: null, unreachable: e.message }),
    );
  });
}

/** The same command on every ship at once; every ship answers or is reported unreachable, none waits for another. */
export function fanout(targets: readonly ShipRecord[], o: FanoutOptions): Promise<ShipAnswer[]> {
  return Promise.all(targets.map((t) => runOn(t, o)));
}
