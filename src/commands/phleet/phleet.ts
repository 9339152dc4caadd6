import { readFileSync } from 'node:fs';
import type { ShipAnswer } from '../../phleet/fanout.js';
import { readShips } from '../../phleet/record.js';
import { shipsCheckout } from '../../phleet/ships-checkout.js';
import { decodeProof, PROOF_TOKEN } from '../../phleet/request-proof.js';
import { auditPhleetSent } from '../../state/audit.js';
import { visible } from '../../util/terminal-safe.js';
import type { CommandContext, ShipCommand } from '../command.js';
import { splitProof } from './phleet-proof.js';
import { phleetStatusReport, printable } from './phleet-status.js';
import { phleetMeta } from '../meta/ship-meta.js';

const USAGE = 'usage: starphleet phleet status | phleet sync | phleet logs <service> [-f] [--raw] | phleet redeploy <service>   (logs and redeploy: --proof TOKEN, which starphleet -s <ship> adds)';

function unreachable(answers: readonly ShipAnswer[], ctx: CommandContext): number {
  let bad = 0;
  for (const a of answers) {
    if (a.code === null) {
      ctx.out(`${a.ship}: unreachable: ${visible(a.unreachable ?? 'no answer')}\n`);
      bad++;
    } else if (a.code !== 0) bad++;
  }
  return bad;
}

/** Every ship in HQ ships/ answers the same operation over SSH (user `ship`, this ship's client key), merged by name. */
export const phleetCommand: ShipCommand = {
  ...phleetMeta,
  async run(argv, ctx) {
    const { args, proof } = splitProof(argv);
    const [verb, service, ...flags] = args;
    const follow = flags.includes('-f');
    const raw = flags.includes('--raw');
    const ok =
      new Set(flags).size === flags.length &&
      (((verb === 'status' || verb === 'sync') && service === undefined && proof === undefined) ||
        (verb === 'logs' && service !== undefined && !service.startsWith('-') && flags.every((f) => f === '-f' || f === '--raw')) ||
        (verb === 'redeploy' && service !== undefined && !service.startsWith('-') && flags.length === 0));
    if (!ok || verb === undefined) {
      ctx.err(`${USAGE}\n`);
      return 2;
    }
    if (service !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(service)) {
      ctx.err(`starphleet phleet: no service can be named ${JSON.stringify(service.slice(0, 64))}\n`);
      return 2;
    }
    if (verb !== 'status' && verb !== 'sync' && (proof === undefined || !PROOF_TOKEN.test(proof))) {
      ctx.err(`starphleet phleet ${verb}: the ships serve ${verb === 'logs' ? 'logs' : 'a redeploy'} only on an admiral's signed request: run it from your machine as starphleet -s <ship> phleet ${verb} ${service} (it signs with your SSH key), or pass --proof TOKEN\n`);
      return 2;
    }
    const dataDir = ctx.ship.options.dataDir;
    const { ships, problems } = readShips(shipsCheckout(dataDir, ctx.ship.headquarters.current?.env));
    for (const p of problems) ctx.err(`${p.file}: ${p.message}\n`);
    if (ships.length === 0) {
      ctx.err('starphleet phleet: HQ ships/ lists no ship yet (ships write themselves there when HQ is writable)\n');
      return 1;
    }
    // Loaded when run (ssh2's client): the CLI process reads every command's help and needs none of their code.
    const [{ fanout }, { clientKeyPath }] = await Promise.all([import('../../phleet/fanout.js'), import('../../phleet/client-key.js')]);
    let privateKey: Buffer;
    try {
      privateKey = readFileSync(clientKeyPath(dataDir));
    } catch (e) {
      ctx.err(`starphleet phleet: no client key: ${(e as Error).message}\n`);
      return 1;
    }
    if (verb === 'status' || verb === 'sync') {
      const outputs = new Map<string, string[]>();
      const answers = await fanout(ships, {
        privateKey,
        command: verb === 'status' ? 'starphleet status --json' : 'starphleet sync',
        signal: ctx.signal,
        line: (ship, text, stream) => (stream === 'out' ? outputs.set(ship, [...(outputs.get(ship) ?? []), text]) : ctx.err(`${ship}: ${visible(text)}\n`)),
      });
      // Cells come from other ships (a message quotes a service's output): shown, never acted on by the terminal.
      if (verb === 'status') ctx.out(printable(phleetStatusReport(ships, answers, outputs, ctx.ship.headquarters.current)));
      else for (const a of answers) for (const l of outputs.get(a.ship) ?? []) ctx.out(`${a.ship}: ${visible(l)}\n`);
      const bad = unreachable(answers, ctx);
      return bad > 0 ? 1 : 0;
    }
    const command = `starphleet ${verb} ${service}${follow ? ' -f' : ''}${raw ? ' --raw' : ''} --proof ${proof}`;
    const request = decodeProof(proof ?? '');
    if (typeof request !== 'string') auditPhleetSent(ctx.ship.db, { operation: `${verb} ${service}${follow ? ' -f' : ''}`, nonce: request.request.nonce, ships: ships.map((s) => s.name) });
    const shown = (text: string): string => (raw ? text : visible(text));
    const answers = await fanout(ships, {
      privateKey,
      command,
      signal: ctx.signal,
      line: (ship, text, stream) => (stream === 'out' ? ctx.out(`${ship}: ${shown(text)}\n`) : ctx.err(`${ship}: ${visible(text)}\n`)),
    });
    if (ctx.signal.aborted) return 130;
    return unreachable(answers, ctx) > 0 ? 1 : 0;
  },
};
