import { createHash } from 'node:crypto';

/** One layer of a configuration as `/registry/configs/<N>.json` shows it (deploy-tools' order: unpacked in turn). */
export interface RegistryLayer {
  readonly component: string;
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
  /** Where the archive is, in the SFTP view. */
  readonly file: string;
}

export interface RegistryConfig {
  readonly name: string;
  /** A digest of the layers (40 hex): what a following agent compares, and the "sha" of the service it deploys. */
  readonly id: string;
  readonly changedAt: string;
  readonly layers: readonly RegistryLayer[];
}

export function configId(layers: readonly Pick<RegistryLayer, 'component' | 'version' | 'sha256'>[]): string {
  const canon = JSON.stringify(layers.map((l) => [l.component, l.version, l.sha256]));
  return createHash('sha1').update(canon).digest('hex');
}

const SHA = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._~-]{0,127}$/;

/** Parses a configuration file (ours or another ship's): anything unexpected is an error naming the key. */
export function parseRegistryConfig(text: string, where: string): RegistryConfig {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON: ${(e as Error).message}`);
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || !Array.isArray(o.layers)) throw new Error(`${where}: expected {name, layers: [...]}`);
  const layers = o.layers.map((raw: unknown, i: number): RegistryLayer => {
    const l = raw as Record<string, unknown>;
    if (typeof l !== 'object' || l === null) throw new Error(`${where}: layers[${i}] is not an object`);
    if (typeof l.component !== 'string' || !NAME.test(l.component)) throw new Error(`${where}: layers[${i}].component is not a name`);
    if (typeof l.version !== 'string' || !NAME.test(l.version)) throw new Error(`${where}: layers[${i}].version is not a name`);
    if (typeof l.sha256 !== 'string' || !SHA.test(l.sha256)) throw new Error(`${where}: layers[${i}].sha256 is not 64 hex digits`);
    if (typeof l.size !== 'number' || !Number.isSafeInteger(l.size) || l.size < 0) throw new Error(`${where}: layers[${i}].size is not a size`);
    return { component: l.component, version: l.version, sha256: l.sha256, size: l.size, file: `/registry/layers/${l.sha256}.tar.gz` };
  });
  return { name: o.name, id: configId(layers), changedAt: typeof o.changedAt === 'string' ? o.changedAt : '', layers };
}
