import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdmiralError } from './remotes.js';

/** Signals that end an edit: the plaintext file goes first, then the signal's usual end. */
const ENDING = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Puts plaintext in a 0600 file of a fresh 0700 temp dir, runs `$VISUAL`/`$EDITOR` (default vi) on it, and returns what
 * it holds when the editor exits 0. The file is overwritten and removed whatever happens: a signal while the editor
 * runs ends this process only after the removal. Nothing of the text is printed.
 */
export async function editInEditor(text: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = mkdtempSync(join(env.TMPDIR ?? tmpdir(), 'starphleet-secrets-'));
  chmodSync(dir, 0o700);
  const file = join(dir, 'secrets.env');
  const cleanup = (): void => {
    try {
      writeFileSync(file, Buffer.alloc(statSync(file).size));
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    process.kill(process.pid, signal);
  };
  const handlers = ENDING.map((s) => {
    const h = (): void => {
      for (const [sig, fn] of handlers) process.off(sig, fn);
      onSignal(s);
    };
    process.on(s, h);
    return [s, h] as const;
  });
  try {
    writeFileSync(file, text, { mode: 0o600 });
    const editor = env.VISUAL || env.EDITOR || 'vi';
    // Through sh, as git runs it: EDITOR may carry arguments ("code --wait").
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('sh', ['-c', `${editor} "$1"`, 'sh', file], { stdio: 'inherit', env });
      child.once('error', reject);
      child.once('close', (c) => resolve(c));
    });
    if (code !== 0) throw new AdmiralError(`the editor (${editor}) exited with ${code ?? 'a signal'}: nothing changed`);
    return readFileSync(file, 'utf8');
  } finally {
    for (const [sig, fn] of handlers) process.off(sig, fn);
    cleanup();
  }
}
