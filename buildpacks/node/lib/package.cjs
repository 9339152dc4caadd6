// The node buildpack's reading of an app's package.json, .node-version and .nvmrc (run by bin/compile and bin/release
// with the ship's node). Usage:
//   node package.cjs compile DIR 3>FILE  bin/compile's one node start: checks engines.node, .node-version and .nvmrc
//                                        against this node (its verdict on stdout), then writes on fd 3, for bash to
//                                        eval: has_<script>=0|1 for the scripts the build runs, has_dev=0|1
//                                        (devDependencies listed) and npm_version=<npm's own version>
//   node package.cjs release DIR         prints bin/release's YAML: web is what `npm start` would run, without npm
'use strict';
const fs = require('fs');
const path = require('path');

const [, , what, dir = '.'] = process.argv;

/** Heroku's mark of a build error (` !     `) on every line: the ship quotes the first one when the build fails. */
function fail(message) {
  process.stderr.write(message.split('\n').map((l) => ` !     ${l}\n`).join(''));
  process.exit(2);
}

function readPackage() {
  let text;
  try {
    text = fs.readFileSync(path.join(dir, 'package.json'), 'utf8');
  } catch (e) {
    fail(`package.json: ${e.message}`);
  }
  try {
    const pkg = JSON.parse(text);
    if (pkg === null || typeof pkg !== 'object' || Array.isArray(pkg)) fail('package.json: not a JSON object');
    return pkg;
  } catch (e) {
    fail(`package.json: not valid JSON: ${e.message}`);
  }
}

function script(pkg, name) {
  const s = pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts[name] : undefined;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : null;
}

/** npm's own semver (npm ships it): the same ranges npm reads in engines. */
function semver() {
  const npmDir = process.env.NPM_DIR;
  try {
    return require(path.join(npmDir || '', 'node_modules', 'semver'));
  } catch {
    return null;
  }
}

/** `.nvmrc`/`.node-version` words as nvm reads them, turned into a semver range this node can be checked against. */
function rangeOfVersionFile(word) {
  const w = word.trim().replace(/^v(?=\d)/, '');
  if (/^(node|stable|latest|current|\*)$/i.test(w)) return { range: '*' };
  const lts = /^lts\/(.+)$/i.exec(w);
  if (lts) {
    const mine = process.release.lts;
    if (lts[1] === '*') return mine ? { range: '*' } : { range: null, why: 'an LTS line (this node is not one)' };
    return mine && mine.toLowerCase() === lts[1].toLowerCase() ? { range: '*' } : { range: null, why: `the LTS line ${lts[1]}` };
  }
  // A full version: nvm would install exactly it; this ship has one node, so the same major at least that new will do.
  if (/^\d+\.\d+\.\d+$/.test(w)) return { range: `^${w}`, note: `${w} (taken as ^${w}: the same major, at least that version)` };
  return { range: w };
}

function engines() {
  const pkg = readPackage();
  const have = process.version;
  const sv = semver();
  const asks = [];
  const e = pkg.engines && typeof pkg.engines === 'object' ? pkg.engines.node : undefined;
  if (typeof e === 'string' && e.trim() !== '') asks.push({ from: 'engines.node in package.json', spec: e.trim(), range: e.trim() });
  for (const file of ['.node-version', '.nvmrc']) {
    let text;
    try {
      text = fs.readFileSync(path.join(dir, file), 'utf8');
    } catch {
      continue;
    }
    const word = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).find((l) => l !== '');
    if (word === undefined) continue;
    const r = rangeOfVersionFile(word);
    asks.push({ from: file, spec: word, range: r.range, why: r.why, note: r.note });
  }
  if (asks.length === 0) return console.log(`-----> node ${have} (no engines.node, .node-version or .nvmrc: any node will do)`);
  if (!sv) return console.log(`-----> warning: npm's semver was not found: engines.node and friends are not checked (node ${have})`);
  const unmet = [];
  for (const a of asks) {
    if (a.range === null) unmet.push(`${a.from} asks for ${JSON.stringify(a.spec)} (${a.why})`);
    else if (sv.validRange(a.range) === null) unmet.push(`${a.from} is ${JSON.stringify(a.spec)}, not a version or range`);
    else if (!sv.satisfies(have, a.range, { includePrerelease: false })) unmet.push(`${a.from} asks for ${JSON.stringify(a.note ?? a.spec)}`);
  }
  if (unmet.length > 0) {
    fail(
      `${unmet.join('; ')}: this ship has node ${have} only, and builds download no other node.\n` +
        `Change the version the app asks for, or install a matching node on the ship (for example in a container base, STARPHLEET_BASE).`,
    );
  }
  console.log(`-----> node ${have} (meets ${asks.map((a) => `${a.from} ${JSON.stringify(a.note ?? a.spec)}`).join(', ')})`);
}

function facts() {
  const pkg = readPackage();
  const out = ['heroku-prebuild', 'build', 'heroku-postbuild', 'heroku-cleanup'].map((n) => `has_${n.replace(/-/g, '_')}=${script(pkg, n) === null ? 0 : 1}`);
  const dev = pkg.devDependencies && typeof pkg.devDependencies === 'object' && Object.keys(pkg.devDependencies).length > 0;
  out.push(`has_dev=${dev ? 1 : 0}`);
  return out;
}

/** What `npm --version` prints, from npm's package.json (NPM_DIR), without starting npm; null when unreadable. */
function npmVersion() {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(process.env.NPM_DIR || '', 'package.json'), 'utf8')).version;
    // Eval'd by bash: a version's characters only.
    return typeof v === 'string' && /^[0-9A-Za-z.+-]+$/.test(v) ? v : null;
  } catch {
    return null;
  }
}

if (what === 'compile') {
  engines();
  const v = npmVersion();
  fs.writeSync(3, `${[...facts(), `npm_version=${v ?? ''}`].join('\n')}\n`);
} else if (what === 'release') {
  const pkg = readPackage();
  const start = script(pkg, 'start');
  // npm start runs prestart first, and `node server.js` when there is no start script; with neither it has nothing to
  // run, and no default web is offered (a worker-only app stays worker-only).
  const cmd = start ?? (fs.existsSync(path.join(dir, 'server.js')) ? 'node server.js' : null);
  const pre = script(pkg, 'prestart');
  const lines = ['---', 'config_vars:', '  NODE_ENV: production', '  NPM_CONFIG_UPDATE_NOTIFIER: "false"', '  NO_UPDATE_NOTIFIER: "1"'];
  if (cmd === null) lines.push('default_process_types: {}');
  else lines.push('default_process_types:', `  web: ${JSON.stringify(pre ? `${pre} && ${cmd}` : cmd)}`);
  console.log(lines.join('\n'));
} else {
  fail('usage: package.cjs compile DIR 3>FILE | release DIR');
}
