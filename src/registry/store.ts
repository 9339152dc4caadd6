import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import type { Db } from '../state/db.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { configId, type RegistryConfig, type RegistryLayer } from './config-file.js';
import { REGISTRY_NAME, registryPaths, SHA256_HEX } from '../data-dir/registry-paths.js';
import { checkLayerArchive } from './tar-check.js';

/**
 * The registry of components (versions of .tar.gz layers, stored by sha256) and configurations (ordered layers), as
 * deploy-tools' deploy-registry keeps them. Metadata in the state db (migration 8); archives in registry/layers/;
 * each configuration is also written to registry/configs/<N>.json, which the SFTP view, the local build side and
 * other ships read. Every refusal changes nothing.
 */

export class RegistryError extends Error {}

export const DEFAULT_MAXVER = 10;

interface VersionRow {
  component: string;
  version: string;
  sha256: string;
  size: number;
  added_at: string;
}

function checkName(kind: string, name: string): string {
  if (!REGISTRY_NAME.test(name)) throw new RegistryError(`bad ${kind} name ${JSON.stringify(name.slice(0, 80))}: letters, digits, '.', '_', '~', '-' (not starting with '.' or '-'), at most 128`);
  return name;
}

// Commands run in the ship process one after another per registry: file moves and db rows change together.
let chain: Promise<unknown> = Promise.resolve();
function serial<T>(f: () => Promise<T>): Promise<T> {
  const run = chain.then(f, f);
  chain = run.catch(() => undefined);
  return run;
}

export class Registry {
  constructor(
    private readonly db: Db,
    private readonly dataDir: string,
    private readonly maxVersions = DEFAULT_MAXVER,
  ) {}

  /** addver -name C -version V -hash H: takes the upload H (or an archive already stored) as version V of C. */
  async addVersion(component: string, version: string, hash: string): Promise<string[]> {
    checkName('component', component);
    checkName('version', version);
    if (!SHA256_HEX.test(hash)) throw new RegistryError(`-hash must be a sha256 (64 lowercase hex digits), got ${JSON.stringify(hash.slice(0, 80))}`);
    return serial(async () => {
      if (this.version(component, version)) throw new RegistryError(`component ${component} already has version ${version}`);
      const upload = registryPaths.upload(this.dataDir, hash);
      const stored = registryPaths.layer(this.dataDir, hash);
      const have = (await stat(stored).catch(() => null)) ?? null;
      const file = have ? stored : upload;
      const st = have ?? (await stat(upload).catch(() => null));
      if (st === null) throw new RegistryError(`no upload with sha256 ${hash}: put the file over sftp first (sftp admiral@ship, put FILE)`);
      const problem = await checkLayerArchive(file);
      if (problem !== null) {
        // A refused upload is of no use to anyone: it goes, so it does not count against the quota.
        if (!have) await rm(upload, { force: true });
        throw new RegistryError(`refused ${hash}: ${problem}`);
      }
      if (!have) {
        await mkdir(registryPaths.layers(this.dataDir), { recursive: true });
        await rename(upload, stored);
      }
      this.db.prepare('INSERT INTO registry_versions (component, version, sha256, size, added_at) VALUES (?, ?, ?, ?, ?)').run(component, version, hash, st.size, new Date().toISOString());
      return this.retain(component);
    });
  }

  /** Oldest versions beyond maxVersions that no configuration uses go; a used version never. Returns the removed. */
  private async retain(component: string): Promise<string[]> {
    const rows = this.versions(component);
    const removed: string[] = [];
    let excess = rows.length - this.maxVersions;
    for (const r of rows) {
      if (excess <= 0) break;
      if (this.usedBy(component, r.version).length > 0) continue;
      this.db.prepare('DELETE FROM registry_versions WHERE component = ? AND version = ?').run(component, r.version);
      removed.push(r.version);
      excess--;
    }
    await this.dropUnreferenced();
    return removed;
  }

  private async dropUnreferenced(): Promise<void> {
    const used = new Set((this.db.prepare('SELECT DISTINCT sha256 FROM registry_versions').all() as { sha256: string }[]).map((r) => r.sha256));
    const names = await readdir(registryPaths.layers(this.dataDir)).catch(() => [] as string[]);
    for (const n of names) {
      const m = /^([0-9a-f]{64})\.tar\.gz$/.exec(n);
      if (m && !used.has(m[1] as string)) await rm(registryPaths.layer(this.dataDir, m[1] as string), { force: true });
    }
  }

  version(component: string, version: string): VersionRow | undefined {
    return this.db.prepare('SELECT * FROM registry_versions WHERE component = ? AND version = ?').get(component, version) as VersionRow | undefined;
  }

  /** A component's versions, oldest first. */
  versions(component: string): VersionRow[] {
    return this.db.prepare('SELECT * FROM registry_versions WHERE component = ? ORDER BY added_at, rowid').all(component) as VersionRow[];
  }

  components(): string[] {
    return (this.db.prepare('SELECT DISTINCT component FROM registry_versions ORDER BY component').all() as { component: string }[]).map((r) => r.component);
  }

  configurations(): string[] {
    return (this.db.prepare('SELECT name FROM registry_configs ORDER BY name').all() as { name: string }[]).map((r) => r.name);
  }

  private usedBy(component: string, version?: string): string[] {
    const rows = (
      version === undefined
        ? this.db.prepare('SELECT DISTINCT config FROM registry_layers WHERE component = ? ORDER BY config').all(component)
        : this.db.prepare('SELECT DISTINCT config FROM registry_layers WHERE component = ? AND version = ? ORDER BY config').all(component, version)
    ) as { config: string }[];
    return rows.map((r) => r.config);
  }

  /** The layers of configuration `name`, in order, with their archives' sha256 and size. */
  layers(name: string): (RegistryLayer & { addedAt: string })[] | undefined {
    if (!this.db.prepare('SELECT 1 FROM registry_configs WHERE name = ?').get(name)) return undefined;
    const rows = this.db
      .prepare(
        `SELECT l.component, l.version, v.sha256, v.size, v.added_at FROM registry_layers l
         JOIN registry_versions v ON v.component = l.component AND v.version = l.version WHERE l.config = ? ORDER BY l.position`,
      )
      .all(name) as VersionRow[];
    return rows.map((r) => ({ component: r.component, version: r.version, sha256: r.sha256, size: r.size, file: `/registry/layers/${r.sha256}.tar.gz`, addedAt: r.added_at }));
  }

  /** addconf -name N -layer C:V ...: a new configuration; every layer must be a stored version, each component once. */
  async addConfig(name: string, layerSpecs: readonly string[]): Promise<void> {
    checkName('configuration', name);
    if (layerSpecs.length === 0) throw new RegistryError('addconf needs at least one -layer component:version');
    const layers = layerSpecs.map((spec) => {
      const i = spec.indexOf(':');
      if (i <= 0) throw new RegistryError(`-layer ${JSON.stringify(spec)}: expected component:version`);
      return { component: checkName('component', spec.slice(0, i)), version: checkName('version', spec.slice(i + 1)) };
    });
    const seen = new Set<string>();
    for (const l of layers) {
      if (seen.has(l.component)) throw new RegistryError(`component ${l.component} is given twice: a configuration holds one version of each`);
      seen.add(l.component);
    }
    return serial(async () => {
      if (this.layers(name)) throw new RegistryError(`configuration ${name} exists already (changeconf or bumpconf change it)`);
      for (const l of layers) if (!this.version(l.component, l.version)) throw new RegistryError(`no version ${l.version} of component ${l.component}`);
      this.db.transaction(() => {
        this.db.prepare('INSERT INTO registry_configs (name, changed_at) VALUES (?, ?)').run(name, new Date().toISOString());
        const ins = this.db.prepare('INSERT INTO registry_layers (config, position, component, version) VALUES (?, ?, ?, ?)');
        layers.forEach((l, i) => ins.run(name, i, l.component, l.version));
      })();
      await this.publish(name);
    });
  }

  /** changeconf -name N -component C -version V (version given) or bumpconf (the newest version of C). */
  async changeConfig(name: string, component: string, version: string | null): Promise<string> {
    checkName('configuration', name);
    checkName('component', component);
    if (version !== null) checkName('version', version);
    return serial(async () => {
      const layers = this.layers(name);
      if (!layers) throw new RegistryError(`no configuration ${name}`);
      if (!layers.some((l) => l.component === component)) throw new RegistryError(`configuration ${name} has no layer of component ${component}`);
      const to = version ?? this.versions(component).at(-1)?.version;
      if (to === undefined || !this.version(component, to)) throw new RegistryError(`no version ${to ?? '(any)'} of component ${component}`);
      this.db.transaction(() => {
        this.db.prepare('UPDATE registry_layers SET version = ? WHERE config = ? AND component = ?').run(to, name, component);
        this.db.prepare('UPDATE registry_configs SET changed_at = ? WHERE name = ?').run(new Date().toISOString(), name);
      })();
      await this.publish(name);
      // The version it left may now be beyond retention.
      await this.retain(component);
      return to;
    });
  }

  async deleteVersion(component: string, version: string): Promise<void> {
    checkName('component', component);
    checkName('version', version);
    return serial(async () => {
      if (!this.version(component, version)) throw new RegistryError(`no version ${version} of component ${component}`);
      const users = this.usedBy(component, version);
      if (users.length > 0) throw new RegistryError(`version ${version} of ${component} is used by configuration ${users.join(', ')}: change or delete that first`);
      this.db.prepare('DELETE FROM registry_versions WHERE component = ? AND version = ?').run(component, version);
      await this.dropUnreferenced();
    });
  }

  async deleteComponent(component: string): Promise<void> {
    checkName('component', component);
    return serial(async () => {
      if (this.versions(component).length === 0) throw new RegistryError(`no component ${component}`);
      const users = this.usedBy(component);
      if (users.length > 0) throw new RegistryError(`component ${component} is used by configuration ${users.join(', ')}: change or delete that first`);
      this.db.prepare('DELETE FROM registry_versions WHERE component = ?').run(component);
      await this.dropUnreferenced();
    });
  }

  async deleteConfig(name: string): Promise<void> {
    checkName('configuration', name);
    return serial(async () => {
      if (!this.layers(name)) throw new RegistryError(`no configuration ${name}`);
      this.db.transaction(() => {
        this.db.prepare('DELETE FROM registry_layers WHERE config = ?').run(name);
        this.db.prepare('DELETE FROM registry_configs WHERE name = ?').run(name);
      })();
      await rm(registryPaths.config(this.dataDir, name), { force: true });
    });
  }

  /** registry/configs/<N>.json: what the SFTP view, `autodeploy registry:<N>` and following ships read. */
  private async publish(name: string): Promise<void> {
    const layers = this.layers(name) ?? [];
    const row = this.db.prepare('SELECT changed_at FROM registry_configs WHERE name = ?').get(name) as { changed_at: string };
    const config: RegistryConfig = {
      name,
      id: configId(layers),
      changedAt: row.changed_at,
      layers: layers.map(({ component, version, sha256, size, file }) => ({ component, version, sha256, size, file })),
    };
    await writeFileAtomic(registryPaths.config(this.dataDir, name), `${JSON.stringify(config, null, 2)}\n`, 0o644);
  }
}
