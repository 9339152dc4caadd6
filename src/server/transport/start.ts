import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shipsCheckout } from '../../phleet/ships-checkout.js';
import type { ShipOptions } from '../../settings/ship-options.js';
import type { Headquarters } from '../../headquarters/headquarters.js';
import { readAdmirals } from '../../headquarters/layout.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../state/db.js';
import type { HeldListener } from '../../update/handover-new-ship.js';
import { auditRetentionFromEnv, setAuditRetention } from '../../state/auth-failures.js';
import { loadHostKeys } from './host-keys.js';
import { checkSsh2Internals, sshAlgorithmsFromEnv } from './kex-offer.js';
import { checkPacketInternals } from '../sftp/data-packets.js';
import { checkSocketInternals } from '../sftp/outbound.js';
import { sshLimitsFromEnv } from './limits.js';
import { SshServer } from './ssh-server.js';

/**
 * Host keys, limits (STARPHLEET_SSH_* env), listen on --listen:--ssh-port, and follow HQ's admirals: every new
 * commit replaces them. Until the first sync: those of the HQ checkout a previous start left, or none (all refused).
 */
export async function startSshServer(options: ShipOptions, db: Db, headquarters: Headquarters, log: Logger, inherit?: () => Promise<HeldListener>): Promise<SshServer> {
  // Before anything listens: a changed ssh2 stops the ship here, with its version, not on a client's first connection.
  checkSsh2Internals();
  checkSocketInternals();
  checkPacketInternals();
  setAuditRetention(auditRetentionFromEnv());
  const limits = sshLimitsFromEnv();
  const algorithms = sshAlgorithmsFromEnv();
  const hostKeys = loadHostKeys(options.dataDir, log);
  // The HQ clone (headquarters.ts keeps it at <data>/hq): ships/<name> there holds the keys of user `ship`.
  const hqCheckout = join(options.dataDir, 'hq');
  // ships/ is HQ's, or the write-back repo's when STARPHLEET_WRITEBACK names one (src/phleet/ships-checkout.ts).
  const server = new SshServer({ dataDir: options.dataDir, db, log, limits, algorithms, hostKeys, hqDir: () => (headquarters.current ? shipsCheckout(options.dataDir, headquarters.current.env) : null) });
  headquarters.onChange((next) => server.setAdmirals(next.admirals));
  if (headquarters.current) server.setAdmirals(headquarters.current.admirals);
  else if (existsSync(join(hqCheckout, 'authorized_keys'))) {
    // A restart (a crash, kill -9): the last checkout's admirals until the first sync replaces them, as a ship cut off
    // from HQ keeps its last state; otherwise every admiral is refused for the seconds that sync takes.
    const admirals = await readAdmirals(hqCheckout, []).catch(() => []);
    server.setAdmirals(admirals);
    log(`ssh: the keys of the last HQ checkout (${admirals.length}) admit admirals until the first sync`);
  }
  // A successor ship (hand-over) serves on the old ship's socket: the port is never closed in between.
  const addr = inherit ? await server.listenOn(await inherit()) : await server.listen(options.sshPort, options.listen);
  log(`ssh listening on ${addr.address}:${addr.port}${inherit ? ' (socket taken over from the old ship)' : ''}`);
  return server;
}
