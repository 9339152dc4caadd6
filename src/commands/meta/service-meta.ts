import type { CommandMeta } from '../command.js';

/**
 * The services' commands (status, logs, releases, previews, redeploy, rollback, unpin, run) as metadata,
 * what `starphleet <name> --help` prints. Each implementation spreads its entry into its ShipCommand.
 */

export const statusMeta = {
  name: 'status',
  summary: 'services, releases and health of the running ship',
  usage: '[--json]',
  details: `Asks the running ship what it serves: each service's mount, state (building, starting, serving, failed,
stopped), git sha, release and URL, the reason of a failure, and HQ problems.
  --json   one object: { ship: {name, version, headquarters: {url, sha, contact}, tags}, services: [...], problems: [...] };
           contact: {lastContact, failingSince, failures, error, kind, nextCheck} of the HQ checks; each
           service has processes ({web: 2, worker: 1}: running instances per Procfile type) and pin (rollback);
           previews: [...] as starphleet previews --json gives them (each preview is also among the services);
           traffic: null, or {maintenance, paused, rollout} (starphleet maintenance, pause, rollout)`,
  examples: ['starphleet status', 'ssh -p 2222 admiral@ship starphleet status --json'],
} as const satisfies CommandMeta;

export const logsMeta = {
  name: 'logs',
  summary: "the logs of a service's instances that serve now (-f follows them across deploys)",
  usage: '<service> [-f] [-n LINES] [--instance PLACE] [--release ID] [--build] [--raw]',
  details: `Prints the last lines of every instance of the release that serves now (web.1, web.2, worker.1..., each line
labelled with its place, from that instance's start; cron runs as cron), from <data>/logs/<service>/. When nothing serves, the release that ran
last. With -f it keeps following them: at a deploy's switch it moves to the new instances, from their start.
  -f, --follow        keep printing as the logs grow (Ctrl-C stops)
  -n, --lines N       lines of each log to show first (default 100)
  --instance PLACE    only that place (web.2, worker.1, cron)
  --release ID        the instance logs of that release instead (starphleet releases <service> lists them)
  --build             the newest build log (with --release: that release's), which also holds the release phase
  --raw               the logs' exact bytes; without it, control characters a service printed are shown as text
                      (ESC as ^[), so its output cannot drive your terminal (title, clipboard, cursor, erase)
  --proof TOKEN       an admiral's signed request: how another ship asks (starphleet phleet logs)`,
  examples: ['starphleet logs hello', 'starphleet logs hello -f -n 20', 'starphleet logs hello --instance web.2', 'starphleet logs hello --build'],
} as const satisfies CommandMeta;

export const releasesMeta = {
  name: 'releases',
  summary: 'retained releases of a service, their state and who deployed them, and its failed deploys',
  usage: '<service> [--json]',
  details: `One line per retained release, newest first: id, git sha, when it was built, its state, and who or what deployed
it (the deploy that last made it serve, else its last deploy): the HQ commit, a webhook delivery, or the admiral's key
name and fingerprint for rollback, redeploy and unpin.
States: serving (serves now), pinned (serves now, held there by a rollback), starting (a deploy of it runs),
retired (served before, replaced), failed (never served: its deploys failed), cancelled (never served: cancelled).
Then the failed deploys the ship remembers, with their reason. Previews of the service (docs/previews.md) are listed
apart: each is a service of its own (releases <service>--<slug>).
  --json   { service, serving, pin, releases: [{id, sha, builtAt, state, deployedBy, result, trigger}], failed: [{at, sha, release, trigger, reason}],
           preview: {service, branch} | null, previews: [{name, branch, sha, state, release}] }`,
  examples: ['starphleet releases hello', 'ssh -p 2222 admiral@ship starphleet releases hello --json'],
} as const satisfies CommandMeta;

export const previewsMeta = {
  name: 'previews',
  summary: 'preview releases of branches (orders `previews`): branch, commit, state, age and URL',
  usage: '[<service>] [--json]',
  details: `One line per matching branch of each service whose orders say \`previews\` (or of <service>): the branch,
its commit, the state of its preview (building, starting, serving, failed, pending; or skipped, idle, held with the
reason), its age (since its last commit, or since the ship saw the branch move) and its URL, then its
<slug>.<proxy_for name> hosts. A preview is a service of its own named <service>--<slug>: logs, releases, redeploy
and SFTP /services/<service>--<slug>/ take that name. docs/previews.md has the rules.
  --json   [{ service, name, branch, ref, sha, state, message, release, url, hostUrls, since, age }]`,
  examples: ['starphleet previews', 'starphleet previews web --json', 'ssh -p 2222 admiral@ship starphleet previews web'],
} as const satisfies CommandMeta;

export const redeployMeta = {
  name: 'redeploy',
  summary: 'rebuild the current sha of a service and deploy it',
  usage: '<service>',
  details: `Builds the sha the service serves again (a buildpack or a base image may have changed), then switches to it
like any deploy: healthcheck, then drain of the old instance. Waits until it serves or failed. The only deploy that
builds inputs a retained release was already built from.`,
  examples: ['starphleet redeploy hello'],
} as const satisfies CommandMeta;

export const rollbackMeta = {
  name: 'rollback',
  summary: 'serve the previous (or a named) retained release again, without a rebuild, and pin it',
  usage: '<service> [<release>]',
  details: `Starts every process of the release (health-checked like a deploy), switches the route to it and drains the
instances it replaces. With no <release>, the newest retained one that served before the current one.
The service stays pinned (starphleet status shows it) until its git ref moves to a new sha or
starphleet unpin <service>. See starphleet releases <service> for the ids.`,
  examples: ['starphleet rollback hello', 'starphleet rollback hello 20261201093000-1a2b3c4', 'ssh -p 2222 admiral@ship starphleet rollback hello'],
} as const satisfies CommandMeta;

export const unpinMeta = {
  name: 'unpin',
  summary: 'end a rollback pin: the service follows its git ref again',
  usage: '<service>',
  details: `After starphleet rollback the service stays on the release it went back to. unpin lets it follow its ref again:
when the ref's sha is not what serves, it is deployed at once (health checks, drained switch): a release already built
from the same inputs (sha, orders, env, buildpacks) is served again, not rebuilt.`,
  examples: ['starphleet unpin hello', 'ssh -p 2222 admiral@ship starphleet unpin hello'],
} as const satisfies CommandMeta;

export const runMeta = {
  name: 'run',
  summary: 'run a one-off command in a fresh sandbox of the serving release',
  usage: '<service> [--] <command...>',
  details: `Like heroku run and dokku run: the command runs in the release that serves now, with its env, in the same
sandbox as its instances (read-only release, /var/data, the service's limits), never routed. stdin, the terminal
(ssh -t gives one) and the exit code are the caller's. One word is a shell command line ('echo $PORT');
several words run as they are.`,
  examples: ['starphleet run hello -- node -e "console.log(process.env.PORT)"', "starphleet run hello 'ls -la /var/data'", 'ssh -t -p 2222 admiral@ship starphleet run hello bash'],
} as const satisfies CommandMeta;
