import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { waitFor } from './wait.js';

/**
 * A stand-in for the Internet on this host: a TCP server in a network namespace of its own, joined to the host by a
 * veth pair on a benchmark address (198.18.0.0/15, RFC 2544), so an instance reaches it only by being routed through
 * the host (forwarded and masqueraded), as it would reach a server elsewhere. The veth goes with the namespace when
 * close() ends the server.
 */
export interface Outside {
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

const SERVER = `require('node:net').createServer((c) => c.end('hello from outside')).listen(7000, '0.0.0.0', () => console.log('ready'));`;

export async function outsideStandIn(tag: string): Promise<Outside> {
  const h = createHash('sha256').update(tag).digest();
  const name = `spo${h.toString('hex').slice(0, 11)}`;
  const net = `198.${18 + ((h[0] as number) & 1)}.${h[1]}.${((h[2] as number) % 64) * 4}`;
  const [a, b, c, d] = net.split('.').map(Number) as [number, number, number, number];
  const hostIp = `${a}.${b}.${c}.${d + 1}`;
  const address = `${a}.${b}.${c}.${d + 2}`;
  const child: ChildProcess = spawn('unshare', ['--net', '--', process.execPath, '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (x: Buffer) => (out += x.toString()));
  await waitFor(() => out.includes('ready'), 'the outside server', 10_000);
  const pid = String(child.pid);
  execFileSync('ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pid]);
  execFileSync('ip', ['addr', 'add', `${hostIp}/30`, 'dev', name]);
  execFileSync('ip', ['link', 'set', name, 'up']);
  execFileSync('nsenter', ['-t', pid, '-n', 'sh', '-c', `ip link set lo up && ip addr add ${address}/30 dev eth0 && ip link set eth0 up && ip route add default via ${hostIp}`]);
  return {
    address,
    port: 7000,
    close: async () => {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}
