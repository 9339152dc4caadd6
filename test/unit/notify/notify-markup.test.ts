import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { DesiredState } from '../../../src/headquarters/types.js';
import { bodyFor, fromAgentEvent } from '../../../src/notify/messages.js';
import { Notifier } from '../../../src/notify/notifier.js';
import { waitFor } from '../../helpers/wait.js';

/** A failure reason as a hostile build or service could word it (it quotes their output). */
const REASON = 'boom <!channel> <!here|x> <@U0123> @everyone @here <https://evil.example|click here> a & b > c [link](https://evil.example) *bold* `code` ||spoiler||';

describe('chat notifications escape their markup', () => {
  it('Slack and Mattermost get &, < and > escaped and no mention; Discord markdown escaped and mentions off', () => {
    const n = fromAgentEvent('ship1', { kind: 'deploy-finished', service: 'web', sha: 'a'.repeat(40), result: 'failed', release: null, reason: REASON, seconds: 1 });
    assert.ok(n);
    const slack = (JSON.parse(bodyFor('slack', n)) as { text: string }).text;
    assert.doesNotMatch(slack, /[<>]/);
    assert.match(slack, /&lt;!channel&gt; &lt;!here\|x&gt; &lt;@\u200bU0123&gt; @\u200beveryone @\u200bhere &lt;https:\/\/evil\.example\|click here&gt; a &amp; b &gt; c/);
    const discord = JSON.parse(bodyFor('discord', n)) as { content: string; allowed_mentions: { parse: string[] } };
    assert.deepEqual(discord.allowed_mentions, { parse: [] });
    assert.match(discord.content, /@\u200beveryone @\u200bhere/);
    assert.match(discord.content, /\\\[link\\\]\\\(https:\/\/evil\.example\\\) \\\*bold\\\* \\`code\\` \\\|\\\|spoiler\\\|\\\|/);
    assert.doesNotMatch(discord.content, /(^|[^\\])[<>[\]*`|]/);
    // The plain JSON event keeps the words exactly: it is data, not chat markup.
    assert.equal((JSON.parse(bodyFor('json', n)) as { reason: string }).reason, REASON);
  });

  it('the ship posts the escaped text to a Mattermost-style /hooks/ URL', async () => {
    const got: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        got.push(body);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const notifier = new Notifier('ship1', () => {}, { STARPHLEET_NOTIFY: `http://127.0.0.1:${port}/hooks/team` });
    try {
      notifier.desired({ env: {}, problems: [] } as unknown as DesiredState);
      notifier.agentEvent({ kind: 'deploy-finished', service: 'web', sha: 'b'.repeat(40), result: 'failed', release: null, reason: REASON, seconds: 2 });
      await waitFor(() => got.length > 0, 'the post', 10_000, 50);
      const text = (JSON.parse(got[0] as string) as { text: string }).text;
      assert.match(text, /^ship1: web: deploy of bbbbbbb FAILED: boom &lt;!channel&gt;/);
      assert.doesNotMatch(text, /<|@everyone/);
    } finally {
      notifier.stop();
      server.close();
    }
  });
});
