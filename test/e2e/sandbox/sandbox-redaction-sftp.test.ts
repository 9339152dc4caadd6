import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, normalize } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey } from '../../helpers/keys.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Credentials in a service's URL never reach the SFTP view: an admiral's OpenSSH `sftp` downloads every file the
 * view has (configs, layers, logs, ...) while a service ordered with http://user:s3cret@... serves (fetched from a
 * dumb-HTTP git server that wants that password) next to one whose credentialed URL fails, and none holds the password.
 */
const root = tmpDir('sp-redact-sftp-');
const dataDir = join(root, 'data');
const app = join(root, 'app');
let ship: ShipProcess | undefined;
let git: Server | undefined;

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await new Promise((r) => (git ? git.close(r) : r(undefined)));
});

/** Git's dumb HTTP protocol over a bare repo: static files, behind basic auth user:s3cret (git retries with the URL's). */
async function gitServer(bare: string): Promise<number> {
  const want = `Basic ${Buffer.from('user:s3cret').toString('base64')}`;
  git = createServer((req, res) => {
    if (req.headers.authorization !== want) return res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
    const rel = normalize(decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/')).replace(/^\/repo\.git\/?/, '');
    const path = join(bare, rel);
    try {
      if (rel.startsWith('..') || !statSync(path).isFile()) throw new Error('no file');
      res.writeHead(200).end(readFileSync(path));
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => git?.listen(0, '127.0.0.1', () => r(undefined)));
  const a = git.address();
  return a && typeof a === 'object' ? a.port : 0;
}

/** A downloaded file's bytes, a layer's tar unpacked from its gzip (a password inside would not show compressed). */
function content(f: string): Buffer {
  const b = readFileSync(f);
  return f.endsWith('.gz') ? gunzipSync(b) : b;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('the SFTP view of a ship with a credentialed service URL', () => {
  test('sftp downloads every file of the view and none holds the password', async () => {
    const admiral = makeKey(root, 'admiral');
    fixtureRepo('static-site', app);
    const bare = join(root, 'repo.git');
    execFileSync('git', ['clone', '-q', '--bare', app, bare]);
    execFileSync('git', ['update-server-info'], { cwd: bare });
    const port = await gitServer(bare);
    initRepo(join(root, 'hq'), {
      'authorized_keys/admiral': admiral.pub,
      'site/orders': `autodeploy ${app}\n`,
      'creds/orders': `autodeploy http://user:s3cret@127.0.0.1:${port}/repo.git\n`,
      'broken/orders': 'autodeploy https://user:s3cret@127.0.0.1:9/nothing.git\n',
    });
    ship = await startShip({ headquarters: join(root, 'hq'), dataDir });
    const s = ship;
    await waitFor(async () => (await httpGet(s.httpPort, '/site/')).status === 200, 'site to serve', 180_000, 500);
    await waitFor(async () => (await httpGet(s.httpPort, '/creds/')).status === 200, 'creds to serve', 180_000, 500);
    await waitFor(async () => (await statusServices(dataDir)).find((r) => r.name === 'broken' && r.state === 'failed'), 'broken to fail its fetch', 180_000, 500);

    const top = await sftpBatch({ key: admiral.privatePath, port: s.sshPort, lines: ['ls -1 /'] });
    assert.equal(top.code, 0, top.stderr);
    const names = top.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('sftp>')).map((l) => l.replace(/^\/+/, ''));
    assert.ok(names.includes('configs') && names.includes('logs'), `the view's top level: ${names.join(', ')}`);

    const dl = tmpDir('sp-redact-dl-');
    const got = await sftpBatch({ key: admiral.privatePath, port: s.sshPort, cwd: dl, lines: names.map((n) => `get -r /${n}`), timeoutMs: 120_000 });
    assert.equal(got.code, 0, got.stderr);
    const all = files(dl).filter((f) => !/\/\.out-/.test(f));
    const logs = all.filter((f) => f.startsWith(join(dl, 'logs', 'creds')));
    assert.ok(all.some((f) => f.startsWith(join(dl, 'configs'))), `a config was downloaded: ${all.join('\n')}`);
    assert.ok(logs.length > 0, `the credentialed service's logs were downloaded: ${all.join('\n')}`);
    const redacted = all.filter((f) => content(f).includes(`***@127.0.0.1:${port}`));
    assert.ok(redacted.length > 0, 'some file of the view names the URL, redacted');
    for (const f of all) assert.ok(!content(f).includes('s3cret'), `${f.slice(dl.length)} holds the password`);
  });
});
