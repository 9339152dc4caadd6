import type { CommandMeta } from '../command.js';

/**
 * The traffic commands (maintenance, pause, resume, rollout; their code is in commands/traffic/) as metadata,
 * what `starphleet <name> --help` prints. Each implementation spreads its entry into its ShipCommand.
 */

export const maintenanceMeta = {
  name: 'maintenance',
  summary: 'put a service under maintenance (503 with Retry-After and a page) or take it out',
  usage: '<service> on [--message TEXT] [--page FILE] [--allow PATH]... [--retry-after S] | off',
  details: `on: every request to the service gets 503 with Retry-After and a page: the HTML page of --page (read where
this command runs, at most 32 KiB) for clients that accept text/html, the message as plain text for the others.
The paths of --allow (under the service's mount, e.g. /up) and what is below them still reach the instances.
  --message TEXT     the text (default: "<service> is down for maintenance")
  --page FILE        an HTML page for browsers (default: one made of the message)
  --allow PATH       a path that still passes (repeatable)
  --retry-after S    Retry-After in seconds (default 60)
off: the service answers again. HQ's orders can say \`maintenance [message]\` too (every ship): that wins while
the orders say so; the admiral's page, Retry-After and allowed paths still apply to it. Audited with the
admiral's key. starphleet status shows who put the service under maintenance.`,
  examples: [
    'starphleet maintenance shop on --message "Back at 14:00" --allow /up',
    'starphleet maintenance shop on --page /srv/pages/maintenance.html --retry-after 600',
    'starphleet maintenance shop off',
    'ssh -p 2222 admiral@ship starphleet maintenance shop on',
  ],
} as const satisfies CommandMeta;

export const pauseMeta = {
  name: 'pause',
  summary: 'hold a service\'s new requests (after the ones in flight finish) until resume',
  usage: '<service> [--max-pause 30s]',
  details: `From now on the service's new requests wait at the data plane (WebSockets already open stay open); the
command returns once the requests in flight have finished (at most STARPHLEET_PAUSE_DRAIN, 10 s). starphleet resume
sends the held requests on, oldest first. A request held longer than --max-pause (default STARPHLEET_MAX_PAUSE, 30 s;
at most 1 h) is answered 503 with Retry-After; the service stays paused. At most STARPHLEET_PAUSE_QUEUE (5000)
requests wait per data plane process: more get 503 at once. A ship restart keeps the pause (and what is held).`,
  examples: ['starphleet pause shop', 'starphleet pause shop --max-pause 2m', 'ssh -p 2222 admiral@ship starphleet pause shop'],
} as const satisfies CommandMeta;

export const resumeMeta = {
  name: 'resume',
  summary: 'end a pause: the held requests go on, oldest first',
  usage: '<service>',
  details: `Ends starphleet pause (and a deploy's release_pause, if one was left by a ship that stopped during it):
requests held at the data plane are sent on in the order they came, to the release that serves now.`,
  examples: ['starphleet resume shop', 'ssh -p 2222 admiral@ship starphleet resume shop'],
} as const satisfies CommandMeta;

export const rolloutMeta = {
  name: 'rollout',
  summary: 'send a share of a service\'s clients to its new release (promote or abort ends it)',
  usage: '<service> --percent N [--header NAME:VALUE]... [--cookie NAME=VALUE]... | promote | abort',
  details: `Set before or during a deploy: the deploy starts the new release as usual (health checks) but keeps the
release that served before running; the new one gets N% of clients, picked by the hash of a cookie the data plane
sets (starphleet_rollout: a client stays on its side), plus every request with one of the --header or --cookie
values; the previous release serves the rest. Set again during a rollout: the new share applies at once. A deploy
during a rollout replaces the new side; the previous release stays.
  promote   the new release serves every client; the previous one drains and stops
  abort     the previous release serves every client again, pinned as by starphleet rollback (until the ref moves
            or starphleet unpin); the new one drains and stops
The rollout aborts by itself when an instance of the new release exits or fails its health check twice in a row.
Canary ships (HQ canary) go first as before: a rollout is inside one ship.`,
  examples: ['starphleet rollout shop --percent 10', 'starphleet rollout shop --percent 0 --header X-Beta:1 --cookie beta=yes', 'starphleet rollout shop promote', 'starphleet rollout shop abort'],
} as const satisfies CommandMeta;
