import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Parser, type ReadEntry } from 'tar';
import { ArchiveRefused } from './refusal.js';

/** pax and GNU long-name headers are held in memory by the parser: none of ours needs more than this. */
const MAX_META_BYTES = 64 * 1024;

/**
 * Reads the gzip tar `file` member by member, handing each to `onEntry` in order (which must consume the member's
 * body) and waiting for it before the parser goes on: node-tar's Parser is the tar format, the rules are the
 * caller's. The decompressed stream is bounded by `maxRawBytes` while it is read, so a bomb of zeros after the last
 * member, or of headers without members, is refused as soon as it crosses the bound, not after.
 */
export async function readMembers(file: string, label: string, maxRawBytes: number, onEntry: (entry: ReadEntry) => Promise<void>): Promise<number> {
  const head = Buffer.alloc(2);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) throw new ArchiveRefused(label, null, 'not a gzip file (a layer is a .tar.gz)');

  const abort = new AbortController();
  let failure: unknown = null;
  const fail = (e: unknown): void => {
    failure ??= e;
    abort.abort();
  };
  let members = 0;
  let work: Promise<void> = Promise.resolve();
  const parser = new Parser({ strict: true, maxMetaEntrySize: MAX_META_BYTES });
  parser.on('entry', (entry: ReadEntry) => {
    members++;
    work = work
      .then(() => (failure === null ? onEntry(entry) : undefined))
      .catch(fail)
      // A member nobody consumed (refused, or after a refusal) would hold the parser forever.
      .finally(() => {
        if (!entry.emittedEnd) entry.resume();
      });
  });
  parser.on('error', (e: Error) => fail(new ArchiveRefused(label, null, `not a valid tar archive: ${e.message}`)));
  const ended = new Promise<void>((resolve) => parser.on('end', () => resolve()));

  let raw = 0;
  try {
    await pipeline(
      createReadStream(file),
      createGunzip(),
      async function feed(source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          raw += chunk.length;
          if (raw > maxRawBytes) fail(new ArchiveRefused(label, null, `expands past ${maxRawBytes} bytes of tar stream (STARPHLEET_ARCHIVE_MAX_BYTES): refused while reading`));
          if (failure === null && !parser.write(chunk)) await drained(parser, abort.signal);
          if (failure !== null) throw failure;
        }
        parser.end();
        await Promise.race([ended, aborted(abort.signal)]);
      },
      { signal: abort.signal },
    );
    await work;
  } catch (e) {
    await work.catch(() => undefined);
    throw failure ?? (e instanceof ArchiveRefused ? e : new ArchiveRefused(label, null, `cannot be read: ${(e as Error).message}`));
  }
  if (failure !== null) throw failure;
  return members;
}

function drained(parser: Parser, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    parser.once('drain', () => resolve());
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
