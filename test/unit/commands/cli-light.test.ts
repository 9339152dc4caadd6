import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadedModules } from '../../helpers/loaded-modules.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * Issue 33: a CLI call that only prints or asks the ship loads what it needs: the command table's metadata and the
 * control socket's client, never a command's code, the agent, the sandbox or ssh2 (their code waits for the ship or
 * for the command that needs it). The suite and git hooks run the CLI hundreds of times.
 */
const CLIENT_SIDE = new Set([
  'commands/help',
  'commands/command',
  'commands/control/control-wire',
  'commands/control/control-client',
  'commands/control/run-on-ship',
  'commands/run-client',
  'commands/traffic/traffic-args',
]);

function heavy(modules: readonly string[]): string[] {
  return modules.filter(
    (m) =>
      m.startsWith('node_modules/ssh2/') ||
      m.startsWith('agent/') ||
      m.startsWith('server/') ||
      m.startsWith('headquarters/') ||
      m === 'ship' ||
      (m.startsWith('commands/') && !m.startsWith('commands/meta/') && !CLIENT_SIDE.has(m)),
  );
}

describe('the CLI starts light', { timeout: 300_000 }, () => {
  const noShip = join(tmpDir('sp-cli-light-'), 'no-ship');
  const calls: readonly (readonly string[])[] = [['--version'], ['version'], ['help'], ['--help'], ['status', '--data', noShip], ['logs', 'web', '--data', noShip], ['status', '--help'], ['remote', '--help'], ['completion', 'bash']];
  for (const args of calls) {
    test(`starphleet ${args.join(' ')} loads no command code, agent, sandbox or ssh2`, () => {
      const r = loadedModules(args, { XDG_CONFIG_HOME: tmpDir('sp-cli-light-config-') });
      assert.ok(r.modules.includes('cli'), `the CLI ran: ${r.err}`);
      assert.ok(r.modules.includes('commands/meta/command-table'), r.modules.join(' '));
      assert.deepEqual(heavy(r.modules), [], `${args.join(' ')} loaded them`);
    });
  }

  test('the commands that need it still load it when they run (the trace sees it)', () => {
    const r = loadedModules(['hq', 'check', tmpDir('sp-cli-light-hq-')]);
    assert.ok(r.modules.some((m) => m.startsWith('node_modules/ssh2/')), 'hq check reads admiral keys with ssh2');
    assert.ok(r.modules.includes('commands/hq-check'), r.modules.join(' '));
  });
});
