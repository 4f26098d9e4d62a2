/** CliGitReader on temporary repositories: HEAD, trees, batched reads, work-tree states, --dev. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliGitReader, normalizeGitPath, parseCatFileBatch } from '../../../src/git';
import { runGitParallel, runGitParallelAsync } from '../../../src/git/cli';
import { CliGitRepo } from '../../../src/git/cli-repo';
import { StapelkitError } from '../../../src/errors';
import { git, makeRepo, removeRepo, writeFiles } from './repo';

const t = suite('git/cli');
let dir = '';

t.before.each(() => {
  dir = makeRepo({
    'README.md': 'hello\n',
    'src/main.go': 'package main\n',
    'src/lib/util.go': 'package lib\n',
    'bin/run.sh': '#!/bin/sh\necho hi\n',
    'with space/file name.txt': 'spaced\n',
  });
  fs.chmodSync(path.join(dir, 'bin/run.sh'), 0o755);
  fs.symlinkSync('src/main.go', path.join(dir, 'link'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'second');
});
t.after.each(() => removeRepo(dir));

t('head: hash and date of the HEAD commit', () => {
  const r = new CliGitReader(dir);
  const h = r.head();
  assert.is(h.hash, git(dir, 'rev-parse', 'HEAD').trim());
  assert.is(h.date.toISOString(), '2024-01-02T00:04:05.000Z');
  assert.is(h.tzOffset, '+0300');
});

t('listTree / listFiles / entry types and modes', () => {
  const r = new CliGitReader(dir);
  assert.equal(r.listFiles(), ['README.md', 'bin/run.sh', 'link', 'src/lib/util.go', 'src/main.go', 'with space/file name.txt']);
  assert.equal(r.listFiles('src'), ['src/lib/util.go', 'src/main.go']);
  assert.equal(r.listFiles('src/'), ['src/lib/util.go', 'src/main.go']);
  assert.is(r.entry('bin/run.sh')!.mode, '100755');
  assert.is(r.entry('link')!.mode, '120000');
  assert.is(r.entry('src')!.type, 'tree');
  assert.ok(r.isDir('src/lib'));
  assert.ok(r.isDir(''));
  assert.not.ok(r.isDir('src/main.go'));
  assert.ok(r.exists('with space/file name.txt'));
  assert.not.ok(r.exists('nope'));
  assert.equal(r.listTree('src').map((e) => e.path), ['src/lib', 'src/lib/util.go', 'src/main.go']);
});

t('readFile / readFiles read HEAD, not the work tree', () => {
  const r = new CliGitReader(dir);
  fs.writeFileSync(path.join(dir, 'README.md'), 'changed\n');
  assert.is(r.readFile('README.md')!.toString(), 'hello\n');
  const m = r.readFiles(['src/main.go', 'with space/file name.txt', 'missing', 'src']);
  assert.equal([...m.keys()], ['src/main.go', 'with space/file name.txt']);
  assert.is(m.get('with space/file name.txt')!.toString(), 'spaced\n');
  assert.is(r.readFile('link')!.toString(), 'src/main.go');
  assert.is(r.readFile('missing'), undefined);
});

t('prefetch: the next readFiles fetches the prefetched files too; reading them then needs no git; the HEAD tree id', () => {
  const r = new CliGitReader(dir);
  assert.is(r.head().tree, git(dir, 'rev-parse', 'HEAD^{tree}').trim());
  writeFiles(dir, { 'README.md': 'changed on disk\n' });
  r.prefetch(['README.md', 'missing', 'src']);
  assert.is(r.readFile('src/main.go')!.toString(), 'package main\n');
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.is(r.readFile('README.md')!.toString(), 'hello\n', 'HEAD content, from the earlier batch');
    assert.is(r.readFile('missing'), undefined);
    assert.throws(() => r.readFile('bin/run.sh'), 'not prefetched: needs git');
  } finally {
    process.env.PATH = saved;
  }
});

t('readFiles batches many files in one call', () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 300; i++) files[`many/f${i}.txt`] = `content ${i}\n`.repeat(i % 7);
  writeFiles(dir, files);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'many');
  const r = new CliGitReader(dir);
  const m = r.readFiles(Object.keys(files));
  assert.is(m.size, 300);
  for (const [p, c] of Object.entries(files)) assert.is(m.get(p)!.toString(), c);
});

t('pathState: committed, modified, staged, untracked, ignored, missing', () => {
  writeFiles(dir, { '.gitignore': 'tmp/\n' });
  git(dir, 'add', '.gitignore');
  git(dir, 'commit', '-q', '-m', 'ignore');
  fs.writeFileSync(path.join(dir, 'README.md'), 'changed\n');
  writeFiles(dir, { 'new.txt': 'n', 'staged.txt': 's', 'tmp/x': 'i', 'newdir/a/b.txt': 'b' });
  git(dir, 'add', 'staged.txt');
  const r = new CliGitReader(dir);
  assert.is(r.pathState('src/main.go'), 'committed');
  assert.is(r.pathState('README.md'), 'modified');
  assert.is(r.pathState('new.txt'), 'untracked');
  assert.is(r.pathState('staged.txt'), 'staged');
  assert.is(r.pathState('tmp/x'), 'ignored');
  assert.is(r.pathState('newdir/a'), 'untracked');
  assert.is(r.pathState('nothing/here'), 'missing');
  assert.is(r.pathState('src'), 'committed');
  fs.writeFileSync(path.join(dir, 'src/lib/util.go'), 'x');
  assert.is(new CliGitReader(dir).pathState('src'), 'modified');
  fs.rmSync(path.join(dir, 'src/main.go'));
  assert.is(new CliGitReader(dir).pathState('src/main.go'), 'modified');
});

t('work-tree variant (--dev): tracked files with their current contents', () => {
  fs.writeFileSync(path.join(dir, 'README.md'), 'changed\n');
  writeFiles(dir, { 'untracked.txt': 'u', 'staged/new.txt': 'n' });
  git(dir, 'add', 'staged/new.txt');
  fs.rmSync(path.join(dir, 'src/lib/util.go'));
  const r = new CliGitReader(dir, { worktree: true });
  assert.ok(r.worktree);
  assert.is(r.readFile('README.md')!.toString(), 'changed\n');
  assert.is(r.readFile('staged/new.txt')!.toString(), 'n');
  assert.is(r.readFile('untracked.txt'), undefined);
  assert.is(r.readFile('src/lib/util.go'), undefined);
  assert.not.ok(r.isDir('src/lib'));
  assert.ok(r.isDir('staged'));
  assert.is(r.entry('bin/run.sh')!.mode, '100755');
  assert.is(r.readFile('link')!.toString(), 'src/main.go');
});

t('project in a subdirectory: open() finds the repository root', () => {
  writeFiles(dir, { 'sub/proj/werf.yaml': 'x' });
  const r = CliGitReader.open(path.join(dir, 'sub/proj'));
  assert.is(r.repoRoot, fs.realpathSync(dir));
});

t('open() reads the root, HEAD, its tree and the status ahead in one go: the same answers as reading them one by one', () => {
  writeFiles(dir, { 'sub/proj/werf.yaml': 'x', 'new.txt': 'n' });
  fs.writeFileSync(path.join(dir, 'README.md'), 'changed\n');
  const ahead = CliGitReader.open(path.join(dir, 'sub/proj'), { status: true });
  const one = new CliGitReader(fs.realpathSync(dir));
  assert.equal(ahead.head(), one.head());
  assert.equal(ahead.listTree(), one.listTree());
  for (const p of ['README.md', 'new.txt', 'sub/proj/werf.yaml', 'src', 'src/main.go', 'nothing']) assert.is(ahead.pathState(p), one.pathState(p), p);
  assert.is(ahead.readFile('with space/file name.txt')!.toString(), 'spaced\n');
});

t('open({treeSizes}) hands its HEAD listing to the build git layer: CliGitRepo answers from it, the same entries its own ls-tree gives', async () => {
  const r = CliGitReader.open(dir, { status: true, treeSizes: true });
  const listing = r.headListing()!;
  assert.is(listing.commit, r.head().hash);
  const own = await new CliGitRepo(dir).lsTree(listing.commit, { trees: true, sizes: true, order: 'git' });
  const seeded = new CliGitRepo(dir);
  seeded.seedListing(listing.commit, listing.raw);
  assert.equal(await seeded.lsTree(listing.commit, { trees: true, sizes: true, order: 'git' }), own);
  assert.equal(await seeded.lsTree(listing.commit), await new CliGitRepo(dir).lsTree(listing.commit));
  // It is the seed that answers (a listing with one entry more shows up).
  const extra = new CliGitRepo(dir);
  extra.seedListing(listing.commit, Buffer.concat([listing.raw, Buffer.from(`100644 blob ${'e'.repeat(40)}       3\tzz-seeded\0`)]));
  assert.ok((await extra.lsTree(listing.commit)).some((e) => e.path === 'zz-seeded'));
  // Without treeSizes there is none to hand over.
  assert.is(CliGitReader.open(dir).headListing(), undefined);
});

t('open({preread}) reads the named files (relative to the project dir) at HEAD with its first git processes; reads then come from them', () => {
  writeFiles(dir, { 'sub/proj/werf.yaml': 'committed\n', 'sub/proj/empty.yaml': '' });
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'proj');
  fs.writeFileSync(path.join(dir, 'sub/proj/werf.yaml'), 'on disk only\n');
  const r = CliGitReader.open(path.join(dir, 'sub/proj'), { status: true, preread: ['werf.yaml', 'empty.yaml', 'missing.yaml', "it's odd.yaml"] });
  // The reader's own cat-file would fail now: git is not on PATH.
  const savedPath = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    assert.is(r.readFile('sub/proj/werf.yaml')!.toString(), 'committed\n');
    assert.is(r.readFile('sub/proj/empty.yaml')!.length, 0);
    assert.is(r.readFile('sub/proj/missing.yaml'), undefined);
  } finally {
    process.env.PATH = savedPath;
  }
  assert.is(r.readFile('README.md')!.toString(), 'hello\n', 'other files are read as before');
});

t('runGitParallel: a step with `after` runs behind it and gets its first line as the last argument', () => {
  const [log, show, batch] = runGitParallel(dir, [['log', '-1', '--format=%H%nrest'], { args: ['cat-file', '-t'], after: 0 }, { args: ['cat-file', '--batch'], after: 0, revPaths: ['README.md', 'no such'] }]);
  assert.is(log.status, 0);
  assert.is(show.status, 0, show.stderr.toString());
  assert.is(show.stdout.toString(), 'commit\n');
  assert.is(batch.status, 0, batch.stderr.toString());
  assert.match(batch.stdout.toString(), /^[0-9a-f]{40} blob 6\nhello\n\n[0-9a-f]{40}:\.\/no such missing\n$/);
});

t('runGitParallel: arguments reach git verbatim (quotes, spaces, dollars); each command its own status, stdout and stderr', () => {
  const odd = `it's "odd" $HOME \\ \`x\``;
  const [a, b, c] = runGitParallel(dir, [['rev-parse', '--sq-quote', odd], ['cat-file', '-t', 'no-such-object'], ['show', 'HEAD:README.md']]);
  assert.is(a.status, 0);
  assert.is(a.stdout.toString().trim(), ` '${odd.replace(/'/g, `'\\''`)}'`.trim());
  assert.is(b.status, 128);
  assert.match(b.stderr.toString(), /no-such-object/);
  assert.is(c.status, 0);
  assert.is(c.stdout.toString(), 'hello\n');
});

t('runGitParallelAsync: the same runs as runGitParallel, and the event loop turns while git runs', async () => {
  const steps = [['log', '-1', '--format=%H%nrest'], { args: ['cat-file', '-t'], after: 0 }, { args: ['cat-file', '--batch'], after: 0, revPaths: ['README.md'] }, ['cat-file', '-t', 'no-such-object']];
  const sync = runGitParallel(dir, steps);
  let turns = 0;
  const tick = setInterval(() => turns++, 0);
  // A private temp dir: the runs dir inside it must be gone afterwards.
  const saved = process.env.TMPDIR;
  const tmp = fs.mkdtempSync(path.join(path.dirname(dir), 'tmp-'));
  process.env.TMPDIR = tmp;
  try {
    const runs = await runGitParallelAsync(dir, steps).finally(() => clearInterval(tick));
    assert.ok(turns > 0, 'timers ran while git did');
    assert.equal(runs.map((r) => [r.status, r.stdout.toString(), r.stderr.toString()]), sync.map((r) => [r.status, r.stdout.toString(), r.stderr.toString()]));
    assert.is(runs[3].status, 128);
    assert.equal(fs.readdirSync(tmp), [], 'the runs dir is removed');
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

t('openAsync: the reader open() makes (HEAD, tree with sizes, status, preread files)', async () => {
  fs.writeFileSync(path.join(dir, 'README.md'), 'changed on disk\n');
  const opts = { status: true, treeSizes: true, preread: ['README.md', 'absent.yaml'] };
  const a = CliGitReader.open(dir, opts);
  const b = await CliGitReader.openAsync(dir, opts);
  assert.is(b.repoRoot, a.repoRoot);
  assert.equal(b.head(), a.head());
  assert.equal(b.listTree(), a.listTree());
  assert.equal(b.headListing(), a.headListing());
  assert.equal(b.pathState('README.md'), a.pathState('README.md'));
  assert.is(b.readFile('README.md')!.toString(), 'hello\n', 'the committed content');
  await assert_rejects(CliGitReader.openAsync(path.dirname(dir)), 'GIT_NO_REPO');
});

async function assert_rejects(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StapelkitError && e.code === code, String(e));
    return;
  }
  assert.unreachable(`expected ${code}`);
}

t('errors: not a repository, no commits', () => {
  const empty = makeRepo({}, { commit: false });
  try {
    assert.throws(() => new CliGitReader(empty).head(), (e: unknown) => e instanceof StapelkitError && e.code === 'GIT_NO_COMMIT');
    const plain = fs.mkdtempSync(path.join(path.dirname(empty), 'plain-'));
    assert.throws(() => CliGitReader.open(plain), (e: unknown) => e instanceof StapelkitError && e.code === 'GIT_NO_REPO');
    assert.throws(() => CliGitReader.open(plain, { status: true }), (e: unknown) => e instanceof StapelkitError && e.code === 'GIT_NO_REPO');
    // Read ahead, the missing HEAD is still reported when HEAD is asked for.
    const ahead = CliGitReader.open(empty, { status: true });
    assert.throws(() => ahead.head(), (e: unknown) => e instanceof StapelkitError && e.code === 'GIT_NO_COMMIT');
    assert.throws(() => ahead.listTree(), (e: unknown) => e instanceof StapelkitError && e.code === 'GIT_NO_COMMIT');
    fs.rmSync(plain, { recursive: true });
  } finally {
    removeRepo(empty);
  }
});

t('parseCatFileBatch: missing objects and binary content', () => {
  const bin = Buffer.from([0, 10, 255, 10]);
  const out = Buffer.concat([Buffer.from('aaa missing\n'), Buffer.from(`bbb blob ${bin.length}\n`), bin, Buffer.from('\n')]);
  const m = parseCatFileBatch(out, ['aaa', 'bbb']);
  assert.not.ok(m.has('aaa'));
  assert.equal([...m.get('bbb')!], [...bin]);
});

t('normalizeGitPath', () => {
  assert.is(normalizeGitPath('./a//b/'), 'a/b');
  assert.is(normalizeGitPath('/a/../b'), 'b');
  assert.is(normalizeGitPath('..'), '..');
  assert.is(normalizeGitPath(''), '');
});

t.run();
