/**
 * The three small programs a sandbox is made of. They are strings (run with `bash -c` / `node -e`) so nothing of the
 * ship's install has to be mounted into a sandbox.
 */

/**
 * Runs as root on the ship, in the process group the ship records: joins the cgroup, starts bwrap as the sandbox
 * user (setpriv: no groups, no capabilities, empty bounding set), waits for bwrap's child, gives its network namespace
 * a slirp4netns uplink and only then lets the sandbox run (--block-fd). It ends with bwrap, taking slirp4netns along.
 * Args: run dir, cgroup.procs files (':'-separated), uid, gid ('-' = do not switch), net (slirp|none), bwrap args.
 * Its env is the ship's minimal one: the service's env reaches the sandbox only as a file (--ro-bind-data), so none of
 * it (LD_PRELOAD, BASH_ENV...) ever applies to a root process. `0<&0`: bash gives a background job /dev/null as
 * stdin unless it is redirected; a one-off (`starphleet run`) needs the caller's stdin and terminal.
 */
export const LAUNCHER = String.raw`
run=$1 procs=$2 uid=$3 gid=$4 net=$5
shift 5
IFS=:
for f in $procs; do
  if [ -n "$f" ] && ! echo $$ > "$f"; then echo "starphleet: cannot join cgroup $f" >&2; exit 125; fi
done
unset IFS
rm -f "$run/go" "$run/info" "$run/ready"
mkfifo -m 600 "$run/go" || exit 125
exec 4<>"$run/go"
drop=()
if [ "$uid" != - ]; then drop=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --inh-caps=-all --bounding-set=-all --); fi
"${"$"}{drop[@]}" bwrap --info-fd 3 --block-fd 4 --ro-bind-data 5 /run/starphleet/env "$@" 3>"$run/info" 5<"$run/env" 0<&0 &
bw=$!
cp=
while kill -0 $bw 2>/dev/null; do
  if [ -s "$run/info" ]; then
    cp=$(sed -n 's/.*"child-pid": *\([0-9][0-9]*\).*/\1/p' "$run/info")
    [ -n "$cp" ] && break
  fi
  sleep 0.02
done
# bwrap holds the env file open (fd 5) by now: its values (HQ secrets among them) stay on no disk after the start.
rm -f "$run/env"
sl=
if [ -n "$cp" ] && [ "$net" = slirp ]; then
  # --exit-fd: slirp4netns ends when the last writer of this fifo (this launcher, the sandbox) is gone, however it ends.
  mkfifo -m 600 "$run/alive" && exec 7<>"$run/alive"
  slirp4netns --configure --mtu=65520 --enable-sandbox --enable-seccomp --ready-fd=6 --exit-fd=8 --netns-type=path "/proc/$cp/ns/net" tap0 6>"$run/ready" 8<"$run/alive" 7>&- >"$run/slirp.log" 2>&1 &
  sl=$!
  until [ -s "$run/ready" ]; do
    if ! kill -0 $sl 2>/dev/null; then
      # bwrap gone too (its own setup failed, and said so): its namespace went with it, and slirp's error is noise.
      # The pause lets bash reap a bwrap that ended at the same moment, which kill -0 would still find.
      sleep 0.1
      if kill -0 $bw 2>/dev/null; then echo "starphleet: slirp4netns failed: $(cat "$run/slirp.log")" >&2; kill -KILL $bw 2>/dev/null; fi
      break
    fi
    sleep 0.02
  done
fi
echo go >&4
exec 4>&-
wait $bw
rc=$?
[ -n "$sl" ] && kill $sl 2>/dev/null && wait $sl
exit $rc
`;

/**
 * PID 1 of an instance's sandbox (bwrap --as-pid-1): loads the env file, starts the bridge, runs the app in a session
 * of its own. SIGTERM from the ship goes to the app's whole group (bwrap itself never sees it, so the sandbox stays up
 * while the app finishes); once the group is gone the bridge flushes and pid 1 exits, which ends the sandbox.
 * An app that exits on its own ends the sandbox at once. Args: the command script, the bridge's socket ('' when there
 * is no bridge) and the bridge's code.
 */
export const INSTANCE_INIT = String.raw`
while IFS= read -r -d '' kv; do export "$kv"; done < /run/starphleet/env
relay=
if [ -n "$2" ]; then node -e "$3" "$2" "$PORT" & relay=$!; fi
setsid bash -c "$1" &
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

/** PID 1 of a build step's sandbox: loads the env file and runs the step (its argv follows). */
export const STEP_INIT = String.raw`
while IFS= read -r -d '' kv; do export "$kv"; done < /run/starphleet/env
"$@"
`;

/**
 * The bridge, in the instance's sandbox: a unix socket (in a dir the front door reaches) relayed to the app's
 * 127.0.0.1:PORT in the sandbox's own network namespace. On SIGTERM it stops accepting and exits once its open
 * connections are done, so a response in flight is not cut.
 */
export const BRIDGE = String.raw`
const net = require('net'), fs = require('fs');
const sock = process.argv[1], port = Number(process.argv[2]);
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
