import type { Server } from 'node:net';
import type { Agent } from './agent/agent.js';
import type { Headquarters } from './headquarters/headquarters.js';
import type { Logger } from './log.js';
import type { SshServer } from './server/transport/ssh-server.js';
import type { HandoverHooks } from './update/handover-old-ship.js';
import { handoverGraceMs } from './update/handover-messages.js';

/** The pieces of a running ship a hand-over touches; ship.ts owns them. */
export interface ShipParts {
  readonly headquarters: Headquarters;
  readonly agent: Agent;
  readonly log: Logger;
  ssh(): SshServer | null;
  control(): Server | null;
  /** Binds the control socket again (after a failed hand-over). */
  reopenControl(): Promise<void>;
  /** The ship's own stop(): closes what is left and releases what it still owns. */
  stop(): Promise<void>;
}

/** The running ship's side of a hand-over (see handover-old-ship.ts for the order of things). */
export function shipHandover(p: ShipParts): HandoverHooks {
  let controlClosed = false;
  let paused = false;
  return {
    stopHeadquarters: () => p.headquarters.stop(),
    async closeControl() {
      const c = p.control();
      if (c && !controlClosed) {
        controlClosed = true;
        // Closing the handle unlinks the path at once; the callback would wait for open connections, this update's too.
        c.close();
      }
    },
    sshListener() {
      const ssh = p.ssh();
      if (!ssh) throw new Error('this ship has no SSH server');
      return ssh.listener;
    },
    async pauseAgent() {
      paused = true;
      await p.agent.pause();
    },
    async resume() {
      if (controlClosed) {
        await p.reopenControl();
        controlClosed = false;
      }
      if (paused) {
        paused = false;
        p.agent.resume();
      }
      p.headquarters.start();
      p.log('hand-over failed: this ship serves on');
    },
    async retire() {
      const grace = handoverGraceMs();
      // HTTP is the data plane's, which serves on: only SSH sessions are waited for.
      p.log(`handed over: no longer accepting SSH; waiting up to ${grace / 1000}s for its sessions`);
      await p.ssh()?.retire(grace);
      // The control socket's path belongs to the new ship now: closing it here would unlink it (it is closed already).
      await p.stop();
    },
  };
}
