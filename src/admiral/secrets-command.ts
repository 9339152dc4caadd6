import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { helpExamples } from '../commands/help.js';
import { AdmiralError } from './remotes.js';
import type { SecretsContext } from './secrets-ops.js';
import { givenDataDir } from '../settings/env-settings.js';

interface Flags {
  readonly hq?: string;
  readonly identity?: string;
  readonly data?: string;
  readonly ships?: string;
}

function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY) return Promise.reject(new AdmiralError('a bare NAME takes its value from stdin: pipe it in (printf %s "$VALUE" | starphleet secrets set web NAME)'));
  return new Promise((res, rej) => {
    const parts: Buffer[] = [];
    process.stdin.on('data', (b: Buffer) => parts.push(b));
    process.stdin.once('end', () => res(Buffer.concat(parts)));
    process.stdin.once('error', rej);
  });
}

/**
 * Where to work: `--hq DIR` (default the current directory) with the admiral's key (`-i`, default ~/.ssh/id_ed25519);
 * without --hq, on a ship (--data or STARPHLEET_DATA, as `ssh admiral@ship starphleet secrets` has it): the ship's own
 * checkout and host key, for `list` only (that checkout is the ship's copy, not one an admiral commits from).
 */
async function contextOf(flags: Flags, op: string): Promise<SecretsContext> {
  const io = { out: (s: string) => void process.stdout.write(s), err: (s: string) => void process.stderr.write(s), stdin: readStdin };
  const data = givenDataDir(flags.data);
  if (flags.hq === undefined && data !== undefined && data !== '') {
    if (op !== 'list') throw new AdmiralError(`secrets ${op} changes an HQ checkout you commit from: give it with --hq DIR (the ship's own checkout ${join(resolve(data), 'hq')} is not one)`);
    // Imported here: secrets/host-key.ts reads keys with ssh2, which no other start of the CLI needs.
    const { hostIdentityFile } = await import('../secrets/host-key.js');
    return { ...io, hq: join(resolve(data), 'hq'), identity: hostIdentityFile(resolve(data)) };
  }
  return { ...io, hq: resolve(flags.hq ?? process.cwd()), identity: resolve(flags.identity ?? join(homedir(), '.ssh', 'id_ed25519')), ...(flags.ships !== undefined ? { ships: resolve(flags.ships) } : {}) };
}

const WHICH = '<service> is a service name (web, a.b) or mount (/a/b); - is the phleet-wide secrets.age';

/** `starphleet secrets set|unset|list|edit|reseal`: HQ secrets.age files, sealed with age (docs/secrets.md). */
export function registerSecretsCommand(program: Command, guarded: (fn: () => Promise<number>) => Promise<void>): void {
  const secrets = program
    .command('secrets')
    .description('HQ secrets.age: env values sealed with age to every ship and admiral (in an HQ checkout; see docs/secrets.md)')
    .addHelpText('after', helpExamples('starphleet secrets set web DATABASE_URL=postgres://...', 'starphleet secrets list web', 'starphleet secrets reseal   # after a ship or an admiral joins or leaves'));
  const common = (c: Command): Command =>
    c
      .option('--hq <dir>', 'the HQ checkout (default: the current directory)')
      .option('-i, --identity <key>', "the admiral's private key that opens the files (default: ~/.ssh/id_ed25519)")
      .option('--data <dir>', "on a ship: its data dir (list with the ship's checkout and host key)")
      .option('--ships <dir>', 'a checkout of the repository ships write back to (STARPHLEET_WRITEBACK): whose ships/ to seal to (default: the one .starphleet names, cloned; else HQ ships/)');
  // The sealing code (HQ reader, age) is imported when a secrets command runs, not by every start of the CLI.
  type Ops = typeof import('./secrets-ops.js');
  const run = (op: string, fn: (ctx: SecretsContext, ops: Ops) => Promise<number>) => (flags: Flags) =>
    guarded(async () => fn(await contextOf(flags, op), await import('./secrets-ops.js')));

  common(secrets.command('set'))
    .argument('<service>', WHICH)
    .argument('<assignments...>', 'NAME=VALUE, or NAME alone to read its value from stdin')
    .description('set secret env values of a service (or - for every service); seals the file again')
    .addHelpText('after', helpExamples('starphleet secrets set web DATABASE_URL=postgres://u:p@db/app', "printf %s \"$TOKEN\" | starphleet secrets set - API_TOKEN", 'starphleet secrets set --hq ~/hq -i ~/.ssh/admiral web A=1 B=2'))
    .action((which: string, assignments: string[], flags: Flags) => run('set', (ctx, ops) => ops.secretsSet(ctx, which, assignments))(flags));
  common(secrets.command('unset'))
    .argument('<service>', WHICH)
    .argument('<names...>', 'the names to remove')
    .description('remove secret env names; the file goes when none is left')
    .addHelpText('after', helpExamples('starphleet secrets unset web OLD_TOKEN'))
    .action((which: string, names: string[], flags: Flags) => run('unset', (ctx, ops) => ops.secretsUnset(ctx, which, names))(flags));
  common(secrets.command('list'))
    .argument('[service]', `${WHICH}; every file when not given`)
    .description('the names (never the values) in the secrets files')
    .addHelpText('after', helpExamples('starphleet secrets list', 'starphleet secrets list web', 'ssh -p 2222 admiral@ship starphleet secrets list web   # what that ship opens'))
    .action((which: string | undefined, flags: Flags) => run('list', (ctx, ops) => ops.secretsList(ctx, which))(flags));
  common(secrets.command('edit'))
    .argument('<service>', WHICH)
    .description('edit the plaintext in $EDITOR (a 0600 temp file, removed after); sealed again when saved')
    .addHelpText('after', helpExamples('starphleet secrets edit web', 'EDITOR=nano starphleet secrets edit -'))
    .action((which: string, flags: Flags) => run('edit', (ctx, ops) => ops.secretsEdit(ctx, which))(flags));
  common(secrets.command('reseal'))
    .argument('[service]', `${WHICH}; every file when not given`)
    .description('seal the files again to the ships in ships/ and the admirals in authorized_keys/ (after one joins or leaves)')
    .addHelpText('after', helpExamples('starphleet secrets reseal', 'starphleet secrets reseal web'))
    .action((which: string | undefined, flags: Flags) => run('reseal', (ctx, ops) => ops.secretsReseal(ctx, which))(flags));
}
