/**
 * Every test/fixtures/config/invalid/<name>/werf.yaml must fail with exactly the one-line message
 * in expected.txt (file:line:column, key path, message, hint). UPDATE_GOLDEN=1 writes missing or
 * changed expectations instead of failing.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../../../src/errors';
import { FIXTURES, FixtureRepo, UPDATE, fixtureDirs } from './fixtures';

const repo = new FixtureRepo('invalid');

for (const name of fixtureDirs('invalid')) {
  test(`invalid/${name}`, () => {
    const dir = path.join(FIXTURES, 'invalid', name);
    const expectedPath = path.join(dir, 'expected.txt');
    let got: string | undefined;
    try {
      repo.load(name);
    } catch (e) {
      if (!(e instanceof StapelkitError)) throw e;
      got = e.format();
      assert.ok(e.pos?.line !== undefined, 'error must carry a line');
    }
    assert.ok(got !== undefined, `expected ${name} to be rejected, but it loaded`);
    assert.not.ok(got!.includes('\n'), 'message must be one line');
    if (UPDATE) {
      fs.writeFileSync(expectedPath, got + '\n');
      return;
    }
    assert.ok(fs.existsSync(expectedPath), `missing ${expectedPath} (run with UPDATE_GOLDEN=1)`);
    assert.is(got, fs.readFileSync(expectedPath, 'utf8').trimEnd());
  });
}

test.after(() => repo.remove());

test.run();
