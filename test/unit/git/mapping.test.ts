/** Git mapping facts on real repositories: add type, archive files, stageDependencies checksums, changes, patches, paramshash. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CliGitRepo } from '../../../src/git/cli-repo';
import {
  archiveEntries, changes, gitLabels, isDirectoryAdd, paramshash, patchSize, patchText, stageDependenciesChecksum, type MappingSpec,
} from '../../../src/git/mapping';
import { filterPatch } from '../../../src/git/patch';
import { newPathMatcher } from '../../../src/git/pathmatch';
import { StapelkitError } from '../../../src/errors';
import { git, makeRepo, removeRepo, writeFiles } from './repo';

const sha = (...parts: string[]) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest('hex'); };
const spec = (o: Partial<MappingSpec>): MappingSpec => ({ add: '/', to: '/app', includePaths: [], excludePaths: [], ...o });

const t = suite('git/mapping');
let dir = '';
let repo: CliGitRepo;
let c1 = '';

t.before.each(() => {
  dir = makeRepo({
    'README.md': 'readme\n',
    'src/main.go': 'package main\n',
    'src/lib/a.go': 'package lib\n',
    'src/lib/b.txt': 'b\n',
    'src/vendor/v.go': 'vendor\n',
    'config/app.yaml': 'k: v\n',
    'bin/tool': '#!/bin/sh\n',
  });
  fs.chmodSync(path.join(dir, 'bin/tool'), 0o755);
  fs.symlinkSync('main.go', path.join(dir, 'src/link'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'files');
  c1 = git(dir, 'rev-parse', 'HEAD').trim();
  repo = new CliGitRepo(dir);
});
t.after.each(() => { repo.close(); removeRepo(dir); });

const oid = (rev: string) => git(dir, 'rev-parse', rev).trim();

t('isDirectoryAdd: root, directory, file, missing', async () => {
  assert.ok(await isDirectoryAdd(repo, c1, spec({ add: '/' })));
  assert.ok(await isDirectoryAdd(repo, c1, spec({ add: '/src' })));
  assert.not.ok(await isDirectoryAdd(repo, c1, spec({ add: '/README.md' })));
  assert.not.ok(await isDirectoryAdd(repo, c1, spec({ add: '/nope' })));
});

t('archiveEntries: directory add with include/exclude, modes, symlink target, oids', async () => {
  const a = await archiveEntries(repo, 'HEAD', spec({ add: '/src', includePaths: ['**/*.go', 'link'], excludePaths: ['vendor'] }));
  assert.is(a.type, 'directory');
  assert.is(a.extractTo, '/app');
  assert.equal(a.entries.map((e) => e.path), ['lib/a.go', 'link', 'main.go']);
  const link = a.entries.find((e) => e.path === 'link')!;
  assert.is(link.mode, '120000');
  assert.is(link.linkTarget, 'main.go');
  const main = a.entries.find((e) => e.path === 'main.go')!;
  assert.is(main.oid, oid(`${c1}:src/main.go`));
  assert.is(main.size, 'package main\n'.length);
  assert.ok(a.repos.get(main.repoDir));
  const root = await archiveEntries(repo, c1, spec({}));
  assert.is(root.entries.find((e) => e.path === 'bin/tool')!.mode, '100755');
  assert.is(root.entries.length, 8);
});

t('archiveEntries: file add is renamed to basename(to) and extracted into dirname(to)', async () => {
  const a = await archiveEntries(repo, c1, spec({ add: '/config/app.yaml', to: '/etc/my.yaml' }));
  assert.is(a.type, 'file');
  assert.is(a.extractTo, '/etc');
  assert.equal(a.entries.map((e) => e.path), ['my.yaml']);
  const same = await archiveEntries(repo, c1, spec({ add: '/config/app.yaml', to: '/etc/app.yaml' }));
  assert.equal(same.entries.map((e) => e.path), ['app.yaml']);
});

t('archiveEntries: werf error when nothing matches', async () => {
  for (const m of [spec({ add: '/nope' }), spec({ add: '/src', includePaths: ['*.rs'] })]) {
    try {
      await archiveEntries(repo, c1, m);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, StapelkitError);
      assert.match((e as Error).message, /^"git\.add: \/(nope|src)" in werf\.yaml matches no files\. git\.add requires at least one file matched by it\. Fix and retry$/);
    }
  }
});

t('stageDependenciesChecksum: fully matched dir → tree oid+mode, partial → blob oids by path, per-stage sha256', async () => {
  const m = spec({ add: '/' });
  // `src` fully matched: its tree contributes its id and mode, nothing below is descended.
  const srcTree = sha(oid(`${c1}:src`), '0040000');
  assert.is(await stageDependenciesChecksum(repo, c1, m, ['src']), sha(srcTree));
  // a partial glob lists the blobs, sorted by full path
  const goSum = sha(oid(`${c1}:src/lib/a.go`), '0100644', oid(`${c1}:src/main.go`), '0100644', oid(`${c1}:src/vendor/v.go`), '0100644');
  assert.is(await stageDependenciesChecksum(repo, c1, m, ['**/*.go']), sha(goSum));
  // two masks: concatenation of the non-empty per-mask sums; a mask matching nothing warns
  const warnings: string[] = [];
  const two = await stageDependenciesChecksum(repo, c1, m, ['src', 'nothing/**', '**/*.go'], { stage: 'install', onWarning: (w) => warnings.push(w.message) });
  assert.is(two, sha(srcTree, goSum));
  assert.equal(warnings, ['WARNING: stage install dependency path "nothing/**" has not been found in own git']);
  // no masks → ""
  assert.is(await stageDependenciesChecksum(repo, c1, m, []), '');
  // everything excluded by the mapping → sha256 of nothing
  assert.is(await stageDependenciesChecksum(repo, c1, spec({ add: '/src', excludePaths: ['**/*'] }), ['**/*']), sha());
});

t('stageDependenciesChecksum: relative to add, combined with the mapping filters', async () => {
  const m = spec({ add: '/src', excludePaths: ['vendor'] });
  const sum = await stageDependenciesChecksum(repo, c1, m, ['**/*.go']);
  const expected = sha(sha(oid(`${c1}:src/lib/a.go`), '0100644', oid(`${c1}:src/main.go`), '0100644'));
  assert.is(sum, expected);
  // `lib` is a whole directory under add → tree entry
  assert.is(await stageDependenciesChecksum(repo, c1, m, ['lib']), sha(sha(oid(`${c1}:src/lib`), '0040000')));
});

t('stageDependenciesChecksum: changes exactly when a matched file changes (content or mode)', async () => {
  const m = spec({ add: '/' });
  const masks = ['src/**/*.go'];
  const before = await stageDependenciesChecksum(repo, c1, m, masks);
  writeFiles(dir, { 'README.md': 'changed\n', 'src/lib/b.txt': 'changed\n' });
  git(dir, 'commit', '-q', '-am', 'outside');
  assert.is(await stageDependenciesChecksum(repo, 'HEAD', m, masks), before);
  fs.chmodSync(path.join(dir, 'src/main.go'), 0o755);
  git(dir, 'commit', '-q', '-am', 'mode');
  const afterMode = await stageDependenciesChecksum(repo, 'HEAD', m, masks);
  assert.is.not(afterMode, before);
  writeFiles(dir, { 'src/lib/a.go': 'package lib // x\n' });
  git(dir, 'commit', '-q', '-am', 'inside');
  assert.is.not(await stageDependenciesChecksum(repo, 'HEAD', m, masks), afterMode);
});

t('changes: added, modified, deleted, mode and symlink changes, re-rooted and filtered', async () => {
  writeFiles(dir, { 'src/main.go': 'package main // 2\n', 'src/new.go': 'new\n', 'src/vendor/v.go': 'v2\n', 'README.md': 'r2\n' });
  fs.rmSync(path.join(dir, 'src/lib/a.go'));
  fs.chmodSync(path.join(dir, 'src/lib/b.txt'), 0o755);
  fs.rmSync(path.join(dir, 'src/link'));
  fs.symlinkSync('new.go', path.join(dir, 'src/link'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'change');
  const c2 = oid('HEAD');
  const ch = await changes(repo, c1, c2, spec({ add: '/src', excludePaths: ['vendor'] }));
  assert.equal(ch.changed.map((e) => [e.path, e.mode]), [['lib/b.txt', '100755'], ['link', '120000'], ['main.go', '100644'], ['new.go', '100644']]);
  assert.is(ch.changed.find((e) => e.path === 'link')!.linkTarget, 'new.go');
  assert.is(ch.changed.find((e) => e.path === 'new.go')!.oid, oid(`${c2}:src/new.go`));
  assert.equal(ch.deleted, ['lib/a.go']);
  const none = await changes(repo, c2, c2, spec({}));
  assert.equal([none.changed, none.deleted], [[], []]);
  // a file add: the path is the renamed file
  const f = await changes(repo, c1, c2, spec({ add: '/src/main.go', to: '/x/entry.go' }));
  assert.equal(f.changed.map((e) => e.path), ['entry.go']);
});

t('patchText: werf diff parser output (no index lines, re-rooted, filtered); patchSize with full context', async () => {
  writeFiles(dir, { 'src/main.go': 'package main\n// more\n', 'src/vendor/v.go': 'v2\n', 'README.md': 'r2\n' });
  fs.rmSync(path.join(dir, 'src/lib/b.txt'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'change');
  const c2 = oid('HEAD');
  const m = spec({ add: '/src', excludePaths: ['vendor'] });
  const text = await patchText(repo, c1, c2, m);
  assert.is(text, [
    'diff --git a/lib/b.txt b/lib/b.txt',
    'deleted file mode 100644',
    '--- a/lib/b.txt',
    '+++ /dev/null',
    '@@ -1 +0,0 @@',
    '-b',
    'diff --git a/main.go b/main.go',
    '--- a/main.go',
    '+++ b/main.go',
    '@@ -1 +1,2 @@',
    ' package main',
    '+// more',
    '',
  ].join('\n'));
  assert.is(await patchText(repo, c2, c2, m), '');
  const size = await patchSize(repo, c1, c2, m);
  assert.ok(size >= Buffer.byteLength(text), `${size}`);
  // The build skips both diffs when changes() is empty: then they must be empty as well.
  for (const quiet of [spec({ add: '/src', includePaths: ['vendor'], excludePaths: ['vendor'] }), spec({ add: '/src/lib', includePaths: ['a.go'] }), spec({ add: '/src', excludePaths: ['**/*'] })]) {
    const ch = await changes(repo, c1, c2, quiet);
    assert.equal([ch.changed, ch.deleted], [[], []], JSON.stringify(quiet));
    assert.is(await patchText(repo, c1, c2, quiet), '');
    assert.is(await patchSize(repo, c1, c2, quiet), 0);
  }
});

t('filterPatch: quoted paths, binary markers, submodule lines, file renames', () => {
  const diff = Buffer.from([
    'diff --git "a/d/\\303\\244.txt" "b/d/\\303\\244.txt"',
    'index 1..2 100644',
    '--- "a/d/\\303\\244.txt"',
    '+++ "b/d/\\303\\244.txt"',
    '@@ -1 +1 @@',
    '-x',
    '+y',
    'diff --git a/d/bin.dat b/d/bin.dat',
    'new file mode 100644',
    'index 0000000..3',
    'Binary files /dev/null and b/d/bin.dat differ',
    'Submodule vendor 111..222:',
    'diff --git a/other/x b/other/x',
    'index 1..2 100644',
    '--- a/other/x',
    '+++ b/other/x',
    '@@ -1 +1 @@',
    '',
  ].join('\n'));
  const r = filterPatch(diff, { pathScope: 'd', matcher: newPathMatcher({ basePath: 'd' }) });
  const lines = r.text.toString().split('\n');
  assert.is(lines[0], 'diff --git "a/ä.txt" "b/ä.txt"');
  assert.ok(!r.text.toString().includes('index '));
  assert.ok(!r.text.toString().includes('other/x'));
  assert.equal(r.paths, ['ä.txt', 'bin.dat']);
  assert.equal(r.binaryPaths, ['bin.dat']);
  const renamed = filterPatch(Buffer.from('diff --git a/c/app.yaml b/c/app.yaml\nindex 1..2 100644\n--- a/c/app.yaml\n+++ b/c/app.yaml\n@@ -1 +1 @@\n'), {
    pathScope: 'c', matcher: newPathMatcher({ basePath: 'c/app.yaml' }), fileRenames: { 'c/app.yaml': 'my.yaml' },
  });
  assert.is(renamed.text.toString(), 'diff --git a/my.yaml b/my.yaml\n--- a/my.yaml\n+++ b/my.yaml\n@@ -1 +1 @@\n');
  assert.throws(() => filterPatch(Buffer.from('Submodule x 1..2 (commits not present)\n'), { pathScope: '', matcher: newPathMatcher({}) }), /commits not present/);
});

t('submodules: archive expands them, checksums descend, isDirectoryAdd counts them as dirs', async () => {
  const sub = makeRepo({ 'lib.txt': 'lib\n', 'deep/a.txt': 'a\n' });
  try {
    git(dir, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'vendor/lib');
    git(dir, 'commit', '-q', '-m', 'sub');
    const head = oid('HEAD');
    assert.ok(await isDirectoryAdd(repo, head, spec({ add: '/vendor/lib' })));
    const a = await archiveEntries(repo, head, spec({ add: '/vendor' }));
    assert.equal(a.entries.map((e) => e.path), ['lib/deep/a.txt', 'lib/lib.txt']);
    const e = a.entries[1];
    assert.is((await a.repos.get(e.repoDir)!.readBlob(e.oid))!.toString(), 'lib\n');
    // a whole submodule under a mask: its gitlink entry (commit id, 0160000)
    const whole = await stageDependenciesChecksum(repo, head, spec({}), ['vendor/lib']);
    assert.is(whole, sha(sha(oid(`${head}:vendor/lib`), '0160000')));
    // a partial mask descends into the submodule: its own checksum is appended (`deep/*` selects
    // the `deep` tree itself: the glob with its trailing `*` trimmed matches it)
    const subCommit = oid(`${head}:vendor/lib`);
    const part = await stageDependenciesChecksum(repo, head, spec({}), ['vendor/lib/deep/*']);
    assert.is(part, sha(sha(sha(git(sub, 'rev-parse', `${subCommit}:deep`).trim(), '0040000'))));
    const files = await stageDependenciesChecksum(repo, head, spec({}), ['vendor/lib/**/*.txt']);
    const blobs = ['deep/a.txt', 'lib.txt'].map((p) => git(sub, 'rev-parse', `${subCommit}:${p}`).trim() + '0100644').join('');
    assert.is(files, sha(sha(sha(blobs))));
    // an add inside the submodule
    const inside = await archiveEntries(repo, head, spec({ add: '/vendor/lib/deep' }));
    assert.equal(inside.entries.map((x) => x.path), ['a.txt']);
    // moving the submodule: changes are diffed inside it
    writeFiles(sub, { 'lib.txt': 'lib v2\n' });
    git(sub, 'commit', '-q', '-am', 'v2');
    git(path.join(dir, 'vendor/lib'), '-c', 'protocol.file.allow=always', 'pull', '-q', 'origin', 'main');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'bump');
    const ch = await changes(repo, head, 'HEAD', spec({ add: '/vendor' }));
    assert.equal(ch.changed.map((x) => x.path), ['lib/lib.txt']);
  } finally {
    removeRepo(sub);
  }
});

t('paramshash: werf byte layout; label names', () => {
  const m = spec({ add: '/src', to: '/app', includePaths: ['a', 'b'], excludePaths: ['c'], owner: 'app', group: 'app' });
  assert.is(paramshash(m), sha('own_own:::/app:::src:::ab:::c:::app:::app:::::::::'));
  const root = spec({});
  assert.is(paramshash(root), sha('own_own:::/app::::::::::::::::::::::::'));
  const remote = spec({ url: 'https://github.com/werf/demo.git', branch: 'main' });
  assert.is(paramshash(remote), sha('werf/demo_werf/demo:::/app::::::::::::::::::main::::::'));
  const l = gitLabels(m);
  assert.is(l.commit, `werf-git-${paramshash(m)}-commit`);
  assert.is(l.type, `werf-git-${paramshash(m)}-type`);
});

t.run();
