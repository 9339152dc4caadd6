#!/usr/bin/env node
// The house against its map: every folder of src/ named in docs/architecture.md, STARPHLEET_* settings read from
// process.env only in src/settings/, no test file left flat in test/. Prints one line per finding; exit 1 if any.
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

const flat = readdirSync('test').filter((f) => /\.(test|slow)\.ts$/.test(f));
if (flat.length > 0) findings.push(`test files flat in test/ (test/unit/<room>/, test/e2e/<capability>/, test/chaos/): ${flat.join(', ')}`);

for (const line of findings) console.log(line);
if (findings.length === 0) console.log(`check-house: ${folders.length} folders of src/ named in docs/architecture.md, settings read in src/settings/ only, tests by room`);
process.exit(findings.length > 0 ? 1 : 0);
