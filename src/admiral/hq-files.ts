import { posixShellQuote } from '../util/shell-quote.js';

// The text of the files `starphleet hq init` writes: what a new admiral reads first, so it explains as it goes.

export function ordersText(hqDir: string, branch: string): string {
  return `# Orders for the service mounted at / (the directory of an orders file is its URL path: api/orders serves /api).
# An orders file is bash, sourced by every ship in a clean environment after these verbs are defined:
#   autodeploy <git_url>[#<branch|tag|sha>]   the service's repo (a local path works too)
#   export NAME=value                         the service's env; the ship gives it PORT to listen on
#   unpublished                               build and run it, but route no HTTP to it
#   proxy_for <hostname>...                   also serve it as / of these virtual hosts
#   on <ship-or-tag>...                       run it only on these ships (names, or tags: ship --tag, HQ tags)
# Known env: BUILDPACK_URL (a git buildpack instead of the built-in node, python, static, procfile),
# HEALTHCHECK (the path that must answer 200 before a release takes traffic), HEALTHCHECK_TIMEOUT (seconds, 60),
# PUBLISH_PORT (also serve it on this port of the ship).
#
# The example: the "hello" service bundled with starphleet, which \`starphleet hq init\` committed on this
# repository's branch ${branch}, so it deploys with no network. When this HQ moves (pushed to a git host, with
# \`git push --all\`), point this line at its new URL#${branch}, or at your own service's repo.
autodeploy ${posixShellQuote(`${hqDir}#${branch}`)}
export GREETING="hello from a new headquarters"
# export HEALTHCHECK_TIMEOUT=60
`;
}

export const STARPHLEET_TEXT = `# Phleet-wide env: bash \`export NAME=value\` lines, sourced by every ship of this HQ.
# Every service gets these names, over its repo's .env and over its orders' exports (these win).
# The ship sets PORT, STARPHLEET_DEPLOY_TIME, STARPHLEET_DEPLOY_GITURL and STARPHLEET_SHIP itself.
#
# export BUILDPACK_URL=https://example.com/your-buildpack.git   # one git buildpack for every service
# export HEALTHCHECK_TIMEOUT=60                                 # seconds a new release has to answer 200
# export GREETING="set for every service"
`;

export function readmeText(keyFiles: readonly string[]): string {
  return `# Headquarters

This git repository says what a phleet of starphleet ships runs: every ship follows it, builds the services it
orders and serves them behind its HTTP front door. Made by \`starphleet hq init\`.

\`\`\`
orders              the service mounted at / (here: the bundled hello example)
<path>/orders       a service mounted at /<path>
authorized_keys/    the admirals: one OpenSSH public key per file (${keyFiles.join(', ')})
.starphleet         phleet-wide env for every service
jobs                cron lines: <5 cron fields> <url> (the ship GETs the url on schedule)
shipscripts/        executable scripts run on each ship at start and after every HQ change
tags                ship tags for orders' \`on\`: <ship> <tag>... per line (ships also tag themselves: ship --tag)
\`\`\`

Run a ship on it and drive it from your machine:

\`\`\`bash
starphleet hq check .                                  # problems as file:line: message; exit 1 if any
starphleet ship --headquarters "$PWD"                  # on the ship (a git URL of this repo works too)
starphleet remote add myship admiral@<ship>:2222       # on your machine: pins the ship's host key
starphleet -s myship status                            # any ship command, over your own ssh
\`\`\`

Commit a change and every ship follows it within a pulse. To let a colleague in, add their public key as a new
file in \`authorized_keys/\` and commit.
`;
}
