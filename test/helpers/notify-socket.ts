import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { tmpDir } from './tmp.js';
import { waitFor } from './wait.js';
import { PYTHON } from './python.js';

/**
 * A stand-in for systemd's notify socket: a unix datagram socket (NOTIFY_SOCKET) that records each message. Node 20
 * cannot bind one, so python3 does; it closes the fd of a BARRIER=1 message as systemd does, so a blocking
 * `systemd-notify` returns.
 */
const READER = `
import array, json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print(json.dumps("listening"), flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
    for level, kind, cdata in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(cdata[: len(cdata) - len(cdata) % fds.itemsize])
            for fd in fds:
                os.close(fd)
    print(json.dumps(data.decode("utf8", "replace")), flush=True)
`;

export interface NotifySocket {
  readonly path: string;
  /** Every datagram so far, as key=value maps (BARRIER=1 handshakes left out). */
  messages(): Record<string, string>[];
  close(): Promise<void>;
}

export async function notifySocket(): Promise<NotifySocket> {
  const path = join(tmpDir('sp-notify-'), 'notify.sock');
  const child: ChildProcess = spawn(PYTHON, ['-c', READER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  const parsed = (): string[] => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as string);
  await waitFor(() => parsed().includes('listening'), 'the notify stand-in to listen', 15_000);
  return {
    path,
    messages: () =>
      parsed()
        .slice(1)
        .filter((m) => m !== 'BARRIER=1')
        .map((m) => Object.fromEntries(m.split('\n').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))),
    close: () =>
      new Promise((r) => {
        if (child.exitCode !== null || child.signalCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGKILL');
      }),
  };
}
