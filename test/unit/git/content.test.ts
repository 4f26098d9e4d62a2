/** Git content as a FileSync tree source: same walk as the disk walker, loopback transfer from git objects. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliGitRepo } from '../../../src/git/cli-repo';
import { archiveEntries } from '../../../src/git/mapping';
import { gitTreeSource, writeGitFiles } from '../../../src/git/content';
import { normalizeTree, walkTree } from '../../../src/session/tree-source';
import { walk, type WalkOptions } from '../../../src/session/walker';
import { sendDiffCopy, receiveDiffCopy } from '../../../src/session/diffcopy';
import { messagePair } from '../../../src/session/stream';
import { git, makeRepo, removeRepo } from './repo';
import { Session } from '../../../src/session';

const t = suite('git/content');
let dir = '';
let repo: CliGitRepo;
const tmp: string[] = [];
const mk = (p: string) => { const d = fs.mkdtempSync(path.join(os.tmpdir(), `stapelkit-${p}-`)); tmp.push(d); return d; };

t.before.each(() => {
  dir = makeRepo({
    'app/a-b.txt': 'dash\n',
    'app/a/b.txt': 'nested\n',
    'app/a/c/d.txt': 'deeper\n',
    'app/Z.txt': 'upper\n',
    'app/run.sh': '#!/bin/sh\necho hi\n',
    'app/node_modules/x/index.js': 'x\n',
    'app/big.bin': Buffer.alloc(100 * 1024 + 3, 7).toString('latin1'),
    'app/é.txt': 'accent\n',
    'app/empty': '',
  });
  fs.chmodSync(path.join(dir, 'app/run.sh'), 0o755);
  fs.symlinkSync('a/b.txt', path.join(dir, 'app/link'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'more');
  repo = new CliGitRepo(dir);
});
t.after.each(() => {
  repo.close();
  removeRepo(dir);
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const statKey = (s: { path: string; mode: number; size: bigint; linkname: string }) => `${s.path} ${(s.mode >>> 0).toString(8)} ${s.size} ${s.linkname}`;

t('the virtual walk equals the disk walk of the same files (order, modes, sizes, links, filters)', async () => {
  const a = await archiveEntries(repo, 'HEAD', { add: '/app', to: '/app', includePaths: [], excludePaths: [] });
  const disk = mk('disk');
  await writeGitFiles(a, disk);
  const src = gitTreeSource(a);
  const cases: WalkOptions[] = [
    {},
    { excludePatterns: ['node_modules', '*.bin'] },
    { includePatterns: ['a', 'run.sh'] },
    { includePatterns: ['a/c'], excludePatterns: ['**/d.txt'] },
    { excludePatterns: ['a', '!a/c/d.txt'] },
  ];
  for (const opts of cases) {
    const want = [...walk(disk, opts)].map((e) => statKey(e.stat));
    const got = [...walkTree(normalizeTree(await src.entries(), src.dirMode), opts)].map((e) => statKey(e.stat));
    assert.equal(got, want, JSON.stringify(opts));
  }
});

t('loopback transfer from git objects reproduces the files', async () => {
  const a = await archiveEntries(repo, 'HEAD', { add: '/app', to: '/app', includePaths: [], excludePaths: ['node_modules'] });
  const dest = mk('dest');
  const [x, y] = messagePair();
  const [sent, received] = await Promise.all([sendDiffCopy(x, gitTreeSource(a, { mtimeNs: 1_700_000_000_000_000_000n }), { chunkSize: 16 * 1024 }), receiveDiffCopy(y, dest)]);
  assert.is(sent.entries, received.entries);
  assert.is(fs.readFileSync(path.join(dest, 'a/c/d.txt'), 'utf8'), 'deeper\n');
  assert.is(fs.readFileSync(path.join(dest, 'big.bin')).length, 100 * 1024 + 3);
  assert.is(fs.readFileSync(path.join(dest, 'empty')).length, 0);
  assert.is(fs.readFileSync(path.join(dest, 'é.txt'), 'utf8'), 'accent\n');
  assert.is(fs.readlinkSync(path.join(dest, 'link')), 'a/b.txt');
  assert.is(fs.statSync(path.join(dest, 'run.sh')).mode & 0o777, 0o755);
  assert.is(fs.statSync(path.join(dest, 'Z.txt')).mode & 0o777, 0o644);
  assert.is(fs.statSync(path.join(dest, 'a')).mode & 0o777, 0o775);
  assert.is(fs.statSync(path.join(dest, 'Z.txt')).mtimeMs, 1_700_000_000_000);
  assert.not.ok(fs.existsSync(path.join(dest, 'node_modules')));
});

t('normalizeTree: missing parents, duplicates and escaping paths', () => {
  const n = normalizeTree([{ path: 'x/y/z', type: 'file', mode: 0o644 }, { path: 'x-1', type: 'file', mode: 0o644 }], 0o700);
  assert.equal(n.map((e) => [e.path, e.type, e.mode]), [['x', 'dir', 0o700], ['x/y', 'dir', 0o700], ['x/y/z', 'file', 0o644], ['x-1', 'file', 0o644]]);
  assert.throws(() => normalizeTree([{ path: 'a', type: 'file', mode: 0 }, { path: 'a', type: 'file', mode: 0 }]), /duplicate path a/);
  assert.throws(() => normalizeTree([{ path: '../a', type: 'file', mode: 0 }]), /invalid path/);
  assert.throws(() => normalizeTree([{ path: 'a', type: 'file', mode: 0 }, { path: 'a/b', type: 'file', mode: 0 }]), /both a file and a directory/);
});

t('a session serves tree sources added later (same content again is fine, other content under the name is not)', async () => {
  const a = await archiveEntries(repo, 'HEAD', { add: '/app', to: '/app', includePaths: [], excludePaths: [] });
  const b = await archiveEntries(repo, 'HEAD', { add: '/app/a', to: '/app', includePaths: [], excludePaths: [] });
  const session = new Session({ syncedDirs: { ctx: { dir: mk('ctx') } }, ssh: [], auth: false });
  try {
    session.addSyncedDir('git', { dir: '', source: gitTreeSource(a) });
    session.addSyncedDir('git', { dir: '', source: gitTreeSource(a) });
    assert.throws(() => session.addSyncedDir('git', { dir: '', source: gitTreeSource(b) }), /already served/);
  } finally {
    await session.close();
  }
});

t.run();
