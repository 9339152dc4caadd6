import type { WireRoute } from '../../dataplane/protocol/wire.js';
import type { TestRoutes } from './test-instance.js';

/**
 * Routes of `git push` test instances, by mount: not HQ services, so not in status. They go into the route table
 * beside HQ's (deploy/route-table.ts), whose mounts win: a test instance is never routed at an HQ service's mount.
 */
export class TestRouteTable implements TestRoutes {
  private readonly byMount = new Map<string, WireRoute>();

  constructor(
    /** Whether an HQ service (not removed) has this mount. */
    private readonly hqHas: (mount: string) => boolean,
    /** Sends the route table; resolves once the data plane has it. */
    private readonly publish: () => Promise<void>,
  ) {}

  /** A test instance at its own mount, once the data plane has it (its URL answers); false on an HQ service's mount. */
  async set(route: WireRoute): Promise<boolean> {
    if (this.hqHas(route.mount)) return false;
    this.byMount.set(route.mount, route);
    await this.publish();
    return true;
  }

  /** Takes a test route away (unless a newer one replaced it), once the data plane has the table without it. */
  async remove(route: WireRoute): Promise<void> {
    if (this.byMount.get(route.mount) !== route) return;
    this.byMount.delete(route.mount);
    await this.publish();
  }

  routes(): Iterable<WireRoute> {
    return this.byMount.values();
  }
}
