/** A bad setting, flag or env value: the CLI prints its message and exits 2. Here, not in config.ts, so that any room
 * (state's retention settings, say) can throw it without depending on the ship's configuration. */
export class ConfigError extends Error {}
