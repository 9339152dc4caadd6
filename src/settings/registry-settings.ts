/**
 * How the ship reaches package registries, and the only names of its env a build that installs packages gets (a
 * buildpack step, a container base's script, a new version's `npm ci`): proxies, CA files, a registry mirror,
 * corepack's registry and signature keys (COREPACK_INTEGRITY_KEYS=0 for a mirror that serves no signatures), and of
 * NODE_OPTIONS only the flags that choose node's CA store. A proxy is how the ship reaches registries at all: give the
 * ship one whose credentials, if any, are fit for build code to hold.
 */
type Env = Readonly<Record<string, string | undefined>>;

const NAMES = [
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'npm_config_registry',
  'NPM_CONFIG_REGISTRY',
  'COREPACK_NPM_REGISTRY',
  'COREPACK_INTEGRITY_KEYS',
];

/**
 * `--use-openssl-ca` (trust the system's store, SSL_CERT_FILE and SSL_CERT_DIR) and `--use-bundled-ca`: a ship told
 * which store to trust passes that on as it passes NODE_EXTRA_CA_CERTS. Every other NODE_OPTIONS flag is the ship's
 * own (a heap size, a preload of its own) and stays with it.
 */
const CA_STORE_FLAGS = new Set(['--use-openssl-ca', '--use-bundled-ca']);

/** The registry settings of env (the ship's by default), as a build's env gets them. */
export function registrySettings(env: Env = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of NAMES) {
    const v = env[name];
    if (v !== undefined) out[name] = v;
  }
  const caFlags = (env.NODE_OPTIONS ?? '').split(/\s+/).filter((f) => CA_STORE_FLAGS.has(f));
  if (caFlags.length > 0) out.NODE_OPTIONS = [...new Set(caFlags)].join(' ');
  return out;
}
