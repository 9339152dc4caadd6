// The esbuild options both bundles of the tree share (scripts/bundle.mjs for dist/, scripts/ts-loader/bundle.mjs for a
// test run): ES modules for node 20, the modules several entries import in chunks of their own.
// Packages are bundled too, but for those that load a native addon or find their own files beside themselves (the
// tree resolves ssh2's files; better-sqlite3, node-pty and cpu-features load .node files), those loaded only on demand
// (acme-client) and the tests' browser driver. Why: node loads a CommonJS package module by module (resolve, stat,
// read, wrap, compile each); bundled, a ship's start took 50-80 ms less CPU of its ~0.45-0.5 CPU-s (prom-client with
// @opentelemetry/api, cron-parser with luxon, tar, commander, undici).
// Packages' own `require` of node's modules needs a `require` in an ES module: the banner makes one per output file.
// `module` before `main`: jsonc-parser's main is a UMD build whose requires a bundler cannot follow.
export const NODE_EXTERNAL = ['ssh2', 'better-sqlite3', 'node-pty', 'cpu-features', 'acme-client', 'puppeteer-core', '*.node'];
export const NODE_BUNDLE = {
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  mainFields: ['module', 'main'],
  external: NODE_EXTERNAL,
  banner: { js: "import { createRequire as __nodeCreateRequire } from 'node:module'; const require = __nodeCreateRequire(import.meta.url);" },
  logLevel: 'warning',
};
