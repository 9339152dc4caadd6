/** What the ship's systemd unit says; install.ts decides the values. */
export interface UnitSpec {
  readonly dataDir: string;
  readonly sandboxUser: string;
  /** `ship` flags after --data (the launcher adds that one), e.g. ['--http-port', '80']. */
  readonly shipArgs: readonly string[];
  /** Optional env file for settings (STARPHLEET_HEADQUARTERS, STARPHLEET_REMOTE, ...). */
  readonly envFile: string;
  readonly docs: string;
}

/** One ExecStart= word: systemd splits on spaces and expands `%` specifiers and `$` variables, so quote and escape. */
export function unitWord(word: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(word)) throw new Error(`a unit file cannot hold ${JSON.stringify(word)}: control characters`);
  const escaped = word.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_@+=:,./#%$-]+$/.test(escaped) ? escaped : `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * What systemd may take from the ship, and what it must leave it (docs/notes.md has `systemd-analyze security`):
 * - taken: setuid/setgid/file-capability gains (NoNewPrivileges: the ship is root already, and drops to the
 *   services' uids with setpriv, never through a setuid binary), making setuid/setgid files (RestrictSUIDSGID), a
 *   shared /tmp (PrivateTmp: sandboxes have their /tmp on their volumes), loading kernel modules or reading the kernel
 *   log (ProtectKernelModules, ProtectKernelLogs), realtime scheduling, personality changes, foreign syscall ABIs,
 *   address families other than unix, IPv4/6 and netlink, and every capability not in the bounding set below.
 * - left: ProtectSystem and ProtectHome (an admiral's `ssh admiral@ship` shell runs in this unit and is the
 *   machine's root shell: apt, /etc, /home); ProtectControlGroups (the ship makes the sandboxes' cgroups),
 *   ProtectKernelTunables (it sets net.ipv4.ip_forward and per-interface sysctls), PrivateDevices and ProtectClock
 *   (both close the device policy, and the volumes are loop devices), PrivateNetwork/RestrictNamespaces/
 *   ProtectHostname (bubblewrap makes every namespace and sets the sandbox's hostname), MemoryDenyWriteExecute
 *   (Node's JIT), a SystemCallFilter (mount, setns, unshare, keyctl... are the ship's daily work).
 */
const HARDENING = [
  'NoNewPrivileges=yes',
  'RestrictSUIDSGID=yes',
  'PrivateTmp=yes',
  'ProtectKernelModules=yes',
  'ProtectKernelLogs=yes',
  'LockPersonality=yes',
  'RestrictRealtime=yes',
  'SystemCallArchitectures=native',
  'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
  // chown/DAC: it gives the services their dirs; KILL/SETUID/SETGID/SETPCAP: it drops to their uids (setpriv clears
  // the bounding set: SETPCAP); NET_ADMIN/NET_RAW: bridge, veths, nftables; NET_BIND_SERVICE: ports 80/443;
  // SYS_ADMIN: mounts (volumes), setns (nsenter); SYS_PTRACE: /proc of the services' processes; SYS_CHROOT: bwrap's
  // pivot_root; SYS_RESOURCE: rlimits; MKNOD: loop devices; AUDIT_WRITE: what login tools of an admiral's shell log.
  'CapabilityBoundingSet=CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETUID CAP_SETGID CAP_SETPCAP CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE CAP_SYS_ADMIN CAP_SYS_PTRACE CAP_SYS_CHROOT CAP_SYS_RESOURCE CAP_MKNOD CAP_AUDIT_WRITE',
];

/**
 * The ship's unit. It runs as root: the ship switches to each service's own uid for its builds and instances, binds
 * the low HTTP/HTTPS ports, makes the instances' network and volumes, and gives admirals a root shell (as the
 * original Starphleet's sudoers did).
 * - ExecStart is the update launcher (<data>/bin/ship): versions/current, falling back to versions/previous.
 * - Type=notify, NotifyAccess=main: only the ship systemd tracks may notify. The ship says READY=1 once it serves;
 *   `ssh update@ship` starts the new version as a child of the old one, which sends MAINPID=<the new pid> in the
 *   old ship's name (systemd-notify --pid, root may) before it exits 0, so the new ship is the main process from then.
 * - KillMode=process: stopping or restarting the ship leaves its instances running (the next ship adopts them) and
 *   does not kill the new ship during a hand-over.
 */
export function renderUnit(u: UnitSpec): string {
  const exec = [`${u.dataDir}/bin/ship`, ...u.shipArgs].map(unitWord).join(' ');
  return `# Written by \`starphleet install\`; \`starphleet uninstall\` removes it. Settings: ${u.envFile}
[Unit]
Description=starphleet ship (data ${u.dataDir})
Documentation=${u.docs}
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
NotifyAccess=main
ExecStart=${exec}
EnvironmentFile=-${unitWord(u.envFile)}
Environment=${unitWord(`STARPHLEET_DATA=${u.dataDir}`)} ${unitWord(`STARPHLEET_SANDBOX_USER=${u.sandboxUser}`)}
KillMode=process
Restart=on-failure
RestartSec=5
# The first start clones HQ; a hand-over waits up to STARPHLEET_HANDOVER_GRACE (60 s) for sessions to end.
TimeoutStartSec=300
TimeoutStopSec=120
LimitNOFILE=65536
# Hardening: what the ship can live without (see the comment of HARDENING in src/install/unit.ts).
${HARDENING.join('\n')}

[Install]
WantedBy=multi-user.target
`;
}
