import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { admiral, LiveCli, makeLaptop, shipFingerprint, type Laptop } from '../../helpers/admiral.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { gitIn } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { httpGet } from '../../helpers/phleet.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** `starphleet -s <ship> push` from a fresh app repo: the git remote is added, the build streams, the URL is printed. */
let s: SshShip;
let laptop: Laptop;
const lives: LiveCli[] = [];

before(async () => {
  s = await startSshShip();
  laptop = makeLaptop(s.admiral);
  const add = await admiral(laptop, ['remote', 'add', 'prod', `admiral@127.0.0.1:${s.port}`, '--fingerprint', shipFingerprint(s.ship.dataDir)]);
  assert.equal(add.code, 0, add.stderr);
});

after(async () => {
  for (const l of lives) l.interrupt();
  await Promise.all(lives.map((l) => l.exited));
  await s?.ship.stop();
  await killRecordedInstances(s.ship.dataDir);
});

describe('starphleet -s <ship> push', () => {
  it('adds the git remote, pushes the current branch and prints the test URL; Ctrl-C stops it', async () => {
    const app = join(tmpDir('sp-admiral-app-'), 'myapp');
    const sha = fixtureRepo('node-app', app);
    gitIn(app, 'checkout', '-q', '-b', 'feature');
    const live = new LiveCli(laptop, ['-s', 'prod', 'push'], app);
    lives.push(live);
    const [, url = ''] = await live.waitFor(/answers at (http:\/\/127\.0\.0\.1:\d+\/myapp-[0-9a-f]{7}\/)/);
    assert.ok(url.includes(`/myapp-${sha.slice(0, 7)}/`), url);
    assert.match(live.text(), new RegExp(`added git remote prod -> ssh://git@127\\.0\\.0\\.1:${s.port}/myapp`));
    assert.match(live.text(), /remote: /, 'the build streams back through git');
    assert.equal(gitIn(app, 'remote', 'get-url', 'prod'), `ssh://git@127.0.0.1:${s.port}/myapp`);
    const r = await httpGet(s.ship.httpPort, new URL(url).pathname);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /node-app fixture says hello/);
    // The branch checked out (feature) is what was pushed.
    assert.equal(gitIn(join(s.ship.dataDir, 'push', 'myapp.git'), 'rev-parse', 'refs/heads/feature'), sha);

    live.interrupt();
    await live.exited;
    await waitFor(async () => (await httpGet(s.ship.httpPort, new URL(url).pathname)).status === 404, 'the test instance to go', 30_000);
  });

  it('with an app name, and reusing the remote when it already points there', async () => {
    const app = join(tmpDir('sp-admiral-app-'), 'Some Dir');
    fixtureRepo('node-app', app);
    gitIn(app, 'remote', 'add', 'prod', `ssh://git@127.0.0.1:${s.port}/other`);
    const live = new LiveCli(laptop, ['-s', 'prod', 'push', 'other'], app);
    lives.push(live);
    await live.waitFor(/answers at http:\/\/127\.0\.0\.1:\d+\/other-[0-9a-f]{7}\//);
    assert.doesNotMatch(live.text(), /added git remote/);
    live.interrupt();
    await live.exited;
  });

  it('refuses what it cannot do, changing nothing', async () => {
    const app = join(tmpDir('sp-admiral-app-'), 'clash');
    fixtureRepo('node-app', app);
    gitIn(app, 'remote', 'add', 'prod', 'https://example.invalid/elsewhere.git');
    const clash = await admiral(laptop, ['-s', 'prod', 'push'], { cwd: app });
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, new RegExp(`git remote prod points at https://example.invalid/elsewhere.git, not ssh://git@127.0.0.1:${s.port}/clash`));
    assert.equal(gitIn(app, 'remote', 'get-url', 'prod'), 'https://example.invalid/elsewhere.git');

    const noShip = await admiral(laptop, ['push'], { cwd: app });
    assert.equal(noShip.code, 1);
    assert.match(noShip.stderr, /push needs a ship: starphleet -s <ship> push \[<app>\] \(known: prod\)/);

    const badName = await admiral(laptop, ['-s', 'prod', 'push', '../x'], { cwd: app });
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /app name "\.\.\/x": use 1-63 of a-z 0-9/);

    const notRepo = join(tmpDir('sp-admiral-norepo-'), 'plain');
    mkdirSync(notRepo);
    const r = await admiral(laptop, ['-s', 'prod', 'push'], { cwd: notRepo });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not in a git repository/);
  });
});
