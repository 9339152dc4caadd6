/**
 * The registry command's subcommands (deploy-tools' deploy-registry console): their flags and help lines, here for
 * its --help (the CLI prints it without loading the registry) and for its run.
 */
export interface Sub {
  readonly flags: readonly string[];
  readonly required: readonly string[];
  readonly help: string;
  readonly changes: boolean;
}

export const SUBS: Readonly<Record<string, Sub>> = {
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

/** One line per subcommand, for --help and for a usage error. */
export const SUB_LIST = Object.entries(SUBS)
  .map(([n, s]) => `  ${n.padEnd(15)} ${s.help}`)
  .join('\n');
