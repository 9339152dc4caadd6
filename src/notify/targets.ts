/**
 * STARPHLEET_NOTIFY: space-separated http(s) URLs. What each one receives depends on the URL alone:
 * - Discord (host discord.com, discordapp.com or a subdomain, path /api/webhooks/...): `{"content": text}`;
 * - Slack and Mattermost style (host hooks.slack.com, or any path with a `hooks` segment followed by more, such as
 *   Mattermost's /hooks/<id>): `{"text": text}`;
 * - anything else: the whole event as JSON (see Notification in messages.ts).
 */
export type NotifyStyle = 'json' | 'slack' | 'discord';

export interface NotifyTarget {
  readonly url: string;
  readonly style: NotifyStyle;
  /** How logs name it: scheme, host and port only (a webhook path is its secret). */
  readonly label: string;
}

export function styleOf(u: URL): NotifyStyle {
  const host = u.hostname.toLowerCase();
  const segments = u.pathname.split('/').filter((s) => s !== '');
  if ((host === 'discord.com' || host === 'discordapp.com' || host.endsWith('.discord.com') || host.endsWith('.discordapp.com')) && segments[0] === 'api' && segments[1] === 'webhooks') return 'discord';
  if (host === 'hooks.slack.com') return 'slack';
  const i = segments.indexOf('hooks');
  if (i >= 0 && i < segments.length - 1) return 'slack';
  return 'json';
}

export interface ParsedTargets {
  readonly targets: readonly NotifyTarget[];
  /** One message per word that is not a URL we post to (named for where it was set). */
  readonly problems: readonly string[];
}

/** where: how the setting is named in messages (`.starphleet STARPHLEET_NOTIFY`). */
export function parseTargets(raw: string | undefined, where: string): ParsedTargets {
  const targets: NotifyTarget[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const word of (raw ?? '').split(/\s+/).filter((w) => w !== '')) {
    let u: URL;
    try {
      u = new URL(word);
    } catch {
      problems.push(`${where}: not a URL: ${JSON.stringify(word.length > 40 ? `${word.slice(0, 40)}...` : word)}`);
      continue;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      problems.push(`${where}: only http and https URLs are posted to, got ${u.protocol}//${u.host}`);
      continue;
    }
    if (seen.has(u.href)) continue;
    seen.add(u.href);
    targets.push({ url: u.href, style: styleOf(u), label: `${u.protocol}//${u.host}` });
  }
  return { targets, problems };
}
