import { chmodSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { posixShellQuote as q } from '../util/shell-quote.js';
import { versionsDir } from './source.js';

/** Points a symlink at target atomically (a new link renamed over the old): a reader sees the old or the new one. */
function pointAt(link: string, target: string): void {
  const tmp = `${link}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

/** Where <data>/versions/<name> points, if it is a link. */
export function versionLink(dataDir: string, name: 'current' | 'previous'): string | null {
  try {
    return resolve(versionsDir(dataDir), readlinkSync(join(versionsDir(dataDir), name)));
  } catch {
    return null;
  }
}

/**
 * After a hand-over: `current` -> the new version, `previous` -> what ran before (the old `current`, or the package
 * the ship ran from when it was not installed by an update), and the launcher. Versions that are neither are removed.
 */
export function promote(dataDir: string, newDir: string, runningRoot: string): void {
  const root = versionsDir(dataDir);
  const previous = versionLink(dataDir, 'current') ?? resolve(runningRoot);
  pointAt(join(root, 'previous'), previous);
  pointAt(join(root, 'current'), resolve(newDir));
  const keep = new Set([resolve(newDir), previous, resolve(runningRoot)]);
  for (const name of readdirSync(root)) {
    const p = join(root, name);
    if (name === 'current' || name === 'previous' || keep.has(p) || !/^[0-9a-f]{40}(-\d+)?$/.test(name)) continue;
    rmSync(p, { recursive: true, force: true });
  }
  writeLauncher(dataDir);
}

/**
 * `<data>/bin/ship [ship flags]`: how a supervisor (systemd, a boot script) starts this ship so an update survives a
 * reboot: it runs versions/current, and if that exits non-zero within a minute of starting (it does not start), it
 * runs versions/previous. Exit 0 is a stop or a hand-over to a newer ship: nothing to fall back from.
 */
export function writeLauncher(dataDir: string, under = '/'): string {
  // `under` is where the file system is (starphleet install --root DIR); dataDir is the path the launcher runs with.
  const dir = join(under, dataDir, 'bin');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, 'ship');
  const script = `#!/bin/bash
# Written by starphleet update: do not edit. Runs the ship from versions/current, else versions/previous.
set -u
data=${q(dataDir)}
child=
trap '[ -n "$child" ] && kill -TERM "$child"' TERM INT
for v in current previous; do
  cli="$data/versions/$v/dist/cli.js"
  [ -f "$cli" ] || continue
  started=$(date +%s)
  ${q(process.execPath)} "$cli" ship --data "$data" "$@" &
  child=$!
  wait "$child"; code=$?
  # wait returns early when a signal arrives: wait again for the ship's own exit code.
  while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done
  child=
  if [ "$code" -eq 0 ] || [ $(( $(date +%s) - started )) -ge 60 ]; then exit "$code"; fi
  echo "starphleet: versions/$v ($(readlink "$data/versions/$v")) did not start (exit $code); falling back" >&2
done
echo "starphleet: no version in $data/versions starts" >&2
exit 1
`;
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return path;
}
