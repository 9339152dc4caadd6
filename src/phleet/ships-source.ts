import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { git } from '../headquarters/git.js';
import { formatGitRef } from '../headquarters/giturl.js';
import { readPhleetEnvOf } from '../headquarters/layout.js';
import { writebackSetting } from './ships-checkout.js';

/** Where an admiral's tool reads the phleet's ships/ entries, and what to remove after. */
export interface ShipsSource {
  /** A directory holding ships/ (an HQ checkout, or a checkout of the write-back repository). */
  readonly dir: string;
  /** Said in messages: `HQ`, `--ships DIR` or `STARPHLEET_WRITEBACK <url#branch>`. */
  readonly from: string;
  cleanup(): Promise<void>;
}

/**
 * The ships/ an admiral's `hq check` and `secrets` read: `--ships DIR` (a checkout of the write-back repository),
 * else, when HQ `.starphleet` (or this environment) sets STARPHLEET_WRITEBACK, a shallow clone of that repository's
 * branch into a temp dir (removed by cleanup), else the HQ checkout's own ships/.
 */
export async function shipsSource(hqDir: string, o: { readonly ships?: string; readonly hqEnv?: Readonly<Record<string, string>>; readonly evalTimeoutMs?: number } = {}): Promise<ShipsSource> {
  const none = async (): Promise<void> => {};
  if (o.ships !== undefined) {
    const dir = resolve(o.ships);
    if (!existsSync(join(dir, 'ships')) || !statSync(join(dir, 'ships')).isDirectory()) throw new Error(`--ships ${o.ships}: no ships/ directory there (give a checkout of the repository the ships write back to)`);
    return { dir, from: `--ships ${o.ships}`, cleanup: none };
  }
  const env = o.hqEnv ?? (await readPhleetEnvOf(hqDir, o.evalTimeoutMs ?? 10_000));
  const target = writebackSetting(env);
  if (target === null) return { dir: hqDir, from: 'HQ', cleanup: none };
  const where = formatGitRef({ url: target.url, ref: target.ref });
  const tmp = mkdtempSync(join(tmpdir(), 'starphleet-ships-'));
  const cleanup = (): Promise<void> => rm(tmp, { recursive: true, force: true });
  try {
    await git(['clone', '--quiet', '--depth', '1', '--no-tags', ...(target.ref !== undefined ? ['--branch', target.ref] : []), '--', target.url, join(tmp, 'ships-repo')], { timeoutMs: 120_000 });
  } catch (e) {
    await cleanup();
    throw new Error(`STARPHLEET_WRITEBACK ${where}: cannot read the ships' entries there: ${(e as Error).message} (or give a checkout of it with --ships DIR)`);
  }
  return { dir: join(tmp, 'ships-repo'), from: `STARPHLEET_WRITEBACK ${where}`, cleanup };
}
