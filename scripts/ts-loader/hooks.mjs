// Module hooks that run the checkout's TypeScript from the cache compile.mjs filled: a `.js` specifier naming a
// `.ts` file resolves to it (the NodeNext convention the tree is written in), and a `.ts` file loads as the cache's
// JavaScript, or compiled on the spot when it is not there (a file outside the checkout's roots).
import { existsSync, readFileSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

let root = '';
let cache = '';

export function initialize(data) {
  root = data.root;
  cache = data.cache;
}

export async function resolve(specifier, context, next) {
  if (specifier.endsWith('.js') && context.parentURL?.startsWith('file:') && /^(\.{1,2}\/|\/|file:)/.test(specifier)) {
    const ts = new URL(`${specifier.slice(0, -3)}.ts`, context.parentURL);
    if (existsSync(ts)) return { url: ts.href, format: 'module', shortCircuit: true };
  }
  return next(specifier, context);
}

let esbuild = null;

export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
  const file = fileURLToPath(url);
  const rel = relative(root, file);
  if (!rel.startsWith(`..${sep}`) && rel !== '..') {
    try {
      return { format: 'module', source: readFileSync(`${cache}/${rel}.js`, 'utf8'), shortCircuit: true };
    } catch {
      // Not compiled beforehand (made after the run started): compiled below.
    }
  }
  esbuild ??= await import('esbuild');
  const { TRANSFORM } = await import('./compile.mjs');
  const { code } = await esbuild.transform(readFileSync(file, 'utf8'), { ...TRANSFORM, sourcefile: file });
  return { format: 'module', source: code, shortCircuit: true };
}
