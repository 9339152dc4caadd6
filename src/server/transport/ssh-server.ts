import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import ssh2, { type AuthContext, type ClientInfo, type Connection } from 'ssh2';
import { fingerprint } from '../../headquarters/keys.js';
import type { Admiral } from '../../headquarters/types.js';
import type { Logger } from '../../log.js';
import { auditAuth } from '../../state/audit.js';
import type { Db } from '../../state/db.js';
import { AdmiralKeys, decideAuth, type AuthRequest } from '../access/auth.js';
import type { HeldListener } from '../../update/handover-new-ship.js';
import type { HostKey } from './host-keys.js';
import { serverConfig } from './server-config.js';
import { kexOffer, useStrictOffer, type SshAlgorithms } from './kex-offer.js';
import type { SshLimits } from './limits.js';
import type { Peer } from '../sessions/session-env.js';
import { ConnectionGate } from '../access/connection-gate.js';
import { startSession } from '../sessions/session-requests.js';
import { shipKeys } from '../access/ship-keys.js';
import { USER_NAMES } from '../access/users.js';

export interface SshServerOptions {
  readonly dataDir: string;
  readonly db: Db;
  readonly log: Logger;
  readonly limits: SshLimits;
  /** What the ship offers (kex-offer.ts; STARPHLEET_SSH_NIST_KEX). */
  readonly algorithms: SshAlgorithms;
  readonly hostKeys: readonly HostKey[];
  /** The HQ checkout, where ships/<name> carries the keys of user `ship` (ship-keys.ts); null before the first sync. */
  readonly hqDir?: () => string | null;
}

/** One TCP connection, from accept to close. */
interface Conn {
  readonly socket: Socket;
  readonly peer: Peer;
  client: Connection | null;
  /** Set when the signed auth request is accepted: the identity and every later request's judge. */
  gate: ConnectionGate | null;
  failures: number;
  /** Teardowns of the open sessions. */
  readonly sessions: Set<() => void>;
  readonly timers: NodeJS.Timeout[];
  idle: NodeJS.Timeout | null;
}


/**
 * The ship's SSH endpoint: a TCP gate (limits on unauthenticated connections, login grace) in front of ssh2, then
 * publickey auth against the admirals of the HQ commit in force, then a backend chosen by the user name.
 */
export class SshServer {
  private readonly keys = new AdmiralKeys();
  private readonly tcp: NetServer;
  private readonly ssh: ssh2.Server;
  /** By "address:port": ssh2 reports a client by its peer address, which is how it is matched to its socket. */
  private readonly conns = new Map<string, Conn>();
  /** Insertion-ordered: the first is the oldest, evicted when a new connection would exceed the limit. */
  private readonly unauthenticated = new Set<Conn>();
  private synced = false;
  private readonly offer: object;

  constructor(private readonly opts: SshServerOptions) {
    this.ssh = new ssh2.Server(serverConfig(opts.hostKeys, opts.limits, opts.algorithms));
    this.offer = kexOffer(opts.algorithms);
    this.ssh.on('connection', (client: Connection, info: ClientInfo) => this.onClient(client, info));
    this.tcp = createServer((socket) => this.onSocket(socket));
    this.tcp.maxConnections = opts.limits.maxConnections;
  }

  /**
   * The admirals of a new HQ commit. Every open connection's key is judged again with its new options: what they
   * no longer allow is closed now (the session, or the whole connection when the key admits nothing any more).
   */
  setAdmirals(admirals: readonly Admiral[]): void {
    this.synced = true;
    this.keys.replace(admirals);
    for (const conn of this.conns.values()) {
      if (!conn.gate) continue;
      const id = conn.gate.identity;
      if (!conn.gate.rebind(this.keysFor(id.user).find(id.admiral.blob))) {
        this.opts.log(`ssh ${id.fingerprint} (${id.keyFile}) is no longer admitted: closing its connection from ${conn.peer.remoteAddress}`);
        this.closeConn(conn);
      }
    }
  }

  /** Admirals' keys for every user but `ship`, whose keys are the phleet's ships (ship-keys.ts). */
  private keysFor(user: string): AdmiralKeys {
    return user === 'ship' ? shipKeys(this.opts.hqDir?.() ?? null) : this.keys;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', reject);
        this.tcp.on('error', (e) => this.opts.log(`ssh listener error: ${e.message}`));
        resolve(this.tcp.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((r) => this.tcp.close(() => r()));
    for (const conn of this.conns.values()) this.closeConn(conn, true);
    await closed;
  }

  /** The listening socket, shared with a successor ship during a hand-over (update/handover-old-ship.ts). */
  get listener(): NetServer {
    return this.tcp;
  }

  /** Serves on the listening socket of the ship this one replaces, instead of binding the port again. */
  async listenOn(held: HeldListener): Promise<AddressInfo> {
    await held.adoptInto(this.tcp);
    this.tcp.on('error', (e) => this.opts.log(`ssh listener error: ${e.message}`));
    return this.tcp.address() as AddressInfo;
  }

  /** After a hand-over: accept nothing more (the successor does), let open sessions end by themselves up to graceMs. */
  async retire(graceMs: number): Promise<void> {
    const drained = new Promise<void>((r) => this.tcp.close(() => r()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([drained, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.close();
  }

  private onSocket(socket: Socket): void {
    // Errors on a raw socket (resets mid-handshake) are routine; ssh2 adds its own listener once it takes over.
    socket.on('error', () => {});
    const { remoteAddress, remotePort, localAddress, localPort } = socket;
    if (!remoteAddress || remotePort === undefined) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const { limits } = this.opts;
    // Beyond the limit the oldest pending connection goes: idle floods age out first, while an admiral's
    // handshake, which takes milliseconds, is almost never the oldest.
    while (this.unauthenticated.size >= limits.maxUnauthenticated) {
      const oldest = this.unauthenticated.values().next().value as Conn;
      this.unauthenticated.delete(oldest);
      oldest.socket.destroy();
    }
    const conn: Conn = {
      socket,
      peer: { remoteAddress, remotePort, localAddress: localAddress ?? '', localPort: localPort ?? 0 },
      client: null,
      gate: null,
      failures: 0,
      sessions: new Set(),
      timers: [],
      idle: null,
    };
    const key = `${remoteAddress}:${remotePort}`;
    this.conns.set(key, conn);
    this.unauthenticated.add(conn);
    conn.timers.push(
      setTimeout(() => {
        if (!conn.gate) socket.destroy();
      }, limits.loginGraceSeconds * 1000),
    );
    // ssh2 answers a protocol error before login with a FIN only; a peer that never closes its side would then hold
    // the slot until the grace timer. Once our side is done, an unauthenticated peer gets nothing more: drop it.
    socket.once('finish', () => {
      if (!conn.gate) socket.destroy();
    });
    socket.once('close', () => {
      for (const t of conn.timers) clearTimeout(t);
      if (conn.idle) clearTimeout(conn.idle);
      this.unauthenticated.delete(conn);
      if (this.conns.get(key) === conn) this.conns.delete(key);
      for (const teardown of conn.sessions) teardown();
      conn.sessions.clear();
    });
    this.ssh.injectSocket(socket);
  }

  private onClient(client: Connection, info: ClientInfo): void {
    const conn = this.conns.get(`${info.ip}:${info.port}`);
    // Without this, one malformed packet from any client would crash the ship.
    client.on('error', (e: Error) => {
      if (conn?.gate) this.opts.log(`ssh connection from ${info.ip}: ${e.message}`);
    });
    useStrictOffer(client, this.offer);
    if (!conn || conn.socket.destroyed) {
      client.end();
      return;
    }
    conn.client = client;
    client.on('authentication', (ctx) => this.onAuth(conn, ctx));
    client.on('ready', () => this.onReady(conn, client));
  }

  private onAuth(conn: Conn, ctx: AuthContext): void {
    const req: AuthRequest =
      ctx.method === 'publickey'
        ? { username: ctx.username, method: ctx.method, key: ctx.key, blob: ctx.blob, hashAlgo: ctx.hashAlgo, ...(ctx.signature ? { signature: ctx.signature } : {}) }
        : { username: ctx.username, method: ctx.method };
    // Before the first HQ sync nobody is an admiral: AdmiralKeys is empty, so every key is refused.
    const d = decideAuth(req, conn.peer.remoteAddress, this.keysFor(req.username), USER_NAMES);
    const offered = req.key ? fingerprint(req.key.data) : null;
    if (d.kind === 'probe-ok') {
      ctx.accept();
      return;
    }
    const { db, log } = this.opts;
    if (d.kind === 'accept') {
      conn.gate = new ConnectionGate(d.identity, db, log);
      this.unauthenticated.delete(conn);
      auditAuth(db, { user: ctx.username, fingerprint: offered, keyFile: d.identity.keyFile, remote: conn.peer.remoteAddress, ok: true, method: ctx.method, message: '' });
      log(`ssh ${ctx.username} ${offered} (${d.identity.keyFile}) logged in from ${conn.peer.remoteAddress}`);
      ctx.accept();
      return;
    }
    // `none` is how every client starts (asking which methods exist): not an attempt, not audited.
    if (ctx.method !== 'none') {
      conn.failures++;
      const reason = this.synced ? d.reason : `${d.reason} (headquarters not synced yet)`;
      auditAuth(db, { user: ctx.username.slice(0, 64), fingerprint: offered, keyFile: d.admiral?.file ?? null, remote: conn.peer.remoteAddress, ok: false, method: ctx.method, message: reason });
    }
    ctx.reject(['publickey']);
    if (conn.failures >= this.opts.limits.maxAuthTries) {
      log(`ssh ${conn.peer.remoteAddress}: ${conn.failures} failed authentication attempts, disconnecting`);
      conn.client?.end();
    }
  }

  private onReady(conn: Conn, client: Connection): void {
    const gate = conn.gate;
    // ssh2 only emits 'ready' after an accept, and accept only happens with a gate; this is belt and braces.
    if (!gate) {
      client.end();
      return;
    }
    const { limits, dataDir, db, log } = this.opts;
    const touch = (): void => {
      conn.idle?.refresh();
    };
    if (limits.idleTimeoutSeconds > 0) {
      conn.idle = setTimeout(() => {
        log(`ssh ${gate.identity.fingerprint} from ${conn.peer.remoteAddress}: idle for ${limits.idleTimeoutSeconds}s, disconnecting`);
        this.closeConn(conn);
      }, limits.idleTimeoutSeconds * 1000);
    }
    refuseForwarding(client, gate);
    client.on('session', (accept, reject) => {
      if (conn.sessions.size >= limits.maxSessionsPerConnection) {
        reject();
        return;
      }
      const session = accept();
      touch();
      const ctx = { get identity() { return gate.identity; }, gate, peer: conn.peer, dataDir, db, log, touch };
      const teardown = startSession(session, ctx);
      conn.sessions.add(teardown);
      session.once('close', () => conn.sessions.delete(teardown));
    });
  }

  /** Ends the sessions' programs, says goodbye, and makes sure the socket goes even if the peer never answers. */
  private closeConn(conn: Conn, now = false): void {
    for (const teardown of conn.sessions) teardown();
    conn.sessions.clear();
    if (now || !conn.client) {
      conn.socket.destroy();
      return;
    }
    conn.client.end();
    conn.timers.push(setTimeout(() => conn.socket.destroy(), 1000).unref());
  }
}

/**
 * -L/-D (direct-tcpip), -R (tcpip-forward), and their unix-socket forms: refused for everyone, each one audited. With
 * these listeners ssh2 hands the requests to the gate instead of rejecting them silently.
 */
function refuseForwarding(client: Connection, gate: ConnectionGate): void {
  client.on('tcpip', (_accept, reject, info) => {
    gate.authorize({ kind: 'forward', what: 'direct-tcpip', detail: `to ${info.destIP}:${info.destPort}`.slice(0, 300) });
    reject();
  });
  client.on('openssh.streamlocal', (_accept, reject, info) => {
    gate.authorize({ kind: 'forward', what: 'direct-streamlocal', detail: `to ${info.socketPath}`.slice(0, 300) });
    reject();
  });
  client.on('request', (_accept, reject, name, info) => {
    const what = name.startsWith('streamlocal') || name.startsWith('cancel-streamlocal') ? 'streamlocal-forward' : 'tcpip-forward';
    const i = info as { bindAddr?: string; bindPort?: number; socketPath?: string };
    const detail = i.socketPath !== undefined ? `${name} ${i.socketPath}` : `${name} ${i.bindAddr}:${i.bindPort}`;
    gate.authorize({ kind: 'forward', what, detail: detail.slice(0, 300) });
    reject?.();
  });
}
