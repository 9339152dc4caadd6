import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerChannel } from 'ssh2';
import { auditSessionEnd, auditSessionStart } from '../../state/audit.js';
import { auditPushStart, auditPushUpdate, getPush } from '../../state/push-audit.js';
import { killGroup } from '../../util/process-group.js';
import { callShip } from '../../commands/control/control-client.js';
import { parseGitCommand } from './git-command.js';
import { finishChannel } from '../sessions/process-end.js';
import { ensurePushRepo, fixHead, refSha } from './push-repo.js';
import { pushMaxBytes } from '../../agent/push-limits.js';
import type { SessionContext } from '../sessions/session-context.js';
import { homeDir, sessionPath } from '../sessions/session-env.js';

/** `version=2` and whatever future git sends there: short, no spaces or shell-special characters. */
export const GIT_PROTOCOL_VALUE = /^[A-Za-z0-9=:.,_-]{1,256}$/;
/** Grace between SIGTERM and SIGKILL for a git process whose client went away. */
const HANGUP_GRACE_MS = 2000;

/**
 * Runs `git <sub> <repo>` with an argument array (never a shell) for the channel: the client's bytes to its stdin
 * (EPIPE ignored: git may stop reading early), its stdout to the channel, its stderr to the channel's stderr.
 * Resolves with its exit code once all of its output is out; `kill` ends its whole process group (hooks included).
 */
function runGit(channel: ServerChannel, args: readonly string[], env: Record<string, string>, touch: () => void, watch?: (chunk: Buffer) => void): { done: Promise<number>; kill: () => void } {
  const child = spawn('git', [...args], { env, cwd: homeDir(), detached: true, stdio: 'pipe' });
  if (watch) child.stdout.on('data', watch);
  let ended = false;
  const signalGroup = (sig: NodeJS.Signals): void => {
    if (!ended) killGroup(child.pid, sig);
  };
  child.stdin.on('error', () => {});
  channel.on('data', touch);
  channel.pipe(child.stdin);
  child.stdout.on('data', touch);
  child.stderr.on('data', touch);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  const done = new Promise<number>((resolve) => {
    child.on('error', (e) => {
      channel.stderr.write(`starphleet: cannot run git: ${e.message}\n`);
    });
    child.on('close', (code) => {
      ended = true;
      channel.unpipe(child.stdin);
      channel.off('data', touch);
      resolve(code ?? 1);
    });
  });
  return {
    done,
    kill() {
      signalGroup('SIGTERM');
      setTimeout(() => signalGroup('SIGKILL'), HANGUP_GRACE_MS).unref();
    },
  };
}

/**
 * `git`: admirals push test builds (`git push ssh://git@SHIP:PORT/<name>`) and clone what they pushed. One
 * git-receive-pack or git-upload-pack exec the gate allowed, from parse to exit status; returns its hang-up.
 */
export function serveGit(channel: ServerChannel, command: string, ctx: SessionContext, protocol: string | null): () => void {
  const { user, fingerprint, keyFile } = ctx.identity;
  const started = Date.now();
  const auditId = auditSessionStart(ctx.db, { kind: 'exec', user, fingerprint, keyFile, remote: ctx.peer.remoteAddress, command, pty: false });
  ctx.log(`ssh ${user} ${fingerprint} (${keyFile}) from ${ctx.peer.remoteAddress}: exec ${JSON.stringify(command)}`);
  // A client that vanishes mid-write makes the channel emit errors; the close handler does the cleanup.
  channel.on('error', () => {});
  channel.stderr.on('error', () => {});
  let finished = false;
  const end = (exitCode: number, message = ''): void => {
    if (finished) return;
    finished = true;
    finishChannel(channel, { exitCode, signal: null });
    auditSessionEnd(ctx.db, auditId, { exitCode, signal: null, durationMs: Date.now() - started, message });
    ctx.log(`ssh ${user} ${fingerprint} exec ended: exit ${exitCode} after ${Date.now() - started} ms`);
  };
  const say = (text: string): void => {
    if (!finished && channel.writable) channel.stderr.write(text);
  };
  const refuse = (message: string): void => {
    say(`starphleet: ${message}\n`);
    end(1, message);
  };
  const parsed = parseGitCommand(command, ctx.dataDir);
  if ('error' in parsed) {
    refuse(parsed.error);
    return () => {};
  }
  const abort = new AbortController();
  let git: ReturnType<typeof runGit> | null = null;
  const hangup = (): void => {
    abort.abort();
    git?.kill();
  };
  channel.on('close', hangup);
  const env: Record<string, string> = { PATH: sessionPath(ctx.dataDir), HOME: homeDir(), LANG: process.env.LANG ?? 'C.UTF-8', ...(protocol ? { GIT_PROTOCOL: protocol } : {}) };
  const { name, repo } = parsed;

  const clone = async (): Promise<void> => {
    if (!existsSync(join(repo, 'HEAD'))) return refuse(`no repository named ${name} on this ship: git push to it first`);
    git = runGit(channel, ['upload-pack', '--strict', repo], env, ctx.touch);
    end(await git.done);
  };

  const push = async (): Promise<void> => {
    await ensurePushRepo(ctx.dataDir, repo);
    const pushId = auditPushStart(ctx.db, { name, fingerprint, keyFile, remote: ctx.peer.remoteAddress });
    // receive.maxInputSize: index-pack stops reading past the bound and nothing is stored. Its message reaches the
    // client inside the sideband (stdout), which is watched for it to add the ship's own, naming the setting.
    const max = pushMaxBytes();
    let seen = '';
    let tooLarge = false;
    const watch = (b: Buffer): void => {
      seen = (seen + b.toString('latin1')).slice(-400);
      if (seen.includes('exceeds maximum allowed size')) tooLarge = true;
    };
    git = runGit(channel, ['-c', `receive.maxInputSize=${max}`, 'receive-pack', repo], { ...env, STARPHLEET_PUSH_ID: String(pushId) }, ctx.touch, watch);
    const code = await git.done;
    if (tooLarge) {
      const message = `the push is larger than STARPHLEET_PUSH_MAX_BYTES (${max} bytes): refused, nothing was stored`;
      auditPushUpdate(ctx.db, pushId, { result: 'rejected', message });
      say(`starphleet: ${message}\n`);
      return end(1);
    }
    const p = getPush(ctx.db, pushId);
    if (abort.signal.aborted || code !== 0 || !p) {
      const why = abort.signal.aborted ? 'the client went away' : `git receive-pack exited ${code}`;
      // Built and accepted, but nobody is left to use the test instance: it is simply never started.
      if (p?.result === 'built') auditPushUpdate(ctx.db, pushId, { result: 'stopped', message: `${why} before the test instance started` });
      else if (p && p.result !== 'rejected') auditPushUpdate(ctx.db, pushId, { result: 'rejected', message: why });
      return end(code === 0 ? 1 : code);
    }
    if (p.result === 'receiving') {
      auditPushUpdate(ctx.db, pushId, { result: 'unchanged' });
      return end(0);
    }
    // receive-pack exits 0 even when it rejected refs; what counts is whether the ref now points at the build.
    if (p.result !== 'built' || !p.ref || !p.sha || (await refSha(repo, p.ref)) !== p.sha) {
      if (p.result === 'built') auditPushUpdate(ctx.db, pushId, { result: 'rejected', message: 'git did not move the ref' });
      return end(0);
    }
    await fixHead(repo, p.ref);
    const write = (s: string): void => {
      ctx.touch();
      say(s);
    };
    end(await callShip(ctx.dataDir, ['push-serve', String(pushId)], { out: write, err: write, signal: abort.signal }));
  };

  (parsed.program === 'git-upload-pack' ? clone() : push()).catch((e: unknown) => {
    ctx.log(`ssh ${user} ${JSON.stringify(command)} failed: ${(e as Error).stack ?? String(e)}`);
    refuse(`${parsed.name}: ${(e as Error).message}`);
  });
  return hangup;
}
