import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The `age` tool (Debian's `age` package, 1.1) does the cryptography: it takes `ssh-ed25519`/`ssh-rsa` public keys as
 * recipients and OpenSSH private keys as identities, which the npm age packages do not (round3-facts). Plaintext
 * only ever goes through its stdin and stdout pipes, never a file.
 */

/** age said no (or is missing): the message is age's own first line, or what to install. */
export class AgeError extends Error {
  override name = 'AgeError';
}

/** Plaintext of a secrets file is small (its sealed form is bounded by MAX_SEALED_BYTES); anything beyond is refused. */
const MAX_OUTPUT = 1024 * 1024;
const TIMEOUT_MS = 30_000;

function runAge(args: readonly string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn('age', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(new AgeError(`cannot run age: ${(e as Error).message}`));
      return;
    }
    const out: Buffer[] = [];
    let size = 0;
    let err = '';
    let failed: AgeError | null = null;
    const timer = setTimeout(() => {
      failed = new AgeError(`age did not finish in ${TIMEOUT_MS / 1000} s`);
      child.kill('SIGKILL');
    }, TIMEOUT_MS);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT) {
        failed ??= new AgeError(`age wrote more than ${MAX_OUTPUT} bytes: not a secrets file`);
        child.kill('SIGKILL');
      } else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (err.length < 4096) err += b.toString('utf8');
    });
    // age may exit (a bad identity) before it read all its input: a broken pipe is not the error to report.
    child.stdin.on('error', () => undefined);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new AgeError(e.code === 'ENOENT' ? 'the age tool is not installed (Debian: apt-get install age)' : `cannot run age: ${e.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (failed) return reject(failed);
      if (code === 0) return resolve(Buffer.concat(out));
      // age's first line says it ("age: error: no identity matched any of the recipients"); the second is its bug-report URL.
      const said = err.split('\n').find((l) => l.trim() !== '' && !/report unexpected or unhelpful errors/.test(l));
      reject(new AgeError(said?.replace(/^age: (error: )?/, '').trim() || `age exited with ${code}`));
    });
    child.stdin.end(input);
  });
}

/** Seals plaintext to the recipients (`ssh-ed25519 AAAA...` lines, no comment), ASCII-armored (git shows it as text). */
export function sealTo(plaintext: Buffer, recipients: readonly string[]): Promise<Buffer> {
  if (recipients.length === 0) return Promise.reject(new AgeError('no recipients to seal to'));
  return runAge(['--encrypt', '--armor', ...recipients.flatMap((r) => ['-r', r])], plaintext);
}

/** Opens a sealed file (binary or armored) with an OpenSSH private key file; the plaintext stays in memory. */
export function openWith(sealed: Buffer, identityFile: string): Promise<Buffer> {
  // Absolute, so a path beginning with `-` is never read as an option.
  return runAge(['--decrypt', '-i', resolve(identityFile)], sealed);
}
