import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder a test can cut like a network partition: while cut, connections are accepted and never answered
 * (as a firewall that drops packets: the client waits for its own time-out), and the open ones are cut too.
 */
export interface TcpGate {
  readonly port: number;
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export function startTcpGate(target: { host: string; port: number }, listenPort = 0): Promise<TcpGate> {
  let cut = false;
  const open = new Set<Socket>();
  const server: Server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (cut) return;
    const upstream = connect(target.port, target.host);
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve) => {
    server.listen(listenPort, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        port,
        cut() {
          cut = true;
          for (const s of open) s.destroy();
        },
        heal() {
          cut = false;
          for (const s of open) s.destroy();
        },
        close: () =>
          new Promise<void>((r) => {
            for (const s of open) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}
