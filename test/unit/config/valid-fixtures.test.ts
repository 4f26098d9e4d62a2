/**
 * Round trip of test/fixtures/config/valid/<name>/: the project loads, and the normalised model
 * equals expected.json exactly (positions included). The commit is left out of the golden file.
 * UPDATE_GOLDEN=1 rewrites the golden files.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../../../src/errors';
import { FIXTURES, FixtureRepo, UPDATE, fixtureDirs } from './fixtures';

const repo = new FixtureRepo('valid');

for (const name of fixtureDirs('valid')) {
  test(`valid/${name}`, () => {
    const dir = path.join(FIXTURES, 'valid', name);
    let loaded;
    try {
      loaded = repo.load(name);
    } catch (e) {
      if (e instanceof StapelkitError) assert.unreachable(`${name} was rejected: ${e.format()}`);
      throw e;
    }
    const model = { ...loaded.model, commit: { hash: '<commit>', date: '<date>' } };
    // The model must survive JSON unchanged (plain data only).
    assert.equal(JSON.parse(JSON.stringify(model)), model);
    const got = JSON.stringify(model, null, 2) + '\n';
    const goldenPath = path.join(dir, 'expected.json');
    if (UPDATE) {
      fs.writeFileSync(goldenPath, got);
      return;
    }
    assert.ok(fs.existsSync(goldenPath), `missing ${goldenPath} (run with UPDATE_GOLDEN=1)`);
    assert.fixture(got, fs.readFileSync(goldenPath, 'utf8'));
  });
}

test.after(() => repo.remove());

test.run();
