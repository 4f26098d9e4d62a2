/** Stage tags as werf names them, grouping/ordering, and the per-(repo, digest) lock. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { groupStages, parseStageTag, splitRepoTag, stageLockPath, stageTag, withStageLock } from '../../../src/storage';
import { newStageMs } from '../../../src/storage/tags';

const D = 'a'.repeat(56);

test('parseStageTag: <56 hex>-<ms> only', () => {
  assert.equal(parseStageTag(`${D}-1700000000123`), { digest: D, createdMs: 1700000000123 });
  assert.is(parseStageTag(`${D}-1700000000123-rejected`), undefined);
  assert.is(parseStageTag(`${'a'.repeat(64)}-1`), undefined, 'sha256 length is not a werf digest');
  assert.is(parseStageTag(`${D.toUpperCase()}-1`), undefined);
  assert.is(parseStageTag('latest'), undefined);
  assert.is(parseStageTag(`managed-image-app`), undefined);
  assert.is(parseStageTag(`${D}-`), undefined);
  assert.is(parseStageTag(`${D}-99999999999999999`), undefined, 'beyond 16 digits');
  assert.is(stageTag(D, 5), `${D}-5`);
});

test('splitRepoTag: the tag is after the last colon past the last slash', () => {
  assert.equal(splitRepoTag('127.0.0.1:5000/app:t1'), { repo: '127.0.0.1:5000/app', tag: 't1' });
  assert.equal(splitRepoTag('app:t'), { repo: 'app', tag: 't' });
  assert.is(splitRepoTag('127.0.0.1:5000/app'), undefined);
});

test('groupStages: by digest, oldest first; newStageMs never goes back', () => {
  const s = (digest: string, ms: number) => ({ digest, createdMs: ms, imageName: `r:${digest}-${ms}`, labels: {} });
  const g = groupStages([s(D, 30), s('b'.repeat(56), 5), s(D, 10), s(D, 20)]);
  assert.equal(g.get(D)!.map((x) => x.createdMs), [10, 20, 30]);
  assert.is(g.get('b'.repeat(56))!.length, 1);
  assert.is(newStageMs(100), 100);
  assert.is(newStageMs(100, 100), 101);
  assert.is(newStageMs(100, 50), 100);
});

test('withStageLock: same (repo, digest) runs one at a time; others do not wait', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-lock-'));
  const order: string[] = [];
  const slow = (name: string, ms: number) => async () => {
    order.push(`${name}+`);
    await new Promise((r) => setTimeout(r, ms));
    order.push(`${name}-`);
    return name;
  };
  const [a, b, c] = await Promise.all([withStageLock(dir, 'r', D, slow('a', 80)), withStageLock(dir, 'r', D, slow('b', 10)), withStageLock(dir, 'r', 'other', slow('c', 10))]);
  assert.equal([a, b, c], ['a', 'b', 'c']);
  assert.ok(order.indexOf('a-') < order.indexOf('b+'), order.join(' '));
  assert.ok(order.indexOf('c-') < order.indexOf('a-'), 'another digest is not blocked');
  assert.not.ok(fs.existsSync(stageLockPath(dir, 'r', D)), 'released');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('withStageLock: a lock file of a dead process is taken over; a live owner is waited for', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-lock-'));
  const file = stageLockPath(dir, 'r', D);
  fs.writeFileSync(file, '2147483646'); // no such pid
  assert.is(await withStageLock(dir, 'r', D, async () => 'took over'), 'took over');
  fs.writeFileSync(file, String(process.ppid)); // alive: times out
  let err: unknown;
  try {
    await withStageLock(dir, 'r', D, async () => 'never', 300);
  } catch (e) {
    err = e;
  }
  assert.is((err as any)?.code, 'STAGE_LOCK');
  assert.match((err as Error).message, /held by pid/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test.run();
