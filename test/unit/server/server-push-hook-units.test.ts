import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { controlSocketPath } from '../../../src/commands/control/control-wire.js';
import { ensurePushRepo } from '../../../src/server/git/push-repo.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('the pre-receive hook speaks the control wire through relayControl (server/push-repo.ts)', () => {
  test('sends push-build with the ref updates, relays out/err, exits with the ship\'s code', async () => {
    const data = tmpDir();
    const repo = join(data, 'push', 'x.git');
    await ensurePushRepo(data, repo);
    let request = '';
    const server = createServer((sock) => {
      sock.on('data', (d) => {
        request += d.toString('utf8');
        if (!request.endsWith('\n')) return;
        // Split across writes on purpose: the hook must frame lines itself.
        sock.write('{"out":"built "}\n{"err":"warn\\n"}\n{"ou');
        setTimeout(() => sock.end('t":"ok\\n"}\n{"exit":3}\n'), 20);
      });
    });
    await new Promise<void>((r) => server.listen(controlSocketPath(data), () => r()));
    try {
      const child = spawn(process.execPath, [join(repo, 'hooks', 'starphleet-pre-receive.mjs')], { env: { PATH: process.env.PATH ?? '', STARPHLEET_PUSH_ID: 'p1', GIT_QUARANTINE_PATH: '/q' } });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.stdin.end('a b refs/heads/main\n');
      const code = await new Promise<number | null>((r) => child.on('close', r));
      assert.deepEqual(JSON.parse(request), { argv: ['push-build', 'p1', '/q', 'a b refs/heads/main'] });
      assert.equal(out, 'built ok\n');
      assert.equal(err, 'warn\n');
      assert.equal(code, 3);
    } finally {
      server.close();
    }
  });
});
