import assert from 'node:assert/strict';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { removeServiceTree } from '../../../src/agent/sandbox/volumes.js';
import { tmpDir } from '../../helpers/tmp.js';

/** A tree a service wrote goes whole, empty or not; a link in its place goes, never what it points at. */
test('removeServiceTree: an empty dir, a full tree, a link to a dir elsewhere, a path that is gone', () => {
  const root = tmpDir('sp-remove-tree-');
  const empty = join(root, 'empty');
  mkdirSync(empty);
  removeServiceTree(empty);
  assert.equal(existsSync(empty), false);

  const full = join(root, 'full');
  mkdirSync(join(full, 'a', 'b'), { recursive: true });
  writeFileSync(join(full, 'a', 'b', 'f'), 'x');
  const outside = join(root, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'keep'), 'keep');
  symlinkSync(outside, join(full, 'a', 'link'));
  removeServiceTree(full);
  assert.equal(existsSync(full), false);
  assert.equal(existsSync(join(outside, 'keep')), true, 'a link inside the tree is not followed');

  const link = join(root, 'link');
  symlinkSync(outside, link);
  removeServiceTree(link);
  assert.equal(existsSync(link), false);
  assert.equal(existsSync(join(outside, 'keep')), true, 'a link in the tree\'s place goes, not its target');

  removeServiceTree(join(root, 'gone'));
});
