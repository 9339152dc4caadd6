/**
 * A service's URL as status and the dashboard show it: the front door's address (the public host when it listens on
 * every address), its port (the data plane's once known), the mount with a trailing slash.
 */
export function serviceUrl(http: { readonly listen: string; readonly port: number } | null, publicHost: string, doorPort: number | undefined, mount: string): string {
  const listen = http?.listen ?? '127.0.0.1';
  const host = listen === '0.0.0.0' || listen === '::' ? publicHost : listen.includes(':') ? `[${listen}]` : listen;
  return `http://${host}:${doorPort ?? http?.port ?? 0}${mount === '/' ? '/' : `${mount}/`}`;
}
