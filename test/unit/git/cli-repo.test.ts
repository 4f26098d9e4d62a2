/** CliGitRepo and remote mirrors on real temporary repositories. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliGitRepo } from '../../../src/git/cli-repo';
import { openRemote, remoteRepoId } from '../../../src/git/remote';
import { StapelkitError } from '../../../src/errors';
import { CatFileBatch } from '../../../src/git/proc';
import { git, makeRepo, removeRepo, writeFiles } from './repo';

const t = suite('git/cli-repo');
let dir = '';
let repo: CliGitRepo;
let c1 = '';
let c2 = '';

t.before.each(() => {
  dir = makeRepo({
    'README.md': 'hello\n',
    'src/main.go': 'package main\n',
    'src/lib/util.go': 'package lib\n',
    'bin/run.sh': '#!/bin/sh\necho hi\n',
    'with space/file name.txt': 'spaced\n',
    'src-other/x': 'x\n',
  });
  c1 = git(dir, 'rev-parse', 'HEAD').trim();
  fs.chmodSync(path.join(dir, 'bin/run.sh'), 0o755);
  fs.symlinkSync('src/main.go', path.join(dir, 'link'));
  writeFiles(dir, { 'src/main.go': 'package main // v2\n', 'src/new.go': 'new\n' });
  fs.rmSync(path.join(dir, 'src/lib/util.go'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'second');
  c2 = git(dir, 'rev-parse', 'HEAD').trim();
  repo = new CliGitRepo(dir);
});
t.after.each(() => {
  repo.close();
  removeRepo(dir);
});

t('resolve: HEAD, branch, short hash, tree and author time; unknown ref', async () => {
  const h = await repo.resolve('HEAD');
  assert.is(h.hash, c2);
  assert.is(h.tree, git(dir, 'rev-parse', 'HEAD^{tree}').trim());
  assert.is(h.authorTime, Date.parse('2024-01-02T00:04:05Z') / 1000);
  assert.is(h.tzOffset, '+0300');
  assert.is((await repo.resolve('main')).hash, c2);
  assert.is((await repo.resolve(c1.slice(0, 10))).hash, c1);
  try {
    await repo.resolve('no-such-branch');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, StapelkitError);
    assert.is((e as StapelkitError).code, 'GIT_REF_NOT_FOUND');
  }
});

t('lsTree: recursive with object ids, modes, trees on request, sizes, subdir', async () => {
  const all = await repo.lsTree(c2);
  assert.equal(all.map((e) => e.path), ['README.md', 'bin/run.sh', 'link', 'src-other/x', 'src/main.go', 'src/new.go', 'with space/file name.txt']);
  const run = all.find((e) => e.path === 'bin/run.sh')!;
  assert.is(run.mode, '100755');
  assert.is(run.oid, git(dir, 'rev-parse', `${c2}:bin/run.sh`).trim());
  assert.is(all.find((e) => e.path === 'link')!.mode, '120000');
  const withTrees = await repo.lsTree(c2, { trees: true });
  const srcTree = withTrees.find((e) => e.path === 'src')!;
  assert.is(srcTree.type, 'tree');
  assert.is(srcTree.oid, git(dir, 'rev-parse', `${c2}:src`).trim());
  const src = await repo.lsTree(c2, { dir: 'src', sizes: true });
  assert.equal(src.map((e) => [e.path, e.size]), [['src/main.go', 19], ['src/new.go', 4]]);
  const old = await repo.lsTree(c1, { dir: 'src/', trees: true });
  assert.equal(old.map((e) => e.path), ['src/lib', 'src/lib/util.go', 'src/main.go']);
  assert.equal(await repo.lsTree(c2, { dir: 'README.md' }), []);
  assert.equal(await repo.lsTree(c2, { dir: 'nothing' }), []);
});

/** Runs `fn` with no git on PATH: whatever it reads must come from what was already read. */
async function withoutGit<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

t('lsTree: a whole-tree listing of a commit id is listed once; one without sizes (or trees) is cut from the sized one, equal to git\'s own', async () => {
  const sized = await repo.lsTree(c2, { trees: true, sizes: true, order: 'git' });
  assert.ok(sized.some((e) => e.size !== undefined));
  const fresh = () => new CliGitRepo(dir);
  const want = {
    treesGit: await fresh().lsTree(c2, { trees: true, order: 'git' }),
    trees: await fresh().lsTree(c2, { trees: true }),
    files: await fresh().lsTree(c2),
    sizedPath: await fresh().lsTree(c2, { sizes: true }),
  };
  const got = await withoutGit(async () => ({
    treesGit: await repo.lsTree(c2, { trees: true, order: 'git' }),
    trees: await repo.lsTree(c2, { trees: true }),
    files: await repo.lsTree(c2),
    sizedPath: await repo.lsTree(c2, { sizes: true }),
  }));
  assert.equal(got, want);
  // Callers may change what they get: the next caller still gets git's listing.
  got.files[0].path = 'changed';
  assert.equal(await withoutGit(() => repo.lsTree(c2)), want.files);
  // Moving names and subdirectories are listed by git each time.
  try {
    await withoutGit(() => repo.lsTree('HEAD', { trees: true }));
    assert.unreachable();
  } catch (e) {
    assert.not.instance(e, assert.Assertion);
  }
});

t('remember: a commit the caller already read resolves without git', async () => {
  const real = await new CliGitRepo(dir).resolve(c1);
  repo.remember(real);
  assert.equal(await withoutGit(() => repo.resolve(c1)), real);
});

t('entry: file, dir, root, missing', async () => {
  assert.is((await repo.entry(c2, 'src'))!.type, 'tree');
  assert.is((await repo.entry(c2, 'with space/file name.txt'))!.mode, '100644');
  assert.is((await repo.entry(c2, ''))!.oid, git(dir, 'rev-parse', `${c2}^{tree}`).trim());
  assert.is(await repo.entry(c2, 'src/lib'), undefined);
  assert.is(await repo.entry(c2, '*'), undefined);
});

t('diff: status, modes, oids, path filter is literal and does not match siblings', async () => {
  const d = await repo.diff(c1, c2);
  assert.equal(d.map((c) => [c.path, c.status]), [['bin/run.sh', 'M'], ['link', 'A'], ['src/lib/util.go', 'D'], ['src/main.go', 'M'], ['src/new.go', 'A']]);
  const run = d[0];
  assert.is(run.oldMode, '100644');
  assert.is(run.newMode, '100755');
  assert.is(run.oldOid, run.newOid);
  const del = d[2];
  assert.is(del.newOid, undefined);
  assert.is(del.oldOid, git(dir, 'rev-parse', `${c1}:src/lib/util.go`).trim());
  const onlySrc = await repo.diff(c1, c2, { dir: 'src' });
  assert.equal(onlySrc.map((c) => c.path), ['src/lib/util.go', 'src/main.go', 'src/new.go']);
  // a type change file → symlink is T
  fs.rmSync(path.join(dir, 'README.md'));
  fs.symlinkSync('link', path.join(dir, 'README.md'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'type');
  const t3 = await repo.diff(c2, 'HEAD');
  assert.equal(t3.map((c) => [c.path, c.status, c.newMode]), [['README.md', 'T', '120000']]);
});

t('isAncestor / hasCommit', async () => {
  assert.ok(await repo.isAncestor(c1, c2));
  assert.ok(await repo.isAncestor(c2, c2));
  assert.not.ok(await repo.isAncestor(c2, c1));
  assert.not.ok(await repo.isAncestor('0'.repeat(40), c2));
  assert.ok(await repo.hasCommit(c1));
  assert.not.ok(await repo.hasCommit('1'.repeat(40)));
  const blob = git(dir, 'rev-parse', `${c2}:README.md`).trim();
  assert.not.ok(await repo.hasCommit(blob));
});

t('readBlob/readBlobs: one batch process, concurrent reads, missing objects, large blob', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 7, 'x');
  fs.writeFileSync(path.join(dir, 'big.bin'), big);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'big');
  const entries = await repo.lsTree('HEAD');
  const oids = entries.map((e) => e.oid);
  const m = await repo.readBlobs([...oids, '2'.repeat(40)]);
  assert.is(m.size, entries.length);
  assert.is(m.get(entries.find((e) => e.path === 'big.bin')!.oid)!.length, big.length);
  assert.is(m.get(entries.find((e) => e.path === 'README.md')!.oid)!.toString(), 'hello\n');
  assert.is(m.get(entries.find((e) => e.path === 'link')!.oid)!.toString(), 'src/main.go');
  const reads = await Promise.all(entries.map((e) => repo.readBlob(e.oid)));
  assert.ok(reads.every((r) => r !== undefined));
  assert.is(await repo.readBlob('3'.repeat(40)), undefined);
});

t('diffText: plain git diff limited to a dir, explicit paths, binary', async () => {
  const txt = (await repo.diffText(c1, c2, { dir: 'src' })).toString();
  assert.match(txt, /^diff --git a\/src\/lib\/util.go b\/src\/lib\/util.go\n/);
  assert.not.match(txt, /bin\/run.sh/);
  const one = (await repo.diffText(c1, c2, { paths: ['src/main.go'] })).toString();
  assert.match(one, /\+package main \/\/ v2/);
  assert.not.match(one, /new.go/);
  assert.is((await repo.diffText(c1, c2, { paths: [] })).length, 0);
});

t('submodules: from .gitmodules at the commit + gitlinks; tree read from .git/modules', async () => {
  const sub = makeRepo({ 'lib.txt': 'lib v1\n', 'deep/a.txt': 'a\n' });
  try {
    git(dir, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'vendor/lib');
    git(dir, 'commit', '-q', '-m', 'sub');
    const head = git(dir, 'rev-parse', 'HEAD').trim();
    const subHead = git(sub, 'rev-parse', 'HEAD').trim();
    const sms = await repo.submodules(head);
    assert.equal(sms, [{ name: 'vendor/lib', path: 'vendor/lib', url: sub, commit: subHead }]);
    assert.equal(await repo.submodules(c2), []);
    const sr = await repo.openSubmodule(sms[0]);
    assert.ok(sr);
    assert.ok(sr!.dir.includes(path.join('.git', 'modules')));
    const files = await sr!.lsTree(sms[0].commit);
    assert.equal(files.map((e) => e.path), ['deep/a.txt', 'lib.txt']);
    assert.is((await repo.entry(head, 'vendor/lib'))!.type, 'commit');
  } finally {
    removeRepo(sub);
  }
});

t('cat-file batch: reads across idle restarts never mix up processes', async () => {
  const batch = new CatFileBatch(dir, 1);
  const oids = (await repo.lsTree(c2)).map((e) => e.oid);
  try {
    for (let round = 0; round < 20; round++) {
      const res = await Promise.all(oids.map((o) => batch.read(o)));
      assert.ok(res.every((r, i) => r && r.oid === oids[i]));
      // let the idle timer close the process, then read again while it is still exiting
      await new Promise((r) => setTimeout(r, round % 3));
    }
  } finally {
    batch.close();
  }
});

t('event loop stays free while git runs', async () => {
  // Deterministic, not timed: a synchronous git call would finish before the event loop turns, so a
  // setImmediate scheduled after starting the calls could only run after they returned.
  let turned = false;
  let turnedBeforeDone = false;
  const calls = Promise.all([repo.lsTree(c2), repo.diff(c1, c2), repo.resolve('HEAD'), repo.isAncestor(c1, c2)]).then(() => {
    turnedBeforeDone = turned;
  });
  setImmediate(() => (turned = true));
  await calls;
  assert.ok(turnedBeforeDone, 'the event loop turned while git was running');
});

const r = suite('git/remote');
let origin = '';
let bare = '';
let cache = '';
r.before.each(() => {
  origin = makeRepo({ 'a.txt': 'one\n' });
  git(origin, 'tag', 'v1');
  bare = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-bare-')) + '/origin.git';
  git(path.dirname(bare), 'clone', '-q', '--bare', origin, bare);
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-cache-'));
});
r.after.each(() => {
  removeRepo(origin);
  fs.rmSync(path.dirname(bare), { recursive: true, force: true });
  fs.rmSync(cache, { recursive: true, force: true });
});

r('clone --mirror by file:// URL, cached, fetched when the branch moved', async () => {
  const url = 'file://' + bare;
  const first = await openRemote(url, { branch: 'main' }, cache);
  assert.ok(first.fetched);
  assert.is(first.dir, path.join(cache, remoteRepoId(url)));
  assert.is(first.commit.hash, git(bare, 'rev-parse', 'main').trim());
  const again = await openRemote(url, { branch: 'main' }, cache);
  assert.not.ok(again.fetched);
  assert.is(again.commit.hash, first.commit.hash);
  // push a new commit to the bare remote
  writeFiles(origin, { 'a.txt': 'two\n' });
  git(origin, 'commit', '-q', '-am', 'two');
  git(origin, 'push', '-q', bare, 'main');
  const moved = await openRemote(url, { branch: 'main' }, cache);
  assert.ok(moved.fetched);
  assert.is(moved.commit.hash, git(origin, 'rev-parse', 'HEAD').trim());
  const files = await moved.repo.lsTree(moved.commit.hash);
  assert.is((await moved.repo.readBlob(files[0].oid))!.toString(), 'two\n');
  // tag and commit come from the same mirror without a fetch
  const tag = await openRemote(url, { tag: 'v1' }, cache);
  assert.not.ok(tag.fetched);
  assert.is(tag.commit.hash, first.commit.hash);
  const byCommit = await openRemote(url, { commit: first.commit.hash }, cache);
  assert.not.ok(byCommit.fetched);
  const head = await openRemote(url, {}, cache);
  assert.is(head.commit.hash, moved.commit.hash);
  for (const o of [first, again, moved, tag, byCommit, head]) o.repo.close();
});

r('unknown commit, branch, tag and unreachable URL are clear errors', async () => {
  const url = 'file://' + bare;
  const cases: [Parameters<typeof openRemote>[1], RegExp][] = [
    [{ commit: 'f'.repeat(40) }, /commit "f{40}" not found in repository file:\/\/.*Ensure it has not been squashed or rebased/],
    [{ branch: 'nope' }, /branch "nope" not found/],
    [{ tag: 'v9' }, /tag "v9" not found/],
  ];
  for (const [ref, re] of cases) {
    try {
      await openRemote(url, ref, cache);
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  }
  try {
    await openRemote('file:///nonexistent/repo.git', {}, cache);
    assert.unreachable();
  } catch (e) {
    assert.is((e as StapelkitError).code, 'GIT_REMOTE');
  }
});

r('remoteRepoId: werf endpoint form', () => {
  const h = (s: string) => require('node:crypto').createHash('sha256').update(s).digest('hex');
  assert.is(remoteRepoId('https://github.com/werf/werf.git'), h('protocol-https/github.com/werf/werf.git'));
  assert.is(remoteRepoId('https://user:pw@github.com/werf/werf.git'), h('protocol-https/github.com/werf/werf.git'));
  assert.is(remoteRepoId('git@github.com:werf/werf.git'), h('protocol-ssh/github.com/werf/werf.git'));
  assert.is(remoteRepoId('file:///tmp/x.git'), h('protocol-file/tmp/x.git'));
});

t.run();
r.run();
