/**
 * The small programs a sandbox is made of. They are strings, written into the run dir (the launcher) or handed to
 * bwrap as data (init, bridge), so nothing of the ship's install has to be mounted into a sandbox.
 */

/**
 * Runs as root on the ship, in the process group the ship records ($0 is <run dir>/launch, its argv0 the short title
 * `starphleet: <service> web.1 <release>`): joins the cgroup, starts bwrap as the sandbox's uid (setpriv: no groups,
 * no capabilities, empty bounding set) with its arguments read from a file (--args), waits for bwrap's child and,
 * on the direct path, joins its network namespace to the ship's bridge (a veth pair, the address the ship leased, a
 * default route through the bridge, and for a routed instance a DNAT of PORT to its loopback so an app that listens
 * on 127.0.0.1 is reached too); only then lets the sandbox run (--block-fd). The veth goes with the namespace.
 * Everything it reads is in the run dir, which only root can write: launch.conf (shell-quoted settings), args and
 * tail (bwrap's options, and the command after `--`, which bwrap wants on its command line), env
 * (the service's env: given to bwrap as a file on fd 5, never to a root process's environment, and removed once
 * bwrap holds it), init, command and bridge.js (fds 6-8, each becomes a file under /run/starphleet in the sandbox).
 * `0<&0`: bash gives a background job /dev/null as stdin unless it is redirected; a one-off needs the caller's stdin.
 */
export const LAUNCHER = String.raw`
run=${"$"}{0%/*}
. "$run/launch.conf" || exit 125
IFS=:
for f in $procs; do
  if [ -n "$f" ] && ! echo $$ > "$f"; then echo "starphleet: cannot join cgroup $f" >&2; exit 125; fi
done
unset IFS
# The run dir is made afresh for each start (prepareSandbox): no go or info file is there yet.
mkfifo -m 600 "$run/go" || exit 125
exec 4<>"$run/go"
drop=()
if [ "$uid" != - ]; then drop=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --); fi
mapfile -d '' tail < "$run/tail"
"${"$"}{drop[@]}" bwrap --info-fd 3 --block-fd 4 --args 9 -- "${"$"}{tail[@]}" 3>"$run/info" 9<"$run/args" 5<"$run/env" 6<"$run/init" 7<"$run/command" 8<"$run/bridge.js" 0<&0 &
bw=$!
cp=
pid_re='"child-pid": *([0-9]+)'
while kill -0 $bw 2>/dev/null; do
  if [ -s "$run/info" ]; then
    IFS= read -r -d '' info < "$run/info"
    if [[ $info =~ $pid_re ]]; then cp=${"$"}{BASH_REMATCH[1]}; break; fi
  fi
  # A 10 ms wait without a process: nothing is written to the go fifo before the loop ends.
  read -r -t 0.01 -u 4 _
done
# bwrap holds the env file open (fd 5) by now: its values (HQ secrets among them) stay on no disk after the start.
rm -f "$run/env"
inner='set -e
echo 1 > /proc/sys/net/ipv6/conf/eth0/disable_ipv6 || true
printf "addr add %s/%s dev eth0\nlink set eth0 up\nroute add default via %s\n" "$1" "$2" "$3" | ip -batch -
if [ -n "$4" ]; then
  echo 1 > /proc/sys/net/ipv4/conf/eth0/route_localnet
  printf "table ip starphleet {
 chain pre {
  type nat hook prerouting priority dstnat; policy accept;
  iifname "eth0" tcp dport %s dnat ip to 127.0.0.1
 }
}
" "$4" | nft -f -
fi'
netup() {
  ip -batch - <<EOF || return
link add $veth type veth peer name eth0 netns $cp
link set $veth master $bridge
link set dev $veth type bridge_slave isolated on
EOF
  { echo 1 > "/proc/sys/net/ipv6/conf/$veth/disable_ipv6" || true; }
  ip link set "$veth" up &&
  nsenter -t "$cp" -n /bin/sh -c "$inner" sh "$addr" "$prefix" "$gw" "$port"
}
# Whether a process runs (not gone, not a zombie): bwrap names its child before it mounts anything, and a child that
# failed to mount takes its namespace with it; the failure is then bwrap's own (it said why), not the network's.
alive() {
  local s
  { read -r s < "/proc/$1/stat"; } 2>/dev/null || return 1
  s=${"$"}{s##*) }
  case ${"$"}{s%% *} in Z|X|x) return 1 ;; esac
}
if [ -n "$cp" ] && [ "$net" = direct ] && ! netup >"$run/net.log" 2>&1; then
  # A child that failed to mount is on its way out, and its namespace can go before it is a zombie ("RTNETLINK
  # answers: No such process" while it still looks alive): up to 0.2 s for it to be gone before blaming the network.
  for _ in 1 2 3 4 5 6 7 8 9 10; do alive $cp || break; read -r -t 0.02 -u 4 _; done
  if alive $cp; then echo "starphleet: network setup failed: $(cat "$run/net.log")" >&2; { kill -KILL $bw; wait $bw; } 2>/dev/null; exit 125; fi
fi
echo go >&4
exec 4>&-
wait $bw
`;

/**
 * PID 1 of an instance's sandbox (bwrap --as-pid-1, run as `bash /run/starphleet/init [relay socket]`): loads the env
 * file, starts the bridge when there is one (the fallback path without root), runs the app (/run/starphleet/command)
 * in a session of its own. SIGTERM from the ship goes to the app's whole group (bwrap itself never sees it, so the
 * sandbox stays up while the app finishes); once the group is gone the bridge flushes and pid 1 exits, which ends the
 * sandbox. An app that exits on its own ends the sandbox at once.
 */
export const INSTANCE_INIT = String.raw`
while IFS= read -r -d '' kv; do export "$kv"; done < /run/starphleet/env
relay=
if [ -n "$1" ]; then node /run/starphleet/bridge.js "$1" "$PORT" & relay=$!; fi
setsid bash /run/starphleet/command &
app=$!
stopping=
trap 'stopping=1; kill -TERM -- -$app 2>/dev/null' TERM
while :; do
  wait $app
  rc=$?
  kill -0 $app 2>/dev/null || break
done
if [ -n "$stopping" ]; then
  while kill -0 -- -$app 2>/dev/null; do sleep 0.1; done
  if [ -n "$relay" ]; then kill -TERM $relay 2>/dev/null; wait $relay; fi
fi
exit $rc
`;

/** PID 1 of a build step's sandbox (`bash /run/starphleet/init <argv...>`): loads the env file and runs the step. */
export const STEP_INIT = String.raw`
while IFS= read -r -d '' kv; do export "$kv"; done < /run/starphleet/env
"$@"
`;

/**
 * The bridge, in the instance's sandbox, only on the fallback path (a ship that is not root, so no boundary between
 * the ship and its sandboxes): a unix socket (in a dir the front door reaches) relayed to the app's 127.0.0.1:PORT in
 * the sandbox's own network namespace. On SIGTERM it stops accepting and exits once its open
 * connections are done, so a response in flight is not cut.
 */
export const BRIDGE = String.raw`
const net = require('net'), fs = require('fs');
const sock = process.argv[2], port = Number(process.argv[3]);
try { fs.unlinkSync(sock); } catch {}
let open = 0, closing = false;
const done = () => { if (closing && open === 0) process.exit(0); };
const srv = net.createServer((c) => {
  open++;
  const u = net.connect({ port, host: '127.0.0.1' });
  c.setNoDelay(true);
  u.setNoDelay(true);
  c.pipe(u);
  u.pipe(c);
  let n = 2;
  const closed = () => { if (--n === 0) { open--; done(); } };
  c.once('close', closed);
  u.once('close', closed);
  c.on('error', () => u.destroy());
  u.on('error', () => c.destroy());
});
srv.listen(sock, () => fs.chmodSync(sock, 0o660));
process.on('SIGTERM', () => { closing = true; srv.close(); done(); });
`;
