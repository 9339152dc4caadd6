import { DEFAULT_MAXVER, Registry, RegistryError } from '../registry/store.js';
import { audited } from './command-audit.js';
import type { CommandContext, ShipCommand } from './command.js';
import { registryMaxVersions } from '../settings/env-settings.js';
import { registryToolMeta } from './meta/ship-meta.js';
import { SUB_LIST, SUBS, type Sub } from './meta/registry-subs.js';

/**
 * `starphleet registry <cmd>`: deploy-tools' deploy-registry console commands, with their names and flags
 * (`-name`, `-version`, `-hash`, `-layer`, `-component`; `--flag` and `-flag=value` work too).
 */

class UsageError extends Error {}

/** `-name x`, `--name x`, `-name=x`; `-layer` may repeat. Anything else is a usage error naming it. */
export function parseFlags(sub: string, spec: Sub, args: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^--?([a-z]+)(?:=(.*))?$/s.exec(a);
    if (!m || !spec.flags.includes(m[1] as string)) throw new UsageError(`${sub}: unknown argument ${JSON.stringify(a.slice(0, 80))}`);
    const name = m[1] as string;
    let value = m[2];
    if (value === undefined) {
      value = args[++i];
      if (value === undefined) throw new UsageError(`${sub}: -${name} needs a value`);
    }
    if (out.has(name) && name !== 'layer') throw new UsageError(`${sub}: -${name} given twice`);
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  for (const r of spec.required) if (!out.has(r)) throw new UsageError(`${sub}: -${r} is required`);
  return out;
}

function subUsage(sub: string, spec: Sub): string {
  const flags = spec.flags.map((f) => (f === 'layer' ? '-layer C:V [-layer C:V ...]' : `-${f} ${f.toUpperCase()}`)).join(' ');
  return `starphleet registry ${sub}${flags ? ` ${flags}` : ''}`;
}


export function registryFor(ctx: CommandContext): Registry {
  const maxver = registryMaxVersions(DEFAULT_MAXVER);
  return new Registry(ctx.ship.db, ctx.ship.options.dataDir, maxver);
}

async function runSub(sub: string, f: Map<string, string[]>, ctx: CommandContext): Promise<number> {
  const reg = registryFor(ctx);
  const one = (k: string): string => (f.get(k) ?? [])[0] as string;
  switch (sub) {
    case 'addver': {
      const removed = await reg.addVersion(one('name'), one('version'), one('hash'));
      if (removed.length > 0) ctx.out(`retention (STARPHLEET_REGISTRY_MAXVER): removed ${one('name')} ${removed.join(' ')}\n`);
      return 0;
    }
    case 'addconf':
      await reg.addConfig(one('name'), f.get('layer') ?? []);
      return 0;
    case 'changeconf':
      await reg.changeConfig(one('name'), one('component'), one('version'));
      return 0;
    case 'bumpconf':
      ctx.out(`${one('component')}\t${await reg.changeConfig(one('name'), one('component'), null)}\n`);
      return 0;
    case 'showconf': {
      const layers = reg.layers(one('name'));
      if (!layers) throw new RegistryError(`no configuration ${one('name')}`);
      for (const l of layers) ctx.out(`${l.component}\t${l.version}\t${l.addedAt.replace(/\.\d+Z$/, 'Z')}\n`);
      return 0;
    }
    case 'showcomp': {
      const rows = reg.versions(one('name'));
      if (rows.length === 0) throw new RegistryError(`no component ${one('name')}`);
      for (const r of rows) ctx.out(`${r.added_at.replace(/\.\d+Z$/, 'Z')}\t${r.version}\n`);
      return 0;
    }
    case 'components':
      for (const c of reg.components()) ctx.out(`${c}\n`);
      return 0;
    case 'configurations':
      for (const c of reg.configurations()) ctx.out(`${c}\n`);
      return 0;
    case 'delver':
      await reg.deleteVersion(one('name'), one('version'));
      return 0;
    case 'delcomp':
      await reg.deleteComponent(one('name'));
      return 0;
    case 'delconf':
      await reg.deleteConfig(one('name'));
      return 0;
    default:
      return 2;
  }
}

export const registryToolCommand: ShipCommand = {
  ...registryToolMeta,
  run(args, ctx) {
    const [sub, ...rest] = args;
    const spec = sub === undefined ? undefined : SUBS[sub];
    if (sub === undefined || spec === undefined || !Object.hasOwn(SUBS, sub)) {
      ctx.err(`${sub === undefined ? '' : `starphleet registry: no subcommand ${JSON.stringify(sub.slice(0, 40))}\n`}usage: starphleet registry <subcommand> [-flag value ...]\n${SUB_LIST}\n`);
      return Promise.resolve(2);
    }
    if (rest.includes('-h') || rest.includes('-help')) {
      ctx.out(`usage: ${subUsage(sub, spec)}\n${spec.help}\n`);
      return Promise.resolve(0);
    }
    let flags: Map<string, string[]>;
    try {
      flags = parseFlags(sub, spec, rest);
    } catch (e) {
      ctx.err(`starphleet registry ${(e as Error).message}\nusage: ${subUsage(sub, spec)}\n`);
      return Promise.resolve(2);
    }
    const go = async (): Promise<number> => {
      try {
        return await runSub(sub, flags, ctx);
      } catch (e) {
        if (!(e instanceof RegistryError)) throw e;
        ctx.err(`starphleet registry ${sub}: ${e.message}\n`);
        return 1;
      }
    };
    return spec.changes ? audited(ctx, ['registry', ...args], go) : go();
  },
};
