import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHtpasswd } from '../../headquarters/htpasswd.js';
import type { DesiredState } from '../../headquarters/types.js';
import type { Logger } from '../../log.js';
import type { WireRoute } from '../protocol/wire.js';

/** Basic auth of each mount for the route table, from the .htpasswd files of the desired state. */
export class Guards {
  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Before the first desired state (a restarted ship adopting instances) the .htpasswd of the HQ checkout on disk (the
   * last commit synced) is in force, so a protected service is never open while HQ is read again.
   */
  of(mount: string, desired: DesiredState | null): WireRoute['auth'] {
    if (!desired) return this.lastKnown(mount);
    const file = desired.htpasswd.find((h) => h.mount === mount);
    if (!file) return null;
    return { realm: `starphleet ${mount}`, file: file.file, users: file.entries.map((e) => ({ user: e.user, hash: e.hash })) };
  }

  private lastKnown(mount: string): WireRoute['auth'] {
    const rel = mount === '/' ? '.htpasswd' : `${mount.slice(1)}/.htpasswd`;
    const path = join(this.dataDir, 'hq', rel);
    if (!existsSync(path)) return null;
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      this.log(`${rel}: cannot read it (${(e as Error).message}): nobody gets in until HQ is read`);
    }
    // An unreadable file parses to no entries: nobody gets in (fail closed).
    return { realm: `starphleet ${mount}`, file: rel, users: parseHtpasswd(text, rel).entries.map((e) => ({ user: e.user, hash: e.hash })) };
  }
}
