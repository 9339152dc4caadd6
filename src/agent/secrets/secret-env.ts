import { secretNameProblem } from '../../secrets/dotenv-text.js';
import { parseDotenv } from '../releases/dotenv.js';

/** The parser's message without the text of the line it quotes (that text may be a value). */
function withoutText(message: string): string {
  if (message.startsWith('expected KEY=value')) return 'expected NAME=value';
  if (message.startsWith('bad variable name')) return 'bad variable name (letters, digits and _, not starting with a digit)';
  return message.replace(/(unexpected text after the closing quote).*$/, '$1');
}

export type SecretEnv = { readonly ok: true; readonly env: Readonly<Record<string, string>> } | { readonly ok: false; readonly message: string };

/**
 * The plaintext of a secrets.age file as env: dotenv lines, read by the `.env` parser (data, never run). Unlike a repo's
 * `.env`, a bad line fails the whole file: a secret silently left out would start the service wrong. Messages name
 * the line and the name, never a value.
 */
export function readSecretEnv(plaintext: Buffer): SecretEnv {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(plaintext);
  } catch {
    return { ok: false, message: 'its plaintext is not UTF-8 text' };
  }
  const { env, problems } = parseDotenv(text);
  const first = problems[0];
  if (first) return { ok: false, message: `line ${first.line} of its plaintext: ${withoutText(first.message)}` };
  for (const [name, value] of Object.entries(env)) {
    const bad = secretNameProblem(name);
    if (bad) return { ok: false, message: bad };
    if (value.includes('\0')) return { ok: false, message: `${name}: a value cannot hold a NUL byte` };
  }
  return { ok: true, env };
}
