// Compiles the checkout's TypeScript (src/, test/, bench/; not test fixtures, which are apps of their own) to
// JavaScript once for a test run, each file alone as tsx would (esbuild's transform, with the tsconfig's target),
// into a cache dir that mirrors the checkout: <cache>/<path from the checkout>.js. hooks.mjs serves them.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { transform } from 'esbuild';

const ROOTS = ['src', 'test', 'bench'];

/** The esbuild options every file is compiled with (hooks.mjs compiles a file outside the cache with the same). */
export const TRANSFORM = { loader: 'ts', format: 'esm', target: 'node20', sourcemap: 'inline', tsconfigRaw: { compilerOptions: { target: 'ES2022' } } };

function tsFiles(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'fixtures' && e.name !== 'node_modules') out = out.concat(tsFiles(p));
    } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Compiles every TypeScript file under the checkout's roots into cache; returns how many. */
export async function compileCheckout(root, cache) {
  const files = ROOTS.flatMap((r) => tsFiles(join(root, r)));
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transform(readFileSync(file, 'utf8'), { ...TRANSFORM, sourcefile: file });
      const out = join(cache, `${relative(root, file)}.js`);
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, code);
    }),
  );
  return files.length;
}
