import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ShipOptions } from './config.js';
import { Headquarters } from './headquarters/headquarters.js';
import { log as defaultLog, type Logger } from './log.js';
import { openDb, type Db } from './state/db.js';
import { VERSION } from './version.js';

export interface Ship {
  readonly options: ShipOptions;
  readonly db: Db;
  readonly headquarters: Headquarters;
  stop(): Promise<void>;
}

/** Composition root: state, then headquarters; later capabilities subscribe to the desired state it produces. */
export async function startShip(options: ShipOptions, log: Logger = defaultLog): Promise<Ship> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const db = openDb(join(options.dataDir, 'state.db'));
  const headquarters = new Headquarters({
    spec: options.headquarters,
    dataDir: options.dataDir,
    ...(options.privateKey ? { privateKey: options.privateKey } : {}),
    pulseSeconds: options.pulseSeconds,
    evalTimeoutMs: options.evalTimeoutMs,
    db,
    log,
  });
  log(`starphleet ${VERSION} ship ${options.name}: headquarters ${headquarters.url}, data ${options.dataDir}, pulse ${options.pulseSeconds}s`);
  headquarters.start();
  let stopping: Promise<void> | null = null;
  return {
    options,
    db,
    headquarters,
    stop() {
      stopping ??= (async () => {
        await headquarters.stop();
        db.close();
        log('ship stopped');
      })();
      return stopping;
    },
  };
}
