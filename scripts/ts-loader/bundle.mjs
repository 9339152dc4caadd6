// Bundles the test files of a run (and the sources they import) into plain JavaScript once, with esbuild: one entry
// per test file, the modules they share in chunks, packages left to node_modules. Each file then runs as
// `node <out>/<its path>.js`, with no module hooks. Why: node 20 runs --import hooks on a thread of their own (0.1
// CPU-s a process before the first test) and resolves, reads, compiles and links each of a file's ~300 modules one by
// one through them: a file that imports the ship's helpers spent 0.48 CPU-s before its first test with the per-file
// cache and hooks this replaces, 0.16 bundled (the same modules, 3 runs each).
// Every source's import.meta.url is its .ts file's, as under tsx: what a module finds beside itself (fixtures,
// package.json, the native addon, dist/) is where it always was. Stack traces map back to the TypeScript
// (--enable-source-maps, linked maps). <out>/node_modules links the checkout's, so the bundles find its packages.
import { readFileSync, symlinkSync } from 'node:fs';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { NODE_BUNDLE } from '../esbuild-node.mjs';

/** The checkout's own TypeScript (test fixtures are apps of their own, never imported by a test). */
const ROOTS = ['src', 'test', 'bench'];

/** Bundles `files` (paths from `root`) into `out`: `<out>/<file without .ts>.js` each. */
export async function bundleTests(root, files, out) {
  const own = ROOTS.map((r) => join(root, r) + sep);
  const sourceUrls = {
    name: 'source-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (!own.some((r) => args.path.startsWith(r))) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return undefined;
        return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
      });
    },
  };
  await build({
    absWorkingDir: root,
    entryPoints: files.map((f) => join(root, f)),
    outbase: root,
    outdir: out,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    ...NODE_BUNDLE,
    sourcemap: 'linked',
    // As tsx compiles: the tree's target, and no other tsconfig setting changes the JavaScript.
    tsconfigRaw: { compilerOptions: { target: 'ES2022' } },
    plugins: [sourceUrls],
  });
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'));
}

/** The bundle of a test file (a path from the checkout). */
export function bundled(out, file) {
  return join(out, file.replace(/\.ts$/, '.js'));
}
