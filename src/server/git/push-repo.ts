import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { writeIfChanged } from '../../util/atomic-write.js';
import { join } from 'node:path';
import { git } from '../../headquarters/git.js';
import { posixShellQuote as sq } from '../../util/shell-quote.js';
import { relayControl } from '../../commands/control/control-client.js';
import { controlSocketPath } from '../../commands/control/control-wire.js';
import { pushDir } from '../../data-dir/push-names.js';
import { pushIdSetting } from '../../settings/env-settings.js';

/**
 * The pre-receive hook's program (plain JS, so it starts in milliseconds without tsx): hands the ref updates to the
 * running ship (hidden control command `push-build`) and relays the build's lines as they come; git shows them to
 * the admiral as `remote: ...` and rejects the push when this exits non-zero. Its env comes from receive-pack, which
 * the git session started with STARPHLEET_PUSH_ID; GIT_QUARANTINE_PATH is where git keeps the pushed objects until
 * the ref is accepted. The wire is control-client.ts's relayControl and the push id settings/env-settings.ts's reader,
 * their source written in: the hook cannot import them (it lives in the push repo, and the ship may run from TypeScript
 * source, which plain node does not load).
 */
function hookProgram(socket: string): string {
  return `// Written by starphleet (regenerated on every push): build the pushed commit before git accepts the ref.
import { connect } from 'node:net';
// esbuild, when the ship runs from TypeScript source under tsx, names inner functions with this helper.
const __name = (f) => f;
const relayControl = (${relayControl.toString()});
const pushIdSetting = (${pushIdSetting.toString()});
const SOCKET = ${JSON.stringify(socket)};
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const updates = input.split('\\n').filter((l) => l !== '');
  const argv = ['push-build', pushIdSetting(), process.env.GIT_QUARANTINE_PATH ?? '', ...updates];
  const sock = connect(SOCKET);
  sock.on('error', (e) => process.stderr.write('starphleet: cannot reach the ship to build: ' + e.message + '\\n'));
  relayControl(sock, { argv }, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }, (code) => (process.exitCode = code ?? 1));
});
`;
}

/** Hooks the ship owns: rewritten when this ship's node or data dir changed since the repo was made. */
async function installHook(dataDir: string, repo: string): Promise<void> {
  const hooks = join(repo, 'hooks');
  await mkdir(hooks, { recursive: true });
  const program = join(hooks, 'starphleet-pre-receive.mjs');
  await writeIfChanged(program, hookProgram(controlSocketPath(dataDir)), 0o644);
  await writeIfChanged(join(hooks, 'pre-receive'), `#!/bin/sh\nexec ${sq(process.execPath)} ${sq(program)}\n`, 0o755);
}

/**
 * The bare repo of a push name, created on first use (made beside, then renamed into place, so a half-made repo is
 * never seen). Its hooks path is pinned in its own config: a `core.hooksPath` in the ship user's global git config
 * must not switch the build-before-accept hook off.
 */
export async function ensurePushRepo(dataDir: string, repo: string): Promise<void> {
  if (!existsSync(join(repo, 'HEAD'))) {
    await mkdir(pushDir(dataDir), { recursive: true, mode: 0o700 });
    const tmp = `${repo}.tmp-${randomBytes(4).toString('hex')}`;
    try {
      await git(['init', '--quiet', '--bare', '--template=', tmp]);
      await git(['config', 'core.hooksPath', join(repo, 'hooks')], { cwd: tmp });
      await rename(tmp, repo).catch((e: NodeJS.ErrnoException) => {
        // A concurrent first push of the same name made it first: use theirs.
        if (!existsSync(join(repo, 'HEAD'))) throw e;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }
  await installHook(dataDir, repo);
}

/** HEAD of a fresh repo names a branch nobody pushed: point it at the pushed one, or clones warn and check out nothing. */
export async function fixHead(repo: string, ref: string): Promise<void> {
  const resolves = await git(['rev-parse', '--verify', '--quiet', 'HEAD'], { cwd: repo }).then(
    () => true,
    () => false,
  );
  if (!resolves && ref.startsWith('refs/heads/')) await git(['symbolic-ref', 'HEAD', ref], { cwd: repo });
}

/** The sha a ref points at now, or null. */
export async function refSha(repo: string, ref: string): Promise<string | null> {
  return git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repo }).catch(() => null);
}
