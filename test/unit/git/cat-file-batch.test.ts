/**
 * CatFileBatch: a process closed (idle or by close()) while the next one already has requests must
 * not fail the new process's requests when it exits (it did: one queue was shared).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CatFileBatch } from '../../../src/git/proc';

const t = suite('git/cat-file-batch');

t('close and reopen at once, many times: every read is answered by its own process', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-catfile-'));
  spawnSync('git', ['init', '-q'], { cwd: dir });
  const oid = spawnSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: 'hello\n', encoding: 'utf8' }).stdout.trim();
  const b = new CatFileBatch(path.join(dir, '.git'), 1);
  for (let i = 0; i < 30; i++) {
    const first = await b.read(oid);
    assert.is(first?.data.toString(), 'hello\n');
    b.close();
    const [x, y] = await Promise.all([b.read(oid), b.read('0000000000000000000000000000000000000000')]);
    assert.is(x?.data.toString(), 'hello\n');
    assert.is(y, undefined);
    if (i % 3 === 0) await new Promise((r) => setTimeout(r, 3)); // let the idle timer close it too
  }
  b.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.run();
