import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The events the lifecycle-app fixture's processes wrote to /var/data/lifecycle.log, from every service of a ship's
 * data dir, in time order: [what, version, pid, ms]. Each service's /var/data is its own volume
 * (<data>/volumes/<name>/data).
 */
export function lifecycleEvents(dataDir: string): string[][] {
  try {
    const volumes = join(dataDir, 'volumes');
    const lines = readdirSync(volumes)
      .filter((n) => !n.startsWith('.') && !n.endsWith('.img') && existsSync(join(volumes, n, 'data', 'lifecycle.log')))
      .flatMap((n) => readFileSync(join(volumes, n, 'data', 'lifecycle.log'), 'utf8').trim().split('\n'));
    return lines.map((l) => l.split(' ')).sort((a, b) => Number(a[3]) - Number(b[3]));
  } catch {
    return [];
  }
}
