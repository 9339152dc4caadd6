import type { Agent } from '../agent/agent.js';
import type { ShipOptions } from '../settings/ship-options.js';
import type { Headquarters } from '../headquarters/headquarters.js';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import type { UpdateShip } from '../update/update.js';

/**
 * What a command may use of the running ship: ship.ts's Ship is one, a test may hand a smaller one. Commands see
 * the ship through this, never through ship.ts, so the composition root stays the only module that knows them all.
 */
export interface CommandShip extends UpdateShip {
  readonly options: Pick<ShipOptions, 'dataDir' | 'name' | 'privateKey'>;
  readonly db: Db;
  readonly headquarters: Pick<Headquarters, 'url' | 'current' | 'checkNow' | 'contact'>;
  readonly agent: Pick<
    Agent,
    'redeploy' | 'rollback' | 'unpin' | 'servingOf' | 'traffic' | 'prepareOneOff' | 'retainedReleases' | 'buildPush' | 'pushRelease' | 'serveTest'
  >;
  readonly log: Logger;
  /**
   * The dashboard's one-time logins (src/dashboard/sessions.ts) and where its own listener is (null while its address
   * is still taken); absent on a ship without the dashboard (--dashboard-listen off).
   */
  readonly dashboard?: {
    issueLogin(user: { readonly by: string; readonly fingerprint: string | null; readonly admirals: readonly string[] }): { token: string; seconds: number };
    url(): string | null;
  };
}

/** Who runs a command: the local CLI (owner of the data dir) or an admiral over SSH. */
export interface Caller {
  readonly via: 'cli' | 'ssh';
  /** Key file under authorized_keys/ and fingerprint, when the caller came in over SSH. */
  readonly admiral?: { readonly file: string; readonly fingerprint: string };
}

export interface CommandContext {
  readonly ship: CommandShip;
  readonly caller: Caller;
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Aborted when the caller goes away (Ctrl-C, closed connection): long commands (logs -f) stop then. */
  readonly signal: AbortSignal;
}

/**
 * What the CLI and --help know of a command without its code (commands/meta/): the CLI lists and describes every
 * command from these alone, so a call of `starphleet status` does not load what the ship needs to answer it.
 */
export interface CommandMeta {
  readonly name: string;
  /** One line for `starphleet --help`. */
  readonly summary: string;
  /** Usage after the command name, e.g. `<service> [-f]`. */
  readonly usage: string;
  /** `starphleet <name> --help`: what it does beyond the summary, its options, one per line (help.ts prints them). */
  readonly details?: string;
  /** Command lines `--help` shows as examples, at least one (a test holds every command to it). */
  readonly examples: readonly string[];
}

/**
 * An operation of the running ship: its metadata (spread from commands/meta/) and its run. The same object serves
 * `starphleet <name>` from a local shell (through the control socket) and from an SSH session, so the behaviour
 * cannot drift between the two.
 */
export interface ShipCommand extends CommandMeta {
  /** Runs with the arguments after the command name; returns the exit code. */
  run(args: readonly string[], ctx: CommandContext): Promise<number>;
}

/** For commands that take no arguments: prints the usage and returns 2 when given some, null otherwise. */
export function refuseArguments(name: string, args: readonly string[], ctx: CommandContext): number | null {
  if (args.length === 0) return null;
  ctx.err(`usage: starphleet ${name}\n`);
  return 2;
}
