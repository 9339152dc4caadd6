#!/usr/bin/env node
// The house against its map: every folder of src/ named in docs/architecture.md, STARPHLEET_* settings read (from
// process.env or any env object) only in src/settings/ and each a row of docs/settings.md, no test file left flat in test/. Prints one line per finding; exit 1 if any.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const findings = [];
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : []));

const map = existsSync('docs/architecture.md') ? readFileSync('docs/architecture.md', 'utf8') : '';
const hasTs = (d) => readdirSync(d).some((f) => f.endsWith('.ts'));
const folders = walk('src').filter(hasTs).map((d) => relative('src', d).split(sep).join('/'));
// A folder is named by its path under src/ (`agent/sandbox`) or, in the rooms drawing, as `name/` on its own line.
const unnamed = folders.filter((f) => !map.includes(`src/${f}/`) && !map.includes(`${f}/`) && !new RegExp(`^\\s+${f.split('/').pop()}/`, 'm').test(map));
if (unnamed.length > 0) findings.push(`docs/architecture.md does not name: ${unnamed.join(', ')}`);

const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
const readers = files('src').filter((f) => !f.startsWith(`src${sep}settings${sep}`) && /process\.env(\.|\[['"])STARPHLEET_/.test(readFileSync(f, 'utf8')));
if (readers.length > 0) findings.push(`STARPHLEET_* read from process.env outside src/settings/: ${readers.join(', ')}`);

// Any read of a setting, from whatever env object a room was handed (`env.X`, `hqEnv?.X`, `env['X']`), belongs in
// src/settings/ too; setting one for an instance or a hook (`env.X = ...`) is not a read.
const MEMBER_READ = /\.(STARPHLEET_[A-Z0-9_]+)\b(?!\s*=(?!=))|[\w\])]\s*\[\s*['"`](STARPHLEET_[A-Z0-9_]+)['"`]\s*\](?!\s*=(?!=))/g;
const memberReads = files('src')
  .filter((f) => !f.startsWith(`src${sep}settings${sep}`))
  .flatMap((f) => readFileSync(f, 'utf8').split('\n').flatMap((line, i) => [...line.matchAll(MEMBER_READ)].map((m) => `${f}:${i + 1} ${m[1] ?? m[2]}`)));
if (memberReads.length > 0) findings.push(`STARPHLEET_* read outside src/settings/ (give it a typed reader there): ${memberReads.join(', ')}`);

// docs/settings.md's table and the settings room name the same settings: a name in src/settings/ is read there.
const roomNames = new Set(files('src/settings').flatMap((f) => [...readFileSync(f, 'utf8').matchAll(/STARPHLEET_[A-Z0-9_]*[A-Z0-9]/g)].map((m) => m[0])));
const table = existsSync('docs/settings.md') ? readFileSync('docs/settings.md', 'utf8') : '';
const tableNames = new Set([...table.matchAll(/^\| `(STARPHLEET_[A-Z0-9_]+)`/gm)].map((m) => m[1]));
const undocumented = [...roomNames].filter((n) => !tableNames.has(n)).sort();
const unread = [...tableNames].filter((n) => !roomNames.has(n)).sort();
if (undocumented.length > 0) findings.push(`docs/settings.md has no row for: ${undocumented.join(', ')}`);
if (unread.length > 0) findings.push(`docs/settings.md lists settings src/settings/ does not read: ${unread.join(', ')}`);

const flat = readdirSync('test').filter((f) => /\.(test|slow)\.ts$/.test(f));
if (flat.length > 0) findings.push(`test files flat in test/ (test/unit/<room>/, test/e2e/<capability>/, test/chaos/): ${flat.join(', ')}`);

for (const line of findings) console.log(line);
if (findings.length === 0) console.log(`check-house: ${folders.length} folders of src/ named in docs/architecture.md, settings read in src/settings/ only (${roomNames.size}, each a row of docs/settings.md), tests by room`);
process.exit(findings.length > 0 ? 1 : 0);
