import type { DesiredState, Service } from '../../headquarters/types.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../state/db.js';
import { setKv } from '../../state/hq.js';
import type { RemoteRefs } from '../refs/remote-refs.js';
import { pollSettings } from '../refs/poll-settings.js';
import type { AgentContext } from '../context.js';
import type { ServiceController } from './controller.js';
import { handoff, servicesHere } from './placement.js';

/**
 * What the agent's pulse keeps between pulses about where services run: this ship's tags (for status), the services
 * moved elsewhere that still serve here until a ship they moved to serves them (placement.ts), and the service repos'
 * poll settings (refs/). agent.ts asks it each pulse.
 */
export class PlacementState {
  /** Since when each leaving service has been leaving (ms). */
  private readonly leaving = new Map<string, number>();
  /** Of those, since when every read of ships/ found no ship to take them (placement.ts waits for it to hold). */
  private readonly nobody = new Map<string, number>();
  private tagsShown = '';
  private pollProblems = '';

  constructor(
    private readonly o: {
      readonly db: Db;
      readonly dataDir: string;
      readonly shipName: string;
      readonly tags?: readonly string[];
      readonly pulseSeconds: number;
      readonly refs?: RemoteRefs;
      readonly log: Logger;
    },
  ) {}

  /** The services placed here by this desired state; also brings the poll settings and the tags in status up to date. */
  here(desired: DesiredState): Service[] {
    if (this.o.refs) {
      const poll = pollSettings(this.o.pulseSeconds, desired.env);
      this.o.refs.configure(poll.settings);
      if (poll.problems.join() !== this.pollProblems) for (const p of poll.problems) this.o.log(p);
      this.pollProblems = poll.problems.join();
    }
    const here = servicesHere(desired, this.o.shipName, this.o.tags);
    const tagsText = JSON.stringify(here.tags);
    if (tagsText !== this.tagsShown) {
      setKv(this.o.db, 'ship.tags', tagsText);
      this.tagsShown = tagsText;
    }
    return here.services;
  }

  /** Whether the service is placed on this ship (a redeploy of one placed elsewhere has nothing to do here). */
  placedHere(desired: DesiredState, service: Service): boolean {
    return servicesHere(desired, this.o.shipName, this.o.tags).services.includes(service);
  }

  /** The service is placed here (again): it is not leaving. */
  stays(name: string): void {
    this.leaving.delete(name);
    this.nobody.delete(name);
  }

  /**
   * A service no longer placed here: true while it keeps serving for the hand-off (its deploys cancelled, the reason
   * in its status); false when it goes now, as a removed order does (route first, drained, stopped).
   */
  handingOff(ctx: AgentContext, name: string, ctrl: ServiceController, desired: DesiredState): boolean {
    const service = desired.services.find((s) => s.name === name);
    if (!service || !ctrl.serving || ctrl.removed) {
      this.stays(name);
      return false;
    }
    const now = Date.now();
    const since = this.leaving.get(name) ?? now;
    this.leaving.set(name, since);
    ctrl.abort?.abort();
    const h = handoff({ dataDir: this.o.dataDir, ship: this.o.shipName, service, desired, since, now, nobodySince: this.nobody.get(name) ?? null });
    if (h.nobody) this.nobody.set(name, this.nobody.get(name) ?? now);
    else this.nobody.delete(name);
    if (h.stop) {
      this.o.log(`${name}: ${h.why}`);
      this.stays(name);
      return false;
    }
    if (ctrl.holdReason !== h.why) ctrl.status(ctx, 'serving', h.why);
    ctrl.holdReason = h.why;
    return true;
  }
}
