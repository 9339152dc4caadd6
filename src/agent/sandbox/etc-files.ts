import { readFileSync } from 'node:fs';
import { hostResolvers } from './net-ship.js';
import type { SandboxUser } from './user.js';

/** What the sandbox's network looks like from inside: the direct path's gateway, or no network of its own. */
export type SandboxNetView = { readonly kind: 'direct'; readonly gateway: string; readonly dnsLoopback: string | null } | { readonly kind: 'none' };

/** The name an instance reaches the ship's allowed ports by (STARPHLEET_HOST_PORTS). */
export const SHIP_HOST_NAME = 'ship.internal';

function readOr(path: string, dflt: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return dflt;
  }
}

/**
 * The /etc files a sandbox gets instead of the host's: resolv.conf and hosts for its network (`ship.internal` is the
 * gateway), and a passwd/group that name only root, nobody and the sandbox's own uid (`app`, HOME /app) — the host's
 * accounts are none of a service's business, and a uid without a name breaks tools that look it up —, and the sandbox's
 * own hostname (what `hostname` says there), not the host's.
 */
export function sandboxEtc(net: SandboxNetView, user: SandboxUser, hostname: string): Record<string, string> {
  const hosts = `${readOr('/etc/hosts', '127.0.0.1\tlocalhost\n').replace(/\n*$/, '\n')}127.0.1.1\t${hostname}\n`;
  let resolv: string;
  if (net.kind === 'direct') {
    const r = hostResolvers();
    const servers = r.servers.length > 0 ? r.servers : [net.gateway];
    resolv = [...servers.slice(0, 3).map((s) => `nameserver ${s}`), ...r.rest].join('\n') + '\n';
  } else resolv = readOr('/etc/resolv.conf', '');
  const shipLine = net.kind === 'direct' ? `${net.gateway}\t${SHIP_HOST_NAME}\n` : '';
  const name = user.uid === 0 ? 'root' : 'app';
  return {
    'resolv.conf': resolv,
    hosts: hosts + shipLine,
    passwd: `root:x:0:0:root:/root:/usr/sbin/nologin\n${user.uid === 0 ? '' : `app:x:${user.uid}:${user.gid}:app:/app:/bin/bash\n`}nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`,
    group: `root:x:0:\n${user.gid === 0 ? '' : `${name}:x:${user.gid}:\n`}nogroup:x:65534:\n`,
    hostname: `${hostname}\n`,
  };
}
