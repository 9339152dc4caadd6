import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDotenv } from '../../../src/agent/releases/dotenv.js';
import { resolveEnv } from '../../../src/agent/releases/env.js';
import { parseProcfile, parseReleaseYaml } from '../../../src/agent/releases/procfile.js';

describe('parseDotenv', () => {
  it('reads KEY=value and export lines, quotes, comments; expands and executes nothing', () => {
    const { env, problems } = parseDotenv(
      [
        '# a comment',
        '',
        'PLAIN=value with spaces   # trailing comment',
        'export EXPORTED=yes',
        'EMPTY=',
        "SINGLE='$HOME stays \\n literal'",
        'DOUBLE="tab\\there \\"quoted\\" $(rm -rf /)"',
        'HASH="a # inside quotes"',
        'MULTI="line one',
        'line two"',
        '  INDENTED = spaced  ',
        'URL=postgres://u:p@h/db?x=1#frag',
      ].join('\n'),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(env, {
      PLAIN: 'value with spaces',
      EXPORTED: 'yes',
      EMPTY: '',
      SINGLE: '$HOME stays \\n literal',
      DOUBLE: 'tab\there "quoted" $(rm -rf /)',
      HASH: 'a # inside quotes',
      MULTI: 'line one\nline two',
      INDENTED: 'spaced',
      URL: 'postgres://u:p@h/db?x=1#frag',
    });
  });

  it('reports bad lines with their line number and keeps the good ones', () => {
    const { env, problems } = parseDotenv('GOOD=1\nno equals here\n1BAD=x\nTRAIL="x" y\nUNCLOSED="abc\nMORE=2\n');
    assert.deepEqual(env, { GOOD: '1' });
    assert.deepEqual(
      problems.map((p) => p.line),
      [2, 3, 4, 5],
    );
    assert.match(problems[0]?.message ?? '', /expected KEY=value/);
    assert.match(problems[1]?.message ?? '', /bad variable name "1BAD"/);
    assert.match(problems[2]?.message ?? '', /unexpected text after the closing quote/);
    assert.match(problems[3]?.message ?? '', /UNCLOSED: no closing " before the end of the file/);
  });

  it('accepts CRLF line ends and a byte order mark', () => {
    assert.deepEqual(parseDotenv('\uFEFFA=1\r\nB="2"\r\n').env, { A: '1', B: '2' });
  });
});

describe('resolveEnv', () => {
  it('buildpack defaults < repo .env < orders < HQ, then the ship names; PORT dropped', () => {
    const env = resolveEnv({
      buildpackDefaults: { A: 'bp', B: 'bp', Z: 'bp' },
      repoEnv: { B: 'repo', C: 'repo', STARPHLEET_SHIP: 'fake', PORT: '1' },
      ordersEnv: { C: 'orders', D: 'orders' },
      hqEnv: { D: 'hq' },
      giturl: 'git@example.com:app.git',
      shipName: 'ship-1',
      deployTime: new Date('2024-01-02T03:04:05Z'),
    });
    assert.deepEqual(env, {
      A: 'bp',
      B: 'repo',
      Z: 'bp',
      C: 'orders',
      D: 'hq',
      STARPHLEET_DEPLOY_TIME: '2024-01-02T03:04:05.000Z',
      STARPHLEET_DEPLOY_GITURL: 'git@example.com:app.git',
      STARPHLEET_SHIP: 'ship-1',
    });
  });
});

describe('Procfile and bin/release output', () => {
  it('parses process types and reports bad lines', () => {
    assert.deepEqual(parseProcfile('# c\nweb: node a.js --x=1\nworker:  run.sh\n'), { processes: { web: 'node a.js --x=1', worker: 'run.sh' }, problems: [] });
    assert.deepEqual(parseProcfile('web node\n').problems.map((p) => p.line), [1]);
  });
  it('reads default_process_types and config_vars from bin/release YAML', () => {
    const { release, problems } = parseReleaseYaml('---\naddons: []\nconfig_vars:\n  A: "x y"\n  B: \'it\'\'s\'\ndefault_process_types:\n  web: npm start\n  worker: node w.js\n');
    assert.deepEqual(problems, []);
    assert.deepEqual(release, { defaultProcessTypes: { web: 'npm start', worker: 'node w.js' }, configVars: { A: 'x y', B: "it's" } });
    assert.deepEqual(parseReleaseYaml('default_process_types: {}\n').release.defaultProcessTypes, {});
  });
});
