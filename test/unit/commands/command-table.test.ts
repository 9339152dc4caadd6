import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findCommand, INTERNAL_COMMANDS, SHIP_COMMANDS } from '../../../src/commands/command-list.js';
import type { CommandMeta } from '../../../src/commands/command.js';
import { INTERNAL_COMMAND_META, SHIP_COMMAND_META } from '../../../src/commands/meta/command-table.js';

const FIELDS = ['name', 'summary', 'usage', 'details', 'examples'] as const;
const metaOf = (c: CommandMeta): Partial<CommandMeta> => Object.fromEntries(FIELDS.filter((f) => c[f] !== undefined).map((f) => [f, c[f]]));

describe('the command table (metadata) and the control socket registry (implementations)', () => {
  test('list the same commands in the same order, each implementation with its own metadata', () => {
    assert.deepEqual(SHIP_COMMANDS.map((c) => c.name), SHIP_COMMAND_META.map((m) => m.name));
    assert.deepEqual(INTERNAL_COMMANDS.map((c) => c.name), INTERNAL_COMMAND_META.map((m) => m.name));
    for (const [impls, metas] of [[SHIP_COMMANDS, SHIP_COMMAND_META], [INTERNAL_COMMANDS, INTERNAL_COMMAND_META]] as const) {
      metas.forEach((m, i) => {
        const impl = impls[i];
        assert.ok(impl, m.name);
        assert.deepEqual(metaOf(impl), metaOf(m), `${m.name}: the implementation's help fields are its metadata's`);
        assert.equal(typeof impl.run, 'function', m.name);
      });
    }
  });

  test('names are unique and each is found by name; names that are not commands are not', () => {
    const names = [...SHIP_COMMAND_META, ...INTERNAL_COMMAND_META].map((m) => m.name);
    assert.equal(new Set(names).size, names.length, names.join(' '));
    for (const n of names) assert.equal(findCommand(n)?.name, n);
    for (const n of ['', 'nope', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'STATUS', 'status ']) assert.equal(findCommand(n), undefined, n);
  });

  test('every command has a summary, an example, and a usage free of the CLI-only [--data DIR]', () => {
    for (const m of [...SHIP_COMMAND_META, ...INTERNAL_COMMAND_META]) {
      assert.match(m.summary, /\S/, m.name);
      assert.ok(m.examples.length > 0, m.name);
      assert.doesNotMatch(m.usage, /--data/, m.name);
    }
  });
});
