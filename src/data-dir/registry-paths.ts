import { join } from 'node:path';

/**
 * The registry's part of the data dir. Kept apart from the releases' `layers/`, whose collector deletes any archive no
 * release references: a registry version must live as long as the registry keeps it.
 */
export const registryPaths = {
  root: (dataDir: string): string => join(dataDir, 'registry'),
  /** Finished uploads, named by their sha256, until addver takes them. */
  incoming: (dataDir: string): string => join(dataDir, 'registry', 'incoming'),
  upload: (dataDir: string, sha256: string): string => join(dataDir, 'registry', 'incoming', sha256),
  layers: (dataDir: string): string => join(dataDir, 'registry', 'layers'),
  layer: (dataDir: string, sha256: string): string => join(dataDir, 'registry', 'layers', `${sha256}.tar.gz`),
  configs: (dataDir: string): string => join(dataDir, 'registry', 'configs'),
  config: (dataDir: string, name: string): string => join(dataDir, 'registry', 'configs', `${name}.json`),
  /** Layers fetched from another ship (remote.ts), verified by sha256 before use. */
  fetched: (dataDir: string): string => join(dataDir, 'registry', 'fetched'),
};

/** Component, version and configuration names: one safe path segment (they name files and show in TSV output). */
export const REGISTRY_NAME = /^[A-Za-z0-9_][A-Za-z0-9._~-]{0,127}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;
