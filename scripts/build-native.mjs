#!/usr/bin/env node
// Builds native/peer-cred.c (binding.gyp) with node-gyp: run by `npm ci`/`npm install` (the install script) and by
// `npm run build` (an update reuses node_modules, so install scripts do not run there). Node's own headers are used
// when they sit beside this node (Debian's nodejs: /usr/include/node), so no download is needed; otherwise node-gyp
// fetches them as it always does.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : '');
const args = ['rebuild', '--loglevel=warn', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
// npm puts its own node-gyp on PATH for scripts; outside npm, npm's copy beside this node.
const gyp = process.env.npm_config_node_gyp;
const r = gyp ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: 'inherit' }) : spawnSync('node-gyp', args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write('starphleet: building native/peer-cred.c failed (node-gyp needs python3, make and a C compiler)\n');
  process.exit(r.status ?? 1);
}
