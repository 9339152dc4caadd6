import type { ShipCommand } from './command.js';
import { shipUpdateRemote } from '../settings/env-settings.js';
import { hqUpdateRemote } from '../settings/update-settings.js';

/** The same update `ssh update@ship` runs (that session reaches it through the control socket, as a shell would). */
export const updateCommand: ShipCommand = {
  name: 'update',
  summary: 'update starphleet on this ship from STARPHLEET_REMOTE, handing over without downtime',
  usage: '[--allow-downgrade]',
  details: `Looks up the newest commit of STARPHLEET_REMOTE (url#branch; the ship's env, or HQ .starphleet; default the
package's repository), installs and builds it beside the running version, checks it, and hands the ship over to it:
sockets are passed, instances adopted, no request is refused. The same as \`ssh update@ship\`.
With STARPHLEET_UPDATE_SIGNERS=admirals, only a commit an admiral signed installs, and only one that goes forward
(it descends from the running commit, or carries a higher version).
  --allow-downgrade   install a signed commit that does not go forward (\`ssh update@ship -- --allow-downgrade\`)`,
  examples: ['ssh -p 2222 update@ship', 'starphleet update', 'ssh -p 2222 update@ship -- --allow-downgrade'],
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
