/**
 * `autodeploy registry:<N>` (a configuration of this ship's registry) and `registry://<ship>[:port]/<N>#fp=SHA256:...`
 * (one held by another ship, fetched over SFTP with its host key pinned). The url keeps its form; the fingerprint
 * travels as the ref, which the build side reads back with parseRegistrySource.
 */

export type RegistrySource =
  | { readonly kind: 'local'; readonly config: string }
  | { readonly kind: 'remote'; readonly host: string; readonly port: number; readonly config: string; readonly fingerprint: string };

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._~-]{0,127}$/;
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]{0,252}))$/;
const FP = /^fp=(SHA256:[A-Za-z0-9+/]{43}=?)$/;

export function isRegistryUrl(url: string): boolean {
  return url.startsWith('registry:');
}

/** Parses the url and the `#...` part as orders write them; errors say what is wrong. */
export function parseRegistrySource(url: string, ref: string | undefined): RegistrySource | { error: string } {
  if (!url.startsWith('registry://')) {
    const config = url.slice('registry:'.length);
    if (!NAME.test(config)) return { error: `registry:${config}: not a configuration name (letters, digits, '.', '_', '~', '-')` };
    if (ref !== undefined) return { error: `registry:${config} takes no '#' part (the configuration says which versions)` };
    return { kind: 'local', config };
  }
  const m = /^registry:\/\/([^/]+)\/([^/]+)$/.exec(url);
  if (!m) return { error: `${url}: expected registry://<ship>[:port]/<configuration>#fp=SHA256:...` };
  const hostPort = m[1] as string;
  const config = m[2] as string;
  const hp = /^(.*?)(?::(\d{1,5}))?$/.exec(hostPort) as RegExpExecArray;
  const host = hp[1] as string;
  const port = hp[2] === undefined ? 2222 : Number(hp[2]);
  if (!HOST.test(host)) return { error: `${url}: bad ship address ${JSON.stringify(host)}` };
  if (port < 1 || port > 65535) return { error: `${url}: bad port ${port}` };
  if (!NAME.test(config)) return { error: `${url}: ${JSON.stringify(config)} is not a configuration name` };
  const fp = FP.exec(ref ?? '');
  if (!fp) return { error: `${url}: the other ship's host key must be pinned: add #fp=SHA256:... (its fingerprint, as ssh-keygen -lf prints it)` };
  return { kind: 'remote', host: host.replace(/^\[|\]$/g, ''), port, config, fingerprint: fp[1] as string };
}

/** Splits an orders `autodeploy` argument of the registry kind into url and ref (the fingerprint holds `+` and `/`). */
export function parseRegistryAutodeploy(spec: string): { url: string; ref?: string } | { error: string } {
  const hash = spec.indexOf('#');
  const url = hash < 0 ? spec : spec.slice(0, hash);
  const ref = hash < 0 ? undefined : spec.slice(hash + 1);
  const r = parseRegistrySource(url, ref);
  if ('error' in r) return r;
  // The whole spec is the url: the fingerprint must reach the build side, which gets the url alone.
  return { url: spec };
}
