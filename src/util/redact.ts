/**
 * Credentials in URLs never reach status, logs, audit or the SFTP view: `https://user:secret@host/x` shows as
 * `https://***@host/x`. Any user info of http(s)/ftp URLs counts (a token alone is a credential there); for other
 * schemes (ssh://git@host) only a password does. scp-like `git@host:path` carries no secret and stays.
 */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*):\/\/([^\s/@'"<>]+)@/gi;

export function redactCredentials(text: string): string {
  return text.replace(URL_USERINFO, (whole, scheme: string, userinfo: string) => {
    const web = /^(https?|ftps?|wss?)$/i.test(scheme);
    return web || userinfo.includes(':') ? `${scheme}://***@` : whole;
  });
}
