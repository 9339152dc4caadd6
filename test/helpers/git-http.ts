import { execFileSync } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { networkInterfaces } from 'node:os';
import { join, resolve, sep } from 'node:path';

/**
 * The first address of this machine that is not loopback: what a repo may name as a "public" git host (the ship
 * refuses loopback and link-local hosts for repo-named buildpacks). Throws when the machine has none.
 */
export function publicAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address to serve a public git repo on');
}

export interface GitHttpServer {
  /** `http://<public address>:<port>/<name>.git` for a repo published with publish(). */
  url(name: string): string;
  /** A bare copy of the repo at `src` (its branches and tags), served by git's dumb HTTP protocol as `<name>.git`. */
  publish(src: string, name: string): void;
  /** Every request's Authorization header ('' when none), in order. */
  readonly authorizations: string[];
  close(): Promise<void>;
}

/**
 * A static file server for bare repos (git's dumb HTTP protocol: `info/refs`, objects, HEAD), listening on the
 * machine's public address (or `host`). With `basicAuth`, every request without exactly those credentials gets 401;
 * with `redirectTo` (an origin), every other request is redirected there.
 */
export async function startGitHttp(root: string, o: { basicAuth?: { user: string; password: string }; host?: string; redirectTo?: string } = {}): Promise<GitHttpServer> {
  const host = o.host ?? publicAddress();
  const authorizations: string[] = [];
  const expected = o.basicAuth ? `Basic ${Buffer.from(`${o.basicAuth.user}:${o.basicAuth.password}`).toString('base64')}` : null;
  const server: Server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    authorizations.push(auth);
    if (expected !== null && auth !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
      return;
    }
    if (o.redirectTo !== undefined) {
      res.writeHead(302, { location: `${o.redirectTo}${req.url ?? '/'}` }).end();
      return;
    }
    const path = resolve(root, `.${decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)}`);
    let ok = false;
    try {
      ok = (path === root || path.startsWith(root + sep)) && statSync(path).isFile();
    } catch {
      ok = false;
    }
    if (!ok) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const port = (server.address() as { port: number }).port;
  return {
    url: (name) => `http://${host}:${port}/${name}.git`,
    publish(src, name) {
      const dest = join(root, `${name}.git`);
      execFileSync('git', ['clone', '-q', '--bare', src, dest], { stdio: 'ignore' });
      execFileSync('git', ['update-server-info'], { cwd: dest, stdio: 'ignore' });
    },
    authorizations,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
