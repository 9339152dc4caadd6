import { join } from 'node:path';

/** Where the data plane keeps itself in the data dir: its record, control socket, log and (nginx) config. */
export const planePaths = {
  dir: (dataDir: string): string => join(dataDir, 'dataplane'),
  record: (dataDir: string): string => join(dataDir, 'dataplane', 'plane.json'),
  socket: (dataDir: string): string => join(dataDir, 'dataplane', 'control.sock'),
  log: (dataDir: string): string => join(dataDir, 'dataplane', 'plane.log'),
  nginx: (dataDir: string): string => join(dataDir, 'dataplane', 'nginx'),
  /** The version an `upgrade` runs, written by the ship (plane-entry.ts): never named in a request. */
  entry: (dataDir: string): string => join(dataDir, 'dataplane', 'upgrade-to.json'),
  /** The ship's own HTTP server (the webhook), which the data plane proxies `/starphleet/webhook` to. */
  shipHttp: (dataDir: string): string => join(dataDir, 'dataplane', 'ship-http.sock'),
  /** The nginx plane's holding socket: nginx's workers proxy a paused service's requests to it (traffic/hold-server.ts). */
  hold: (dataDir: string): string => join(dataDir, 'dataplane', 'hold.sock'),
};
