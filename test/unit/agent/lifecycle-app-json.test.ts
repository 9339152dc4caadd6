import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseAppJson } from '../../../src/agent/releases/app-json.js';
import { parseProcfile } from '../../../src/agent/releases/procfile.js';

describe('app.json as Dokku reads it', () => {
  test('health checks, scripts, formation and cron; unknown keys ignored', () => {
    const m = parseAppJson(
      JSON.stringify({
        name: 'x',
        addons: ['heroku-postgresql'],
        healthchecks: { web: [{ type: 'startup', path: '/health', content: 'ready', attempts: 3, wait: 1, timeout: 4 }, { type: 'liveness', path: '/live' }] },
        scripts: { dokku: { predeploy: 'node migrate.js', postdeploy: 'node warm.js' } },
        formation: { web: { quantity: 2 }, worker: { quantity: 0, size: 'standard-1X' } },
        cron: [{ command: 'node report.js', schedule: '*/5 * * * *' }],
      }),
    );
    assert.deepEqual(m.healthchecks, [{ path: '/health', content: 'ready', timeoutSeconds: 4, attempts: 3, waitSeconds: 1, initialDelaySeconds: 0 }]);
    assert.equal(m.predeploy, 'node migrate.js');
    assert.equal(m.postdeploy, 'node warm.js');
    assert.deepEqual(m.formation, { web: 2, worker: 0 });
    assert.deepEqual(m.cron, [{ command: 'node report.js', schedule: '*/5 * * * *' }]);
  });

  test("Dokku's defaults: 5 attempts 2 s apart, 5 s each; Heroku's scripts.postdeploy", () => {
    const m = parseAppJson('{"healthchecks":{"web":[{"path":"/"}]},"scripts":{"postdeploy":"x"}}');
    assert.deepEqual(m.healthchecks[0], { path: '/', timeoutSeconds: 5, attempts: 5, waitSeconds: 2, initialDelaySeconds: 0 });
    assert.equal(m.postdeploy, 'x');
  });

  test("JSON with comments and trailing commas, as Dokku reads it (its samples carry // comments)", () => {
    const m = parseAppJson(`// Dokku's sample
{
  /* block comment */
  "scripts": {
    "dokku": {
      "predeploy": "touch /app/predeploy.test", // trailing comment
      "postdeploy": "touch /app/postdeploy.test",
    },
  },
  "formation": { "web": { "quantity": 2, }, },
}
`);
    assert.equal(m.predeploy, 'touch /app/predeploy.test');
    assert.equal(m.postdeploy, 'touch /app/postdeploy.test');
    assert.deepEqual(m.formation, { web: 2 });
  });

  for (const [text, error] of [
    ['{\n  "healthchecks": {\n    "web": [,]\n', /app\.json:3:13: not valid JSON: ValueExpected$/],
    ['{"a": 1,, "b": 2}', /app\.json:1:9: not valid JSON: PropertyNameExpected/],
    ['{"a": 1} /* unterminated', /app\.json:1:10: not valid JSON: UnexpectedEndOfComment/],
    ['{"a": 1} 7', /app\.json:1:10: not valid JSON: EndOfFileExpected/],
    ['', /app\.json:1:1: not valid JSON/],
    ['[]', /app\.json:1:1: \(top level\): expected an object/],
    ['{\n  // comment\n  "formation": {\n    "web": {"quantity": -1}\n  }\n}', /app\.json:4:13: formation\.web\.quantity: expected a whole number from 0 to 32, got -1/],
    ['{"formation":{"../x":{"quantity":1}}}', /app\.json:1:15: formation\.\.\.\/x: expected a process type name/],
    ['{"healthchecks":{"web":[{"path":"http://evil/"}]}}', /app\.json:1:26: healthchecks\.web\[0\]\.path: expected a URL path/],
    ['{"healthchecks":{"web":[{"attempts":0}]}}', /app\.json:1:26: healthchecks\.web\[0\]\.attempts: expected a number >= 1, got 0/],
    ['{"cron":[{"command":"x","schedule":"every day"}]}', /app\.json:1:\d+: cron\[0\]\.schedule: expected a cron schedule/],
    ['{"cron":[{"schedule":"@daily"}]}', /app\.json:1:10: cron\[0\]\.command: expected a command/],
    ['{\n"scripts": {\n"dokku": {\n"predeploy": 7}}}', /app\.json:4:1: scripts\.dokku\.predeploy: expected a non-empty string, got 7/],
  ] as const) {
    test(`refused, naming where: ${JSON.stringify(text).slice(0, 50)}`, () => {
      assert.throws(() => parseAppJson(text), error);
    });
  }

  test('Procfile: release is a line like the others (the build takes it out of the processes)', () => {
    assert.deepEqual(parseProcfile('web: node web.js\nworker: node w.js\nrelease: node r.js\n').processes, { web: 'node web.js', worker: 'node w.js', release: 'node r.js' });
  });
});
