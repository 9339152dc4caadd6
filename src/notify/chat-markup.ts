/**
 * Chat texts quote what others wrote (a failure's reason holds a build's or a service's words, an HQ problem a file's
 * name), so every text is escaped for the markup of where it goes: nobody can ping a channel, forge a link or a
 * mention through a notification.
 */

/** A zero-width space after `@`: `@channel`, `@here`, `@all`, `@everyone`, `@someone` read the same and ping nobody. */
const mentions = (s: string): string => s.replace(/@(?=[\p{L}\p{N}_.-])/gu, '@\u200b');

/**
 * Slack (and Mattermost, which reads Slack's payloads): `&`, `<` and `>` are the three characters Slack asks to be
 * escaped, which turns `<!channel>`, `<@U123>` and `<https://evil|click here>` into plain text; Mattermost parses
 * plain `@channel` as a mention, hence mentions() too.
 */
export function slackText(text: string): string {
  return mentions(text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

/**
 * Discord: its markdown characters backslash-escaped (no masked link, heading, spoiler or code fence), and no
 * mention pings (the body says allowed_mentions: none as well).
 */
export function discordText(text: string): string {
  return mentions(text.replace(/[\\*_~`|>#[\]()<]/g, (c) => `\\${c}`));
}
