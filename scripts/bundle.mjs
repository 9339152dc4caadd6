#!/usr/bin/env node
// Run by `npm run build` after tsc: bundles the programs that start most often, the CLI (which is also the ship) and
// the data plane, into dist/bundle/ (esbuild, from src/, packages left to node_modules, each lazily loaded command a
// chunk of its own), and points dist/cli.js and dist/dataplane/process/plane-main.js at them.
// Why: node 20 spends ~0.6 ms of CPU on every ES module it loads (resolve, read, compile, link). A ship loads ~300 of
// ours (0.36 CPU-s to import ship.js), a plane 81, and a phleet starts them again and again (every ship start, every
// update and handover, every CLI call; a test run: ~140 ships, ~240 planes, ~460 CLI calls).
// Every other file of dist/ is still tsc's, and each bundled module's import.meta.url is its own dist/ file's, so
// whatever a module finds beside itself (package.json, the native addon, a worker's file) is where it always was.
// Without esbuild (a build that installed no dev dependency) dist/ stays tsc's alone, which runs the same.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { NODE_BUNDLE } from './esbuild-node.mjs';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');
const out = join(root, 'dist', 'bundle');
const ENTRIES = { cli: 'cli', 'plane-main': 'dataplane/process/plane-main' };

let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  console.error(`bundle: esbuild is not installed (${e.message.split('\n')[0]}): dist/ stays tsc's output, unbundled`);
  process.exit(0);
}

/** Each source's import.meta.url made its dist/ file's, seen from dist/bundle/ (where every output file lies). */
const ownUrls = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (!args.path.startsWith(`${src}/`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const distFile = join(root, 'dist', relative(src, args.path)).replace(/\.ts$/, '.js');
      const url = `new URL(${JSON.stringify(relative(out, distFile))}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

await esbuild.build({
  absWorkingDir: root,
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, path]) => [name, join(src, `${path}.ts`)])),
  outdir: out,
  // Chunks beside the entries: one relative path from every output file to dist/.
  chunkNames: 'chunk-[hash]',
  ...NODE_BUNDLE,
  tsconfig: join(root, 'tsconfig.json'),
  sourcemap: true,
  legalComments: 'none',
  plugins: [ownUrls],
});

for (const [name, path] of Object.entries(ENTRIES)) {
  const file = join(root, 'dist', `${path}.js`);
  const target = relative(join(file, '..'), join(out, `${name}.js`));
  const shebang = existsSync(file) && readFileSync(file, 'utf8').startsWith('#!') ? '#!/usr/bin/env node\n' : '';
  writeFileSync(file, `${shebang}// Written by scripts/bundle.mjs: this program runs from its bundle (tsc's modules load one by one).\nimport '${target.startsWith('.') ? target : `./${target}`}';\n`);
}
