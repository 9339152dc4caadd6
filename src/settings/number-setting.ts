/**
 * The one parser of numeric settings: STARPHLEET_* env vars, the ship's flags, and keys of a release's env
 * (HEALTHCHECK_TIMEOUT, PORT, PUBLISH_PORT). The error names the setting and the value given.
 */
export interface NumberRule {
  /** Smallest value allowed. */
  readonly min: number;
  /** min itself is refused too ("a positive number": min 0, above). */
  readonly above?: boolean;
  /** Largest value allowed. */
  readonly max?: number;
  readonly integer?: boolean;
  /** Only digits (with integer: no decimal point), spaces around aside: no sign, exponent or hex that Number() takes. */
  readonly plain?: boolean;
  /** What the value should be, for the error: `<name> must be <what>, got "<raw>"`. */
  readonly what: string;
  /** The error numberSetting throws (a ConfigError for the CLI's exit code 2, a BuildFailure for a build); Error by default. */
  readonly error?: (message: string) => Error;
}

export const SECONDS: NumberRule = { min: 0, what: 'a number of seconds' };
export const POSITIVE_SECONDS: NumberRule = { min: 0, above: true, what: 'a positive number of seconds' };
export const POSITIVE: NumberRule = { min: 0, above: true, what: 'a positive number' };
export const COUNT: NumberRule = { min: 1, integer: true, what: 'a whole number of at least 1' };
export const PORT_NUMBER: NumberRule = { min: 1, max: 65535, integer: true, what: 'a port number (1-65535)' };

function accepts(raw: string, n: number, rule: NumberRule): boolean {
  return (
    Number.isFinite(n) &&
    (rule.above ? n > rule.min : n >= rule.min) &&
    (rule.max === undefined || n <= rule.max) &&
    (!rule.integer || Number.isInteger(n)) &&
    (!rule.plain || (rule.integer ? /^\d+$/ : /^\d+(\.\d+)?$/).test(raw.trim()))
  );
}

/** A value that is there (even empty) checked against the rule: null when it passes, else the one-line problem. */
export function checkNumberSetting(raw: string | undefined, name: string, rule: NumberRule): string | null {
  if (raw === undefined || accepts(raw, Number(raw), rule)) return null;
  return `${name} must be ${rule.what}, got ${JSON.stringify(raw)}`;
}

/** The setting's number: dflt when unset or blank (`VAR= cmd` unsets), else checked; a bad value throws rule.error. */
export function numberSetting(raw: string | undefined, name: string, dflt: number, rule: NumberRule): number {
  if (raw === undefined || raw.trim() === '') return dflt;
  const problem = checkNumberSetting(raw, name, rule);
  if (problem !== null) throw rule.error ? rule.error(problem) : new Error(problem);
  return Number(raw);
}
