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
 * The ship's unit. It runs as root: the ship switches to the sandbox user for builds and instances, binds the low
 * HTTP/HTTPS ports, and gives admirals a root shell (as the original Starphleet's sudoers did).
 * - ExecStart is the update launcher (<data>/bin/ship): versions/current, falling back to versions/previous.
 * - Type=notify: the ship says READY=1 once it serves. `ssh update@ship` starts the new version as a child of the
 *   old one, which then exits 0; the new ship sends MAINPID=<its pid> before the old one goes, so systemd keeps
 *   tracking the ship that runs (NotifyAccess=all: the ship is not the process systemd started).
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
NotifyAccess=all
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

[Install]
WantedBy=multi-user.target
`;
}
