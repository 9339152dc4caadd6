import type { PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { serveCommand, type ServedCommand } from './admiral-session.js';
import { classifyExec, classifyShell } from '../access/exec-request.js';
import type { SshRequest } from '../access/gate.js';
import { GIT_PROTOCOL_VALUE, serveGit } from '../git/git-session.js';
import { serveScpExec } from '../sftp/scp-exec.js';
import type { SessionContext } from './session-context.js';
import { ClientEnv } from './session-env.js';
import { refuseOnChannel } from '../access/connection-gate.js';
import { startSftp } from '../sftp/subsystem.js';
import { serveUpdate } from './update-session.js';

/**
 * One session channel, for any user: every request (pty, env, shell, exec, subsystem, agent, X11) is put to the gate,
 * and only what it allowed reaches a backend: bash (shell/exec), the SFTP view, legacy scp, git, or the update.
 * One program per session, as in OpenSSH. Returns the session's teardown.
 */
export function startSession(session: Session, ctx: SessionContext): () => void {
  const clientEnv = new ClientEnv();
  let gitProtocol: string | null = null;
  let ptyInfo: PseudoTtyInfo | null = null;
  let command: ServedCommand | null = null;
  let stop: (() => void) | null = null;
  let started = false;

  session.on('env', (accept, reject, info) => {
    if (started || !ctx.gate.authorize({ kind: 'env', name: info.key }).allow) return void reject?.();
    if (ctx.identity.user === 'git') {
      if (!GIT_PROTOCOL_VALUE.test(info.val)) return void reject?.();
      gitProtocol = info.val;
      return void accept?.();
    }
    if (clientEnv.offer(info.key, info.val)) accept?.();
    else reject?.();
  });
  session.on('pty', (accept, reject, info) => {
    if (started || !ctx.gate.authorize({ kind: 'pty' }).allow) return void reject?.();
    ptyInfo = info;
    accept?.();
  });
  session.on('window-change', (accept, reject, info) => {
    if (command?.pty) command.pty.resize(info);
    else if (ptyInfo !== null && !started) ptyInfo = { ...ptyInfo, cols: info.cols, rows: info.rows };
    else if (ptyInfo === null) return void reject?.();
    accept?.();
  });
  session.on('signal', (accept, reject, info) => {
    if (command?.program.signal(info.name)) accept?.();
    else reject?.();
  });
  // Agent and X11 forwarding: nobody gets them; asking is audited. OpenSSH sends both without wanting a reply.
  session.on('auth-agent', (_accept, reject) => {
    ctx.gate.authorize({ kind: 'forward', what: 'agent', detail: '' });
    reject?.();
  });
  session.on('x11', (_accept, reject, info) => {
    ctx.gate.authorize({ kind: 'forward', what: 'x11', detail: `screen ${info.screen}` });
    reject?.();
  });

  const serve = (request: SshRequest, channel: ServerChannel): void => {
    if (started) return refuseOnChannel(channel, 'one program per session');
    started = true;
    const verdict = ctx.gate.authorize(request);
    if (!verdict.allow) return refuseOnChannel(channel, verdict.reason);
    const served = verdict.serve;
    switch (served.kind) {
      case 'shell':
      case 'exec':
        command = serveCommand(channel, served.kind === 'exec' ? served.command : null, { ptyInfo, clientEnv, ...(verdict.originalCommand !== undefined ? { originalCommand: verdict.originalCommand } : {}) }, ctx);
        stop = () => command?.program.hangup();
        break;
      case 'update':
        stop = serveUpdate(channel, served.command, ptyInfo !== null, ctx);
        break;
      case 'git-receive-pack':
      case 'git-upload-pack':
        stop = serveGit(channel, served.command, ctx, gitProtocol);
        break;
      case 'scp':
        stop = serveScpExec(channel, served, ctx);
        break;
      case 'sftp':
        stop = startSftp(channel, ctx);
        break;
      default:
        return refuseOnChannel(channel, `nothing serves ${served.kind}`);
    }
    let closed = false;
    const close = (reason: string): void => {
      if (closed) return;
      closed = true;
      if (channel.writable) channel.stderr.write(`starphleet: closed: ${reason}\n`);
      try {
        stop?.();
      } finally {
        channel.close();
      }
    };
    // The pty it runs on is held too: a key that loses its pty in HQ loses the sessions on one.
    const releases = [ctx.gate.hold(request, verdict, close)];
    if (ptyInfo !== null) releases.push(ctx.gate.hold({ kind: 'pty' }, { allow: true, serve: { kind: 'pty' } }, close));
    channel.once('close', () => releases.forEach((r) => r()));
  };

  session.on('shell', (accept) => {
    const channel = accept();
    if (channel) serve(classifyShell(ctx.identity.user), channel);
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    if (channel) serve(classifyExec(ctx.identity.user, info.command), channel);
  });
  // No 'sftp' listener: ssh2 then hands the sftp subsystem over as a plain channel, so a deny can say why on stderr.
  session.on('subsystem', (accept, _reject, info) => {
    const channel = accept();
    if (channel) serve(info.name === 'sftp' ? { kind: 'sftp' } : { kind: 'subsystem', name: info.name }, channel);
  });
  return () => stop?.();
}
