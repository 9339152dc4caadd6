import type { ServerResponse } from 'node:http';
import type { CommandShip } from '../commands/command.js';
import { logsCommand } from '../commands/logs.js';

/** Comment lines keep an idle stream open through the data plane and any proxy in front of it. */
const HEARTBEAT_MS = 15_000;

/**
 * A service's logs as server-sent events (read by app.js with fetch, which can send the session header): the same
 * lines `starphleet logs <service> -f -n 100` prints (it is that command: the instances that serve now, labelled, moving
 * with each deploy), one `data:` event per line, until the browser goes away or `stillIn()` says the session ended.
 */
export function streamLogs(res: ServerResponse, ship: CommandShip, service: string, headers: Readonly<Record<string, string>>, stillIn: () => boolean): void {
  res.writeHead(200, { ...headers, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  res.write(': following\n\n');
  const stop = new AbortController();
  let partial = '';
  const send = (text: string): void => {
    if (res.destroyed) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    // A line is one event: `data:` cannot carry a CR or LF, so none is left in it.
    if (lines.length > 0) res.write(lines.map((l) => `data: ${l.replace(/\r/g, '')}\n\n`).join(''));
  };
  const beat = setInterval(() => {
    if (!stillIn()) {
      res.end('event: logout\ndata: the session ended\n\n');
      stop.abort();
      return;
    }
    res.write(': .\n\n');
  }, HEARTBEAT_MS);
  res.on('close', () => {
    clearInterval(beat);
    stop.abort();
  });
  void logsCommand
    .run([service, '-f', '-n', '100'], { ship, caller: { via: 'cli' }, out: send, err: send, signal: stop.signal })
    .catch((e: unknown) => send(`(log stream failed: ${(e as Error).message})\n`))
    .finally(() => {
      clearInterval(beat);
      if (!res.writableEnded) res.end();
    });
}
