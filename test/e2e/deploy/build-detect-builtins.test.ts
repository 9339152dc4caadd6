import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_DIR, detectBuiltin, selectBuildpacks, type StepContext } from '../../../src/agent/releases/buildpacks.js';
import { countBuildSteps, detectContext, detectEachAlone, type StepCounter } from '../../helpers/build-steps.js';
import { tmpDir } from '../../helpers/tmp.js';

// The built-ins' detection in one sandbox step (issue 33), on this host's real sandbox: the same answer as each
// built-in's bin/detect in a sandbox of its own, for plain apps and for trees named to fool the one step.

let root: string;
let dataDir: string;
let ctx: StepContext;
let buildDir: string;
let steps: StepCounter;
const logged: string[] = [];

before(async () => {
  root = tmpDir('sp-detect-');
  dataDir = join(root, 'data');
  steps = countBuildSteps(dataDir);
  ({ ctx, buildDir } = await detectContext(dataDir, join(root, 'work'), { log: (l) => logged.push(l) }));
});
after(() => steps.close());

let apps = 0;
/** An app tree under the build dir (the sandbox mounts it): files by name, then whatever else `more` makes in it. */
function app(files: Record<string, string>, more: (dir: string) => void = () => {}): string {
  const dir = join(buildDir, `app-${++apps}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  more(dir);
  return dir;
}

/** What the build chooses (selectBuildpacks with no buildpack named), or its failure, and the sandboxes it started. */
async function chosen(dir: string): Promise<{ answer: string; sandboxes: number }> {
  await steps.count();
  let answer: string;
  try {
    answer = (await selectBuildpacks(dir, root, [], { dataDir, access: {} }, ctx)).map((b) => b.name).join(',');
  } catch (e) {
    answer = `failed: ${(e as Error).message}`;
  }
  return { answer, sandboxes: await steps.count() };
}

describe('the built-in buildpacks are detected in one sandbox step', () => {
  it('each app gets its buildpack, in the built-ins order, from one sandbox', async () => {
    const cases: [string, Record<string, string>][] = [
      ['procfile', { Procfile: 'web: python3 server.py\n', 'server.py': '' }],
      ['node', { 'package.json': '{}\n', Procfile: 'web: node server.js\n' }],
      ['static', { 'index.html': '<h1>hi</h1>\n', Procfile: 'web: x\n' }],
      ['python', { 'requirements.txt': '', 'index.html': '' }],
      ['go', { 'main.go': 'package main\n', 'requirements.txt': '' }],
      ['failed: no buildpack applies: add a package.json, go.mod, requirements.txt, index.html or Procfile, or set BUILDPACK_URL', { 'README.md': '' }],
      ['failed: Dockerfile builds are not supported on this ship: add a Procfile or set BUILDPACK_URL', { Dockerfile: 'FROM node\n' }],
    ];
    for (const [expected, files] of cases) {
      const { answer, sandboxes } = await chosen(app(files));
      assert.equal(answer, expected, Object.keys(files).join(' '));
      assert.equal(sandboxes, 1, `${expected}: one detect sandbox, not one per built-in`);
    }
    // A normal detection logs nothing (the detect scripts' stdout was never shown).
    assert.deepEqual(logged, []);
  });

  it('a hostile tree gets the answer each bin/detect alone gives', async () => {
    const hostile: [string, string][] = [
      // File names that read like the one step's own answer lines, a newline in them included.
      ['procfile', app({ Procfile: 'web: x\n', 'applies node': '', 'trying static\napplies static': '', 'applies go\n': '', '\napplies python\n': '' })],
      // A newline in a *.go name: go's detect counts it (as it always did), whatever the name says.
      ['go', app({ 'x\napplies node\n.go': '', Procfile: 'web: x\n' })],
      // A package.json that is a symlink out of the tree: -f follows it, inside the sandbox. The ship's data dir is not
      // there (node's detect says no, as it does in a sandbox of its own); its /etc has a passwd, and a shadow that is
      // there but unreadable (node's says yes to both, as it does alone; the build then cannot read them).
      ['procfile', app({ Procfile: 'web: x\n' }, (d) => {
        writeFileSync(join(dataDir, 'state.db'), '{}');
        symlinkSync(join(dataDir, 'state.db'), join(d, 'package.json'));
      })],
      ['node', app({ Procfile: 'web: x\n' }, (d) => symlinkSync('/etc/shadow', join(d, 'package.json')))],
      ['node', app({ Procfile: 'web: x\n' }, (d) => symlinkSync('/etc/passwd', join(d, 'package.json')))],
      // Not regular files: a dir named package.json, a FIFO named requirements.txt, an index.html linking to itself.
      ['procfile', app({ Procfile: 'web: x\n' }, (d) => {
        mkdirSync(join(d, 'package.json'));
        execFileSync('mkfifo', [join(d, 'requirements.txt')]);
        symlinkSync('index.html', join(d, 'index.html'));
      })],
    ];
    for (const [expected, dir] of hostile) {
      const reference = await detectEachAlone(dir, ctx);
      assert.equal(reference, expected, dir);
      const { answer, sandboxes } = await chosen(dir);
      assert.equal(answer, reference, dir);
      assert.equal(sandboxes, 1);
    }
  });
});

describe('the one step answers only for itself', () => {
  /** A copy of the built-ins whose detect scripts are replaced as given (a fake built-ins dir, mounted the same way). */
  function fakeBuiltins(scripts: Record<string, string>): string {
    const dir = join(tmpDir('sp-detect-fake-'), 'buildpacks');
    cpSync(BUILTIN_DIR, dir, { recursive: true });
    for (const [name, body] of Object.entries(scripts)) writeFileSync(join(dir, name, 'bin', 'detect'), `#!/usr/bin/env bash\n${body}\n`, { mode: 0o755 });
    return dir;
  }

  it("a detect script's own stdout cannot pass for the answer", async () => {
    const dir = fakeBuiltins({
      node: "printf 'applies node\\n'; exit 1",
      go: "printf 'trying node\\napplies node\\n'; exit 1",
      python: "printf 'applies static'; exit 1",
      static: "echo 'applies static' >&2; exit 1",
    });
    logged.length = 0;
    assert.equal(await detectBuiltin(app({ Procfile: 'web: x\n' }), ctx, dir), 'procfile');
    // stderr still goes to the build's log, as each bin/detect's did.
    assert.deepEqual(logged, ['applies static']);
    logged.length = 0;
  });

  it('a detect that hangs is named when the build is cancelled, and when the time limit ends it', async () => {
    const dir = fakeBuiltins({ go: ': > "$1/go-detect-runs"; exec sleep 600' });
    const abort = new AbortController();
    const hung = app({ Procfile: 'web: x\n' });
    chmodSync(hung, 0o777);
    const detecting = detectBuiltin(hung, { ...ctx, signal: abort.signal }, dir);
    for (let i = 0; i < 600 && !existsSync(join(hung, 'go-detect-runs')); i++) await new Promise((r) => setTimeout(r, 100));
    abort.abort();
    await assert.rejects(detecting, { message: 'go bin/detect was stopped: the build was cancelled' });
    // A deadline: what the step runs when it is killed may be the one step itself, if the sandbox was slow to start.
    const slow = fakeBuiltins({ node: 'exec sleep 600' });
    await assert.rejects(detectBuiltin(app({ Procfile: 'web: x\n' }), { ...ctx, deadline: Date.now() + 2000 }, slow), /^Error: (node|the built-in buildpacks') bin\/detect did not finish within the build time limit \(120 s\) and was killed/);
  });
});
