import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A throw-away certificate authority made with openssl in a temp dir (no key is ever committed). */
export interface TestCa {
  readonly dir: string;
  /** The CA certificate (PEM file path): curl --cacert, NODE_EXTRA_CA_CERTS. */
  readonly certFile: string;
  /** A leaf for these names (DNS or IP), signed by the CA: PEM chain (leaf, CA) and key. */
  leaf(names: readonly string[], o?: { days?: number; file?: string }): { cert: string; key: string; certFile: string; keyFile: string };
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

let serial = 0;

export function makeTestCa(dir: string, subject = 'starphleet test CA'): TestCa {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', `/CN=${subject}`], dir);
  const ca: TestCa = {
    dir,
    certFile: join(dir, 'ca.crt'),
    leaf(names, o = {}) {
      const base = o.file ?? `leaf${++serial}`;
      const san = names.map((n) => (/^[\d.]+$/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`);
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${names[0] ?? 'leaf'}`], dir);
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${base}.crt`, '-days', String(o.days ?? 1), '-extfile', `${base}.ext`], dir);
      const cert = readFileSync(join(dir, `${base}.crt`), 'utf8') + readFileSync(join(dir, 'ca.crt'), 'utf8');
      writeFileSync(join(dir, `${base}.chain.crt`), cert);
      return { cert, key: readFileSync(join(dir, `${base}.key`), 'utf8'), certFile: join(dir, `${base}.chain.crt`), keyFile: join(dir, `${base}.key`) };
    },
  };
  return ca;
}
