import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { HqCertificate, Problem } from './types.js';
import { readIfFile } from './read-file.js';

/** A host name as it may name a file in ssl/: lower-case DNS labels (never a path). */
const HOST = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** Within this long of its expiry an HQ certificate is still served, with a warning. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

function pemCerts(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * One `ssl/<name>.crt` + `ssl/<name>.key` pair: a certificate served for the name, or problems naming the file at
 * fault (and then nothing of it is used). Checked: a PEM chain whose first certificate covers the name, a key that
 * matches it, the chain in order (each signed by the next), not expired (a warning within 14 days of expiry).
 */
export function checkHqCertificate(name: string, crtText: string, keyText: string | null, now = Date.now()): { cert: HqCertificate | null; problems: Problem[] } {
  const crtFile = `ssl/${name}.crt`;
  const keyFile = `ssl/${name}.key`;
  const bad = (file: string, message: string): { cert: null; problems: Problem[] } => ({ cert: null, problems: [{ file, message }] });
  if (keyText === null) return bad(keyFile, `missing: ${crtFile} needs its private key here`);
  const pems = pemCerts(crtText);
  if (pems.length === 0) return bad(crtFile, 'no PEM certificate (-----BEGIN CERTIFICATE-----) in this file');
  let chain: X509Certificate[];
  try {
    chain = pems.map((p) => new X509Certificate(p));
  } catch (e) {
    return bad(crtFile, `not a valid certificate: ${(e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyText);
  } catch (e) {
    return bad(keyFile, `not a valid private key (PEM, unencrypted): ${(e as Error).message}`);
  }
  const leaf = chain[0] as X509Certificate;
  if (!leaf.checkPrivateKey(key)) return bad(keyFile, `does not match the certificate in ${crtFile}`);
  if (leaf.checkHost(name) === undefined) return bad(crtFile, `does not cover ${name} (its names: ${leaf.subjectAltName ?? leaf.subject})`);
  for (let i = 0; i + 1 < chain.length; i++) {
    const [c, issuer] = [chain[i] as X509Certificate, chain[i + 1] as X509Certificate];
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey)) return bad(crtFile, `certificate ${i + 2} of the chain did not issue certificate ${i + 1} (order: leaf first, then its issuers)`);
  }
  const notAfter = Date.parse(leaf.validTo);
  const notBefore = Date.parse(leaf.validFrom);
  if (notAfter <= now) return bad(crtFile, `expired on ${new Date(notAfter).toISOString()}`);
  if (notBefore > now) return bad(crtFile, `not valid before ${new Date(notBefore).toISOString()}`);
  const problems: Problem[] = [];
  const left = Math.floor((notAfter - now) / DAY_MS);
  if (notAfter - now < EXPIRY_WARNING_DAYS * DAY_MS) problems.push({ file: crtFile, message: `warning: expires in ${left} day(s), on ${new Date(notAfter).toISOString()} (still served)` });
  return {
    cert: { name, file: crtFile, cert: pems.map((p) => `${p}\n`).join(''), key: keyText, notAfter: new Date(notAfter).toISOString(), issuer: leaf.issuer.replace(/\n/g, ', ') },
    problems,
  };
}

/**
 * HQ `ssl/`: a certificate per `<hostname>.crt` with its `<hostname>.key`. Bad pairs are problems and their names are
 * in `rejected`, so the ship keeps serving whatever certificate it had for them.
 */
export async function readHqCertificates(root: string, problems: Problem[]): Promise<{ certs: HqCertificate[]; rejected: string[] }> {
  let names: string[];
  try {
    names = (await readdir(join(root, 'ssl'))).sort();
  } catch {
    return { certs: [], rejected: [] };
  }
  const certs: HqCertificate[] = [];
  const rejected: string[] = [];
  for (const f of names) {
    const file = `ssl/${f}`;
    const st = await lstat(join(root, file)).catch(() => null);
    if (st?.isSymbolicLink()) {
      problems.push({ file, message: 'symlink in ssl/: not followed' });
      continue;
    }
    if (f.endsWith('.key')) {
      if (!names.includes(`${f.slice(0, -4)}.crt`)) problems.push({ file, message: `no ${f.slice(0, -4)}.crt next to this key: it is not used` });
      continue;
    }
    if (!f.endsWith('.crt')) {
      problems.push({ file, message: 'not a certificate: ssl/ holds <hostname>.crt and <hostname>.key' });
      continue;
    }
    const name = f.slice(0, -4);
    if (!HOST.test(name)) {
      problems.push({ file, message: 'the file name must be the host name it serves, in lower case (ssl/<hostname>.crt)' });
      continue;
    }
    const crt = await readIfFile(join(root, file));
    if (crt === null) {
      problems.push({ file, message: 'not a regular file' });
      rejected.push(name);
      continue;
    }
    const r = checkHqCertificate(name, crt, await readIfFile(join(root, 'ssl', `${name}.key`)));
    problems.push(...r.problems);
    if (r.cert) certs.push(r.cert);
    else rejected.push(name);
  }
  return { certs, rejected };
}
