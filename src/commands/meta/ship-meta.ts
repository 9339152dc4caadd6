import type { CommandMeta } from '../command.js';
import { SUB_LIST } from './registry-subs.js';

/**
 * The ship's and the phleet's commands (registry, phleet, sync, audit, dashboard, certs, version, update) as metadata,
 * what `starphleet <name> --help` prints. Each implementation spreads its entry into its ShipCommand.
 */

export const registryToolMeta = {
  name: 'registry',
  summary: "deploy-tools' registry: component versions (.tar.gz by sha256) and configurations of layers",
  usage: '<subcommand> [-flag value ...]',
  details: `Subcommands (deploy-tools' deploy-registry console, same names and flags):
${SUB_LIST}
Upload an archive first with sftp (put FILE into / or /incoming/); addver names it by its sha256 (sha256sum FILE).
Archives must be gzip tars whose members stay inside the tree (no '..', absolute path, device or link leading out).
A component keeps its newest STARPHLEET_REGISTRY_MAXVER (10) versions; a version a configuration uses is never removed.
Configurations show over sftp at /registry/configs/<N>.json and deploy with orders \`autodeploy registry:<N>\`.
Use -h after a subcommand for its flags.`,
  examples: [
    'echo "put code_v1.tar.gz" | sftp -P 2222 admiral@ship',
    'ssh -p 2222 admiral@ship starphleet registry addver -name code -version v01 -hash $(sha256sum code_v1.tar.gz | cut -c1-64)',
    'ssh -p 2222 admiral@ship starphleet registry addconf -name project1 -layer code:v01 -layer config:v01',
    'ssh -p 2222 admiral@ship starphleet registry changeconf -name project1 -component config -version v02',
  ],
} as const satisfies CommandMeta;

export const phleetMeta = {
  name: 'phleet',
  summary: 'status, sync, logs or redeploy across every ship of the phleet (HQ ships/)',
  usage: 'status | sync | logs <service> [-f] [--raw] | redeploy <service>',
  details: `Fans the operation out over SSH to every ship listed in HQ ships/ (this one too), as the user ship with this
ship's client key, each ship's host key checked against the fingerprints of its ships/ entry. Every line of output
starts with the ship's name; a ship that cannot be reached is reported as unreachable and the others still answer.
Exit status 1 when a ship was unreachable or its command failed. What the ships send is shown with its control
characters made visible (ESC as ^[); --raw passes a service's log bytes as they are.
A ship serves another ship logs or a redeploy only on an admiral's signed request (--proof TOKEN): run these from
your machine as starphleet -s <ship> phleet ..., which signs the request with your SSH key (STARPHLEET_ADMIRAL_KEY,
else ~/.ssh/id_ed25519): each ship checks it against its HQ's admirals, once, within 5 minutes, and audits it.
  status                 each ship's HQ sha, last contact with HQ and tags (a ship that cannot be reached: unreachable,
                         with what its ships/ entry last said); each ship's services: state, sha, release, message;
                         and where each service is placed (orders' on) and runs
  sync                   every ship checks HQ now (instead of at its next pulse or after its backoff)
  logs <service> [-f]    the service's logs from every ship (-f: follow until Ctrl-C)
  redeploy <service>     rebuild and deploy the service on every ship at once`,
  examples: ['starphleet phleet status', 'starphleet phleet sync', 'starphleet -s prod phleet logs hello -f', 'starphleet -s prod phleet redeploy hello'],
} as const satisfies CommandMeta;

export const syncMeta = {
  name: 'sync',
  summary: 'check the headquarters now (phleet sync: every ship)',
  usage: '',
  details: `Checks HQ at once instead of at the next pulse (and whatever the backoff after failures says), then prints the
HQ sha the ship runs and its contact with HQ. starphleet phleet sync asks every ship of the phleet.`,
  examples: ['starphleet sync', 'starphleet -s prod phleet sync'],
} as const satisfies CommandMeta;

export const auditMeta = {
  name: 'audit',
  summary: 'latest SSH logins, commands and denied requests; --failures for refused authentications',
  usage: '[-n COUNT] [--failures] [--json]',
  details: `The SSH audit trail, newest first: logins, commands and how they ended, SFTP sessions and reads, and what
the gate denied.
  -n COUNT     entries to show (default 50)
  --failures   refused authentications, counted per minute, address, user and key
  --json       the entries as JSON`,
  examples: ['starphleet audit', 'starphleet audit -n 200 --failures'],
} as const satisfies CommandMeta;

export const dashboardMeta = {
  name: 'dashboard',
  summary: 'print a one-time login link to the web dashboard of the ship (its own origin, --dashboard-listen)',
  usage: '',
  details: `The dashboard shows the services (state, sha, release, health, processes), the recent deploys, the HQ problems,
the ship, and a live log of a chosen service. It has an origin of its own (--dashboard-listen, default
127.0.0.1:9465; STARPHLEET_DASHBOARD_URL in HQ .starphleet when admirals reach it by another name or through a
proxy), so no service's page can script it. Only admirals get in, through the link this prints: it works once and
for STARPHLEET_DASHBOARD_LOGIN_SECONDS (default 120 s); the browser then holds a session for
STARPHLEET_DASHBOARD_SESSION_SECONDS (default 28800 s) in that tab, never in a cookie.`,
  examples: ['ssh -p 2222 admiral@ship starphleet dashboard'],
} as const satisfies CommandMeta;

export const certsMeta = {
  name: 'certs',
  summary: 'TLS certificates: each name with its issuer, expiry, source (HQ or ACME) and last renewal error',
  usage: '[--json]',
  details: `One line per name the ship serves over --https-port (every proxy_for name and STARPHLEET_HOSTNAME): the
issuer and expiry of the certificate served now, its source (hq: HQ ssl/<name>.crt, acme: issued to this ship), when
the next ACME attempt is due, and the error of the last failed attempt (with how many failed in a row).
  --json   [{name, source, issuer, notAfter, serial, lastIssuedAt, nextAttemptAt, failures, lastError, lastErrorAt}]`,
  examples: ['starphleet certs', 'ssh -p 2222 admiral@ship starphleet certs --json'],
} as const satisfies CommandMeta;

export const versionMeta = {
  name: 'version',
  summary: 'print the version of the running ship',
  usage: '',
  details: 'Prints the version of the running ship (`starphleet --version` prints the local CLI\'s, with its commit).',
  examples: ['ssh -p 2222 admiral@ship starphleet version'],
} as const satisfies CommandMeta;

export const updateMeta = {
  name: 'update',
  summary: 'update starphleet on this ship from STARPHLEET_REMOTE, handing over without downtime',
  usage: '[--allow-downgrade]',
  details: `Looks up the newest commit of STARPHLEET_REMOTE (url#branch; the ship's env, or HQ .starphleet; default the
package's repository), installs and builds it beside the running version, checks it, and hands the ship over to it:
sockets are passed, instances adopted, no request is refused. The same as \`ssh update@ship\`.
With STARPHLEET_UPDATE_SIGNERS=admirals, only a commit an admiral signed installs, and only one that goes forward
(it descends from the running commit, or carries a higher version).
  --allow-downgrade   install a signed commit that does not go forward (\`ssh update@ship -- --allow-downgrade\`)`,
  examples: ['ssh -p 2222 update@ship', 'starphleet update', 'ssh -p 2222 update@ship -- --allow-downgrade'],
} as const satisfies CommandMeta;
