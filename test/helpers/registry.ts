import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  execFileSync('python3', ['-c', py, kind, file]);
}
