import { shellQuote as quoteAlways } from '../util/shell-quote.js';

/** One shell word, left bare when it is plain (so the ship's audit shows `starphleet status`, not `'starphleet' 'status'`). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : quoteAlways(s);
}
