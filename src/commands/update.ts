import type { ShipCommand } from './command.js';
import { shipUpdateRemote } from '../settings/env-settings.js';
import { hqUpdateRemote } from '../settings/update-settings.js';
import { updateMeta } from './meta/ship-meta.js';

/** The same update `ssh update@ship` runs (that session reaches it through the control socket, as a shell would). */
export const updateCommand: ShipCommand = {
  ...updateMeta,
  async run(args, ctx) {
    const allowDowngrade = args.includes('--allow-downgrade');
    if (args.some((a) => a !== '--allow-downgrade')) {
      ctx.err('usage: starphleet update [--allow-downgrade]\n');
      return 2;
    }
    // The ship's own environment wins; else HQ .starphleet, which every ship of the phleet follows.
    const hqRemote = hqUpdateRemote(ctx.ship.headquarters.current?.env);
    // Loaded when run: the CLI process reads every command's help and needs none of their code.
    const { runUpdate } = await import('../update/update.js');
    if (shipUpdateRemote() === undefined && hqRemote) {
      return runUpdate(ctx.ship, { out: ctx.out, err: ctx.err, signal: ctx.signal, remoteFrom: 'HQ .starphleet', allowDowngrade }, { ...process.env, STARPHLEET_REMOTE: hqRemote });
    }
    return runUpdate(ctx.ship, { out: ctx.out, err: ctx.err, signal: ctx.signal, allowDowngrade });
  },
};
