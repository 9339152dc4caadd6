import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDb, schemaVersion } from '../../../src/state/db.js';
import { currentHqProblems, latestHqSyncs, recordHqSync, replaceHqProblems } from '../../../src/state/hq.js';
import { MIGRATIONS } from '../../../src/state/migrations.js';
import { tmpDir } from '../../helpers/tmp.js';

test('state: WAL mode, migrations applied once in order, typed queries', () => {
  const path = join(tmpDir('sp-db-'), 'state.db');
  const db = openDb(path);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(schemaVersion(db), Math.max(...MIGRATIONS.map((m) => m.version)));
  recordHqSync(db, { url: '/hq', sha: 'abc', result: 'changed', message: 'added a' });
  replaceHqProblems(db, 'abc', [{ file: 'a/orders', line: 2, message: 'bad' }, { file: 'jobs', message: 'x' }]);
  db.close();
  const again = openDb(path);
  assert.deepEqual(latestHqSyncs(again).map((s) => [s.sha, s.result]), [['abc', 'changed']]);
  assert.deepEqual(currentHqProblems(again), [{ file: 'a/orders', line: 2, message: 'bad' }, { file: 'jobs', message: 'x' }]);
  again.close();
});

test('state: a database from a newer starphleet is refused, not touched', () => {
  const path = join(tmpDir('sp-db-'), 'state.db');
  openDb(path).close();
  assert.throws(() => openDb(path, MIGRATIONS.slice(0, 1)), /newer than this starphleet knows/);
});
