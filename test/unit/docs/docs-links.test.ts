import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

/**
 * The docs tell the truth about themselves: every relative link and `#anchor` in README.md and docs/ resolves, no
 * link leaves the repository, and every command in a fenced block of README.md names a real subcommand of the CLI
 * (as its --help lists them) or a real npm script.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** The text outside fenced code blocks and inline code: where links are links. */
function prose(md: string): string {
  return md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Fenced code blocks with their info string. */
function fences(md: string): { lang: string; body: string }[] {
  return [...md.matchAll(/^```([^\n]*)\n([\s\S]*?)^```[^\n]*$/gm)].map((m) => ({ lang: (m[1] ?? '').trim(), body: m[2] ?? '' }));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(md: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  const body = md.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
  for (const m of body.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = (m[1] ?? '').replace(/`/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of md.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) out.add(m[1] as string);
  return out;
}

test('anchors are made as GitHub makes them', () => {
  assert.deepEqual([...anchors('# The phleet: many ships on one HQ\n## `jobs` and `shipscripts/`\n## A\n## A\n```\n# not a heading\n```\n')], [
    'the-phleet-many-ships-on-one-hq',
    'jobs-and-shipscripts',
    'a',
    'a-1',
  ]);
});

test('every relative link and #anchor in README.md and docs/ resolves; none leaves the repository', () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of DOCS) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of prose(text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] as string;
      checked++;
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        broken.push(`${file}: ${target} leaves the repository`);
        continue;
      }
      const [path = '', anchor] = target.split('#');
      const dest = path === '' ? join(ROOT, file) : resolve(ROOT, dirname(file), path);
      if (!existsSync(dest)) {
        broken.push(`${file}: ${target}: no ${relative(ROOT, dest)}`);
        continue;
      }
      if (dest === join(ROOT, file) && path !== '') broken.push(`${file}: ${target} links to itself`);
      if (anchor === undefined) continue;
      if (!statSync(dest).isFile() || !dest.endsWith('.md')) {
        broken.push(`${file}: ${target}: an anchor into something that is not markdown`);
        continue;
      }
      if (!anchors(readFileSync(dest, 'utf8')).has(anchor)) broken.push(`${file}: ${target}: no heading #${anchor} in ${relative(ROOT, dest)}`);
    }
  }
  assert.ok(checked > 30, `only ${checked} links found: the link pattern is broken`);
  assert.deepEqual(broken, []);
});

/** The subcommands a `--help` lists (its "Commands:" section), e.g. of `starphleet` or `starphleet hq`. */
function subcommands(...args: string[]): Set<string> {
  const r = spawnSync(process.execPath, [...CLI_ARGS, ...args, '--help'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const section = r.stdout.split(/^Commands:$/m)[1] ?? '';
  return new Set([...section.split(/\n\n/)[0]?.matchAll(/^ {2}([a-z][a-z-]*)/gm) ?? []].map((m) => m[1] as string));
}

const NPM_BUILTINS = new Set(['ci', 'install', 'test', 'pack', 'start']);

test('every command in a fenced block of README.md names a real subcommand or npm script', () => {
  const top = subcommands();
  assert.ok(top.has('ship') && top.has('logs') && top.has('dashboard'), [...top].join(' '));
  const nested = new Map([...['hq', 'remote', 'phleet'].filter((c) => top.has(c))].map((c) => [c, subcommands(c)]));
  const scripts = new Set(Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts));
  const wrong: string[] = [];
  let seen = 0;
  for (const { lang, body } of fences(readFileSync(join(ROOT, 'README.md'), 'utf8'))) {
    if (!['bash', 'sh', 'console', ''].includes(lang)) continue;
    for (const raw of body.split('\n')) {
      const line = raw.replace(/^\$\s+/, '').replace(/\s+#.*$/, '').trim();
      if (line === '' || line.startsWith('#')) continue;
      for (const part of line.split(/&&|\|\||[|;]/).map((p) => p.trim())) {
        const words = part.split(/\s+/);
        for (let i = 0; i < words.length; i++) {
          const w = words[i] as string;
          if (w === 'npm') {
            seen++;
            const sub = words[i + 1] ?? '';
            if (sub === 'run') {
              if (!scripts.has(words[i + 2] ?? '')) wrong.push(`${raw.trim()}: no npm script ${words[i + 2]}`);
            } else if (!NPM_BUILTINS.has(sub) && !scripts.has(sub)) wrong.push(`${raw.trim()}: npm ${sub} is neither a script nor a known npm command`);
          }
          if (w !== 'starphleet' && !w.endsWith('/starphleet')) continue;
          seen++;
          // Past the global options (-s <ship>): the subcommand, then for hq/remote/phleet theirs.
          let j = i + 1;
          while ((words[j] ?? '').startsWith('-')) j += words[j] === '-s' || words[j] === '--ship' ? 2 : 1;
          const sub = words[j];
          if (sub === undefined) continue;
          if (!top.has(sub)) wrong.push(`${raw.trim()}: starphleet has no subcommand ${sub}`);
          const inner = nested.get(sub);
          const next = words[j + 1];
          if (inner && next !== undefined && !next.startsWith('-') && !inner.has(next)) wrong.push(`${raw.trim()}: starphleet ${sub} has no subcommand ${next}`);
        }
      }
    }
  }
  assert.ok(seen >= 5, `only ${seen} commands found in README.md's fenced blocks`);
  assert.deepEqual(wrong, []);
});
