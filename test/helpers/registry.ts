import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON } from './python.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/registry-app/', import.meta.url));

export const sha256Of = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** deploy-tools' README project: the code component (program + the fixture's server and Procfile) and the config. */
export function projectTars(dir: string, program: string, configs: readonly string[]): { code: string; configs: string[] } {
  const proj = join(dir, 'project1');
  mkdirSync(proj, { recursive: true });
  writeFileSync(join(proj, 'program.txt'), `${program}\n`);
  copyFileSync(join(FIXTURE, 'Procfile'), join(proj, 'Procfile'));
  copyFileSync(join(FIXTURE, 'server.py'), join(proj, 'server.py'));
  const code = join(dir, 'code_v1.tar.gz');
  execFileSync('tar', ['czf', code, '-C', proj, 'program.txt', 'Procfile', 'server.py']);
  const out: string[] = [];
  configs.forEach((text, i) => {
    writeFileSync(join(proj, 'config.txt'), `${text}\n`);
    const f = join(dir, `config_v${i + 1}.tar.gz`);
    execFileSync('tar', ['czf', f, '-C', proj, 'config.txt']);
    out.push(f);
  });
  return { code, configs: out };
}

/** A hostile .tar.gz written by Python's tarfile (GNU tar strips `..` and `/` when creating). */
export function hostileTar(file: string, kind: 'dotdot' | 'absolute' | 'device' | 'link-out'): void {
  const py = `
import io, sys, tarfile
kind, path = sys.argv[1], sys.argv[2]
with tarfile.open(path, "w:gz") as t:
    def add(name, data=b"x", **kw):
        ti = tarfile.TarInfo(name); ti.size = len(data)
        for k, v in kw.items(): setattr(ti, k, v)
        t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    add("ok.txt")
    if kind == "dotdot": add("sub/../../evil.txt")
    if kind == "absolute": add("/tmp/evil.txt")
    if kind == "device": add("dev", b"", type=tarfile.CHRTYPE, devmajor=1, devminor=3)
    if kind == "link-out": add("sub/link", b"", type=tarfile.SYMTYPE, linkname="../../etc")
`;
  execFileSync(PYTHON, ['-c', py, kind, file]);
}

/** One member of a hand-made archive: a file (with content), a directory, a symbolic or hard link. */
export type TarMember =
  | { readonly name: string; readonly file: string; readonly mode?: number }
  | { readonly name: string; readonly dir: true }
  | { readonly name: string; readonly symlink: string }
  | { readonly name: string; readonly hardlink: string }
  | { readonly name: string; readonly zeros: number };

/**
 * Writes exactly these members, in this order, into a .tar.gz (Python's tarfile: it writes what it is told, where GNU
 * tar would refuse or rewrite a hostile path). `zeros` is a file of that many zero bytes, streamed (a bomb's body).
 */
export function writeTar(file: string, members: readonly TarMember[]): void {
  const py = `
import io, json, sys, tarfile
class Zeros(io.RawIOBase):
    def __init__(self, n): self.n = n
    def readable(self): return True
    def readinto(self, b):
        k = min(len(b), self.n); b[:k] = bytes(k); self.n -= k; return k
members, path = json.loads(sys.argv[1]), sys.argv[2]
with tarfile.open(path, "w:gz", compresslevel=9) as t:
    for m in members:
        ti = tarfile.TarInfo(m["name"])
        if "dir" in m: ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
        elif "symlink" in m: ti.type = tarfile.SYMTYPE; ti.linkname = m["symlink"]; t.addfile(ti)
        elif "hardlink" in m: ti.type = tarfile.LNKTYPE; ti.linkname = m["hardlink"]; t.addfile(ti)
        elif "zeros" in m: ti.size = m["zeros"]; t.addfile(ti, Zeros(m["zeros"]))
        else:
            data = m["file"].encode(); ti.size = len(data); ti.mode = m.get("mode", 0o644); t.addfile(ti, io.BytesIO(data))
`;
  execFileSync(PYTHON, ['-c', py, JSON.stringify(members), file]);
}
