import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BasicAuth } from './auth.js';
import type { Guard } from './routes.js';
import { parseHtpasswd } from '../headquarters/htpasswd.js';
import type { DesiredState, HtpasswdFile } from '../headquarters/types.js';
import type { Logger } from '../log.js';

/** Basic auth of each mount, from the .htpasswd files of the desired state. */
export class Guards {
  /** One BasicAuth per parsed .htpasswd, so its cache of accepted credentials lives as long as that file's HQ commit. */
  private auths = new WeakMap<HtpasswdFile, BasicAuth>();

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /**
   * Before the first desired state (a restarted ship adopting instances) the .htpasswd of the HQ checkout on disk (the
   * last commit synced) is in force, so a protected service is never open while HQ is read again.
   */
  of(mount: string, desired: DesiredState | null): Guard {
    if (!desired) return this.lastKnown(mount);
    const file = desired.htpasswd.find((h) => h.mount === mount);
    if (!file) return null;
    let auth = this.auths.get(file);
    if (!auth) {
      auth = new BasicAuth(file, `starphleet ${mount}`);
      this.auths.set(file, auth);
    }
    return auth;
  }

  private lastKnown(mount: string): Guard {
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
    return new BasicAuth({ mount, file: rel, entries: parseHtpasswd(text, rel).entries }, `starphleet ${mount}`);
  }
}
