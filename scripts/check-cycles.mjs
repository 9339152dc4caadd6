#!/usr/bin/env node
// Fails (exit 1) when the folders of src/ import each other in a cycle, and names the imports that close it.
// A node ("room") is a top-level folder of src/ (agent, commands, ...) or a top-level file (ship.ts, cli.ts).
// Type-only imports count too: two rooms that need each other's types cannot be read one without the other.
// Usage: node scripts/check-cycles.mjs [SRC_DIR]   (default: src); run by .ci/run as `npm run check:cycles`.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(process.argv[2] ?? 'src');

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return files(p);
    return /\.(ts|mts)$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The room a path is in: its first segment under root. */
function room(path) {
  // TypeScript imports name the emitted file: `../ship.js` is src/ship.ts.
  return relative(root, path).split(sep)[0].replace(/\.js$/, '.ts');
}

// Static imports and re-exports (`import x from`, `import type x from`, `export { x } from`, `import './x'`) and
// dynamic import('./x'): relative specifiers only, packages are not rooms.
const SPEC = /(?:^|[\s;])(import|export)\s([^'"`;]*?)from\s*['"](\.{1,2}\/[^'"]+)['"]|(?:^|[\s;])import\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** edges.get(a).get(b): the `file:line imports spec` lines by which room a imports room b. */
const edges = new Map();
function add(map, from, to, why) {
  if (!map.has(from)) map.set(from, new Map());
  const out = map.get(from);
  if (!out.has(to)) out.set(to, []);
  out.get(to).push(why);
}
for (const file of files(root)) {
  const text = readFileSync(file, 'utf8');
  const from = room(file);
  for (const m of text.matchAll(SPEC)) {
    const spec = m[3] ?? m[4] ?? m[5];
    const typeOnly = m[2] !== undefined && /^type\s/.test(m[2].trim() + ' ');
    const target = resolve(dirname(file), spec);
    if (!target.startsWith(root + sep)) continue;
    const to = room(target);
    if (to === from) continue;
    const line = text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0);
    const why = `${relative(process.cwd(), file)}:${line} imports ${spec}${typeOnly ? ' (type)' : ''}`;
    add(edges, from, to, why);
  }
}

/** Strongly connected components of two or more rooms (Tarjan): every room in one is on a cycle. */
function knots(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) === index.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) found.push(c.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** One shortest cycle from the knot's first room back to it (breadth first), as a list of rooms. */
function cycleOf(graph, knot) {
  const members = new Set(knot);
  const start = knot[0];
  const prev = new Map([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const u = queue.shift();
    for (const w of [...(graph.get(u)?.keys() ?? [])].sort()) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [u];
        while (prev.get(path[0]) !== null) path.unshift(prev.get(path[0]));
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, u);
        queue.push(w);
      }
    }
  }
  return [start];
}

function report(graph, knot, print, label) {
  const cycle = cycleOf(graph, knot);
  const more = knot.length > cycle.length - 1 ? `  (rooms in this knot: ${knot.join(', ')})` : '';
  print(`${label}: ${cycle.join(' -> ')}${more}`);
  for (let i = 0; i + 1 < cycle.length; i++) {
    const why = graph.get(cycle[i]).get(cycle[i + 1]);
    for (const w of why.slice(0, 3)) print(`  ${cycle[i]} -> ${cycle[i + 1]}: ${w}`);
    if (why.length > 3) print(`  ${cycle[i]} -> ${cycle[i + 1]}: (+${why.length - 3} more)`);
  }
}

const failing = knots(edges);
for (const k of failing) report(edges, k, console.error, 'folder cycle');
if (failing.length > 0) process.exit(1);
const rooms = new Set([...edges.keys(), ...[...edges.values()].flatMap((m) => [...m.keys()])]);
console.log(`check-cycles: no import cycle between the ${rooms.size} rooms of ${relative(process.cwd(), root) || '.'}`);
