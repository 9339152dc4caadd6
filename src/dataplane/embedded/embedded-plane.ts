import type { Server as NetServer } from 'node:net';
import type { Logger } from '../../log.js';
import type { OpenCounts } from './backend.js';
import { AuthBackoff } from '../basic-auth/backoff.js';
import { HashChecks } from '../basic-auth/hash-checks.js';
import type { PlaneEvent, PlaneImpl } from '../protocol/plane.js';
import { PlaneRoutes, type DrainResult } from './plane-routes.js';
import { FrontDoor } from './http-server.js';
import type { WireTable } from '../protocol/wire.js';

export interface EmbeddedOptions {
  readonly listen: string;
  readonly port: number;
  readonly log: Logger;
  readonly emit: (e: PlaneEvent) => void;
  /** Sockets handed over by an older data plane: its HTTP port and its published ports. */
  readonly inherited?: { readonly http: NetServer; readonly https?: NetServer; readonly published: ReadonlyMap<number, NetServer> };
  /** `--https-port` (undefined: no TLS) and the data dir its certificates and ACME answers are read from. */
  readonly httpsPort?: number;
  readonly dataDir: string;
  /** Where the ship answers `/starphleet/webhook` (embedded/ship-proxy.ts). */
  readonly shipSocket?: string;
}

/** The Node data plane: the hardened front door on undici pools, with password checks on worker threads. */
export class EmbeddedPlane implements PlaneImpl {
  readonly kind = 'embedded' as const;

  private constructor(
    readonly door: FrontDoor,
    private readonly routes: PlaneRoutes,
    private readonly checks: HashChecks,
  ) {}

  static async start(o: EmbeddedOptions): Promise<EmbeddedPlane> {
    const checks = new HashChecks();
    const backoff = new AuthBackoff((e) => {
      o.log(`auth: ${e.address} failed ${e.failures} times at ${e.service}: waits ${e.seconds} s`);
      o.emit({ event: 'auth-backoff', ...e });
    });
    const door = await FrontDoor.start({
      listen: o.listen,
      port: o.port,
      log: o.log,
      onProblem: (service, problem) => o.emit({ event: 'problem', service, problem }),
      ...(o.inherited ? { inherited: o.inherited.http } : {}),
      ...(o.shipSocket ? { shipSocket: o.shipSocket } : {}),
      ...(o.inherited?.https ? { inheritedHttps: o.inherited.https } : {}),
      ...(o.httpsPort !== undefined ? { httpsPort: o.httpsPort } : {}),
      dataDir: o.dataDir,
    });
    if (o.inherited) door.published.adopt(o.inherited.published);
    return new EmbeddedPlane(door, new PlaneRoutes(checks, backoff), checks);
  }

  get port(): number {
    return this.door.port;
  }

  get httpsPort(): number | undefined {
    return this.door.httpsPort;
  }

  async reloadTls(): Promise<string[]> {
    return this.door.reloadCertificates();
  }

  setTable(t: WireTable): Promise<void> {
    return this.door.setRoutes(this.routes.build(t));
  }

  async counts(instance: string): Promise<OpenCounts> {
    return this.routes.counts(instance);
  }

  async closeIdle(instance: string): Promise<void> {
    this.routes.closeIdle(instance);
  }

  drain(instance: string, timeoutMs: number): Promise<DrainResult> {
    return this.routes.drain(instance, timeoutMs);
  }

  /** Hand-over: the listening sockets, for the newer data plane that takes over. */
  listeners(): { http: NetServer; https: NetServer | null; published: Map<number, NetServer> } {
    return { http: this.door.listener, https: this.door.secureListener, published: this.door.published.listeners() };
  }

  async retire(graceMs: number): Promise<void> {
    await this.door.retire(graceMs);
    this.routes.close();
    await this.checks.close();
  }

  async close(): Promise<void> {
    await this.door.close();
    this.routes.close();
    await this.checks.close();
  }
}
