#!/usr/bin/env node
// Starts a ship on the bundled example headquarters. On first start the example HQ and its service become local git
// repos under .data/example/ (no network needed); later starts reuse them, so your commits there are kept.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  execFileSync('rm', ['-f', join(hq, 'orders.in'), join(hq, 'authorized_keys', '.keep')]);
  // Your own public keys become admirals, so `ssh -p 2222 admiral@localhost` works at once.
  const ssh = join(homedir(), '.ssh');
  const pubs = existsSync(ssh) ? readdirSync(ssh).filter((f) => /^id_[a-z0-9_]+\.pub$/.test(f)) : [];
  for (const f of pubs) copyFileSync(join(ssh, f), join(hq, 'authorized_keys', f.replace(/\.pub$/, '')));
  if (pubs.length === 0) console.log(`no ~/.ssh/id_*.pub found: add a public key file to ${join(hq, 'authorized_keys')} and commit to get in over ssh`);
});
if (fresh) console.log(`example headquarters created at ${hq}`);

const httpPort = process.env.HTTP_PORT ?? '8080';
const sshPort = process.env.SSH_PORT ?? '2222';
console.log(`try: curl http://localhost:${httpPort}/hello/   (ssh: ssh -p ${sshPort} admiral@localhost)`);
const child = spawn(
  process.execPath,
  [join(root, 'dist', 'cli.js'), 'ship', '--headquarters', hq, '--data', join(base, 'data'), '--listen', '127.0.0.1',
    '--http-port', httpPort, '--ssh-port', sshPort, '--pulse', process.env.STARPHLEET_PULSE ?? '2', '--name', 'example'],
  { stdio: 'inherit' },
);
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
child.on('exit', (code) => process.exit(code ?? 1));
