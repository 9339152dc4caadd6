import { DEFAULT_MAXVER, Registry, RegistryError } from '../registry/store.js';
import { audited } from './command-audit.js';
import type { CommandContext, ShipCommand } from './command.js';
import { registryMaxVersions } from '../settings/env-settings.js';

/**
 * `starphleet registry <cmd>`: deploy-tools' deploy-registry console commands, with their names and flags
 * (`-name`, `-version`, `-hash`, `-layer`, `-component`; `--flag` and `-flag=value` work too).
 */

interface Sub {
  readonly flags: readonly string[];
  readonly required: readonly string[];
  readonly help: string;
  readonly changes: boolean;
}

const SUBS: Readonly<Record<string, Sub>> = {
  addver: { flags: ['name', 'version', 'hash'], required: ['name', 'version', 'hash'], help: 'add new component version from previously uploaded file', changes: true },
  addconf: { flags: ['name', 'layer'], required: ['name', 'layer'], help: 'add new configuration from existing component versions', changes: true },
  bumpconf: { flags: ['name', 'component'], required: ['name', 'component'], help: 'update single layer of configuration to most recent uploaded version', changes: true },
  changeconf: { flags: ['name', 'component', 'version'], required: ['name', 'component', 'version'], help: 'update single layer of configuration to specific version', changes: true },
  showconf: { flags: ['name'], required: ['name'], help: 'show configuration', changes: false },
  showcomp: { flags: ['name'], required: ['name'], help: 'show component versions', changes: false },
  components: { flags: [], required: [], help: 'list all known components', changes: false },
  configurations: { flags: [], required: [], help: 'list all known configurations', changes: false },
  delver: { flags: ['name', 'version'], required: ['name', 'version'], help: 'delete component version', changes: true },
  delcomp: { flags: ['name'], required: ['name'], help: 'delete all component versions', changes: true },
  delconf: { flags: ['name'], required: ['name'], help: 'delete configuration', changes: true },
};

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

const SUB_LIST = Object.entries(SUBS)
  .map(([n, s]) => `  ${n.padEnd(15)} ${s.help}`)
  .join('\n');

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
  name: 'registry',
  summary: "deploy-tools' registry: component versions (.tar.gz by sha256) and configurations of layers",
  usage: '<subcommand> [-flag value ...]',
  details: `Subcommands (deploy-tools' deploy-registry console, same names and flags):
${SUB_LIST}
Upload an archive first with sftp (put FILE into / or /incoming/); addver names it by its sha256 (sha256sum FILE).
Archives must be gzip tars whose members stay inside the tree (no '..', absolute path, device or link leading out).
A component keeps its newest STARPHLEET_REGISTRY_MAXVER (10) versions; a version a configuration uses is never removed.
Configurations show over sftp at /registry/configs/<N>.json and deploy with orders \`autodeploy registry:<N>\`.
Use -h after a subcommand for its flags.`,
  examples: [
    'echo "put code_v1.tar.gz" | sftp -P 2222 admiral@ship',
    'ssh -p 2222 admiral@ship starphleet registry addver -name code -version v01 -hash $(sha256sum code_v1.tar.gz | cut -c1-64)',
    'ssh -p 2222 admiral@ship starphleet registry addconf -name project1 -layer code:v01 -layer config:v01',
    'ssh -p 2222 admiral@ship starphleet registry changeconf -name project1 -component config -version v02',
  ],
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
