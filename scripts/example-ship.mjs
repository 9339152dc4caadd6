#!/usr/bin/env node
// Starts a ship on the bundled example headquarters. On first start the example HQ and its service become local git
// repos under .data/example/ (no network needed); later starts reuse them, so your commits there are kept.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const base = resolve(process.env.STARPHLEET_EXAMPLE_DIR ?? join(root, '.data', 'example'));
const hq = join(base, 'headquarters');
const hello = join(base, 'services', 'hello');
const git = (cwd, ...args) =>
  execFileSync('git', ['-c', 'user.name=starphleet example', '-c', 'user.email=example@starphleet.invalid', ...args], { cwd, stdio: 'pipe' });

function makeRepo(dir, fill) {
  if (existsSync(join(dir, '.git'))) return false;
  mkdirSync(dir, { recursive: true });
  fill();
  git(dir, 'init', '-q', '-b', 'master');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'example');
  return true;
}

makeRepo(hello, () => cpSync(join(root, 'examples', 'services', 'hello'), hello, { recursive: true }));
const fresh = makeRepo(hq, () => {
  cpSync(join(root, 'examples', 'headquarters'), hq, { recursive: true });
  mkdirSync(join(hq, 'hello'), { recursive: true });
  const orders = readFileSync(join(hq, 'orders.in'), 'utf8').replace('@HELLO_REPO@', `file://${hello}`);
  writeFileSync(join(hq, 'hello', 'orders'), orders);
  rmSync(join(hq, 'orders.in'), { force: true });
  rmSync(join(hq, 'authorized_keys', '.keep'), { force: true });
});
if (fresh) console.log(`example headquarters created at ${hq}`);
// The ship writes its record (ships/example) back to HQ. The example HQ is the checkout you edit, and git refuses a
// push to a checked-out branch by default; updateInstead takes it and updates the files too (while they are clean).
// Set on every start, so an example HQ made by an older version gets it as well.
git(hq, 'config', 'receive.denyCurrentBranch', 'updateInstead');

// Every start: your ~/.ssh/id_*.pub keys become admirals (committed to the example HQ), so a key made after the first
// start is let in on the next one.
const sshDir = join(homedir(), '.ssh');
const pubs = existsSync(sshDir) ? readdirSync(sshDir).filter((f) => /^id_[a-z0-9_-]+\.pub$/.test(f)).sort() : [];
const keysDir = join(hq, 'authorized_keys');
mkdirSync(keysDir, { recursive: true });
const admitted = [];
for (const f of pubs) {
  const text = readFileSync(join(sshDir, f), 'utf8');
  const target = join(keysDir, f.replace(/\.pub$/, ''));
  if (existsSync(target) && readFileSync(target, 'utf8') === text) continue;
  writeFileSync(target, text);
  admitted.push(f);
}
if (admitted.length > 0) {
  git(hq, 'add', '-A', 'authorized_keys');
  git(hq, 'commit', '-q', '-m', `admirals: ${admitted.join(', ')} from ~/.ssh`, '--', 'authorized_keys');
  for (const f of admitted) console.log(`admiral: ${join(sshDir, f)} (copied to ${join(keysDir, f.replace(/\.pub$/, ''))})`);
}
const keyFiles = readdirSync(keysDir).filter((f) => !f.startsWith('.'));
const httpPort = process.env.HTTP_PORT ?? '8080';
const sshPort = process.env.SSH_PORT ?? '2222';
if (keyFiles.length === 0) {
  console.log(`no SSH key yet: ${sshDir} has no id_*.pub, so no admiral can log in to this ship. To get in:
  1. ssh-keygen -t ed25519        (makes ~/.ssh/id_ed25519 and ~/.ssh/id_ed25519.pub)
  2. stop this ship (Ctrl-C) and run \`npm run example\` again: the new key becomes an admiral
  3. ssh -p ${sshPort} admiral@localhost
(or put any public key in ${keysDir}/<name> and commit it there: the running ship admits it within a pulse)`);
}

console.log(`try: curl http://localhost:${httpPort}/hello/   (ssh: ssh -p ${sshPort} admiral@localhost)`);
const child = spawn(
  process.execPath,
  [join(root, 'dist', 'cli.js'), 'ship', '--headquarters', hq, '--data', join(base, 'data'), '--listen', '127.0.0.1',
    '--http-port', httpPort, '--ssh-port', sshPort, '--pulse', process.env.STARPHLEET_PULSE ?? '2', '--name', 'example'],
  { stdio: 'inherit' },
);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
child.on('exit', (code) => process.exit(code ?? 1));
