import { redactCredentials } from './util/redact.js';

/** One line per event, timestamped, on stdout: the ship's log is what an admiral tails. */
export type Logger = (message: string) => void;

export const log: Logger = (message) => {
  process.stdout.write(`${new Date().toISOString()} ${redactCredentials(message)}\n`);
};

export const silent: Logger = () => {};
