import { mkdirSync } from 'node:fs';
import type { Server } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Agent } from './agent/agent.js';
import { createAgent } from './agent/create.js';
import { writeCliWrapper } from './commands/cli-wrapper.js';
import type { ShipOptions } from './config.js';
import { Headquarters } from './headquarters/headquarters.js';
import { log as defaultLog, type Logger } from './log.js';
import { startControlSocket } from './server/control-socket.js';
import { startSshServer } from './server/start.js';
import { openDb, type Db } from './state/db.js';
import { setKv } from './state/hq.js';
import { lockDataDir } from './state/lock.js';
import { VERSION } from './version.js';

export interface Ship {
  readonly options: ShipOptions;
  readonly db: Db;
  readonly headquarters: Headquarters;
  /** Runs what HQ orders; stopping the ship leaves its instances serving for the next ship process to adopt. */
  readonly agent: Agent;
  readonly log: Logger;
  stop(): Promise<void>;
}

/** cli.ts sits beside this file both in src/ (run by tsx) and in dist/ (built). */
const CLI_SCRIPT = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './cli.ts' : './cli.js', import.meta.url));

/**
 * Composition root. Data flows one way: HQ commit -> desired state -> agent -> releases/instances -> routes; the
 * SSH server, control socket and front door read state and act only through the agent or commands/.
 */
export async function startShip(options: ShipOptions, log: Logger = defaultLog): Promise<Ship> {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const unlock = lockDataDir(options.dataDir);
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
  setKv(db, 'ship.name', options.name);
  setKv(db, 'ship.version', VERSION);
  setKv(db, 'hq.url', headquarters.url);
  log(`starphleet ${VERSION} ship ${options.name}: headquarters ${headquarters.url}, data ${options.dataDir}, pulse ${options.pulseSeconds}s`);
  const agent = createAgent(options, db, log);

  // Everything started below is stopped in reverse order by stop().
  const stops: (() => Promise<void> | void)[] = [];
  let stopping: Promise<void> | null = null;
  const ship: Ship = {
    options,
    db,
    headquarters,
    agent,
    log,
    stop() {
      stopping ??= (async () => {
        for (const s of stops.reverse()) await s();
        await headquarters.stop();
        db.close();
        unlock();
        log('ship stopped');
      })();
      return stopping;
    },
  };

  try {
    writeCliWrapper(options.dataDir, CLI_SCRIPT);
    const control: Server = await startControlSocket(ship, log);
    stops.push(() => new Promise<void>((r) => control.close(() => r())));
    const ssh = await startSshServer(options, db, headquarters, log);
    stops.push(() => ssh.close());
    await agent.start();
    stops.push(() => agent.stop());
    headquarters.onChange((next) => agent.setDesired(next));
  } catch (e) {
    await ship.stop();
    throw e;
  }
  headquarters.start();
  return ship;
}
