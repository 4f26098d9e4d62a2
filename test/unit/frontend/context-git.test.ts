/**
 * Git mapping facts from an in-memory build context (no history) against the same files committed
 * in a real repository: object ids, stageDependencies checksums, file/directory add and errors
 * agree; the copies that lay a mapping's files; the content commit; the archive of stageDependencies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { MappingGit, type SourceHost } from '../../../src/build/mapping-git';
import type { GitMapping } from '../../../src/config/model';
import { StapelkitError } from '../../../src/errors';
import { ContextMappingFacts, contentNeeded, mappingCopies, type ContextSnapshot } from '../../../src/frontend/context-git';
import { CliGitRepo } from '../../../src/git/cli-repo';
import { SnapshotRepo, type SnapshotFile } from '../../../src/git/snapshot';
import { local, marshal, type State } from '../../../src/llb';
import { git, makeRepo, removeRepo } from '../git/repo';

const FILES: Record<string, string> = {
  'README.md': 'readme\n',
  'package.json': '{"name":"x"}\n',
  'src/main.go': 'package main\n',
  'src/lib/a.go': 'package lib\n',
  'src/lib/b.txt': 'b\n',
  'docs/guide.md': 'guide\n',
  'bin/tool': '#!/bin/sh\n',
};

function snapshotFiles(files: Record<string, string>): SnapshotFile[] {
  return Object.entries(files).map(([p, c]) => ({ path: p, mode: p === 'bin/tool' ? '100755' : '100644', content: Buffer.from(c) }));
}

const mapping = (o: Partial<GitMapping>): GitMapping => ({
  type: 'local',
  add: '/',
  to: '/app',
  includePaths: [],
  excludePaths: [],
  autoExcludePaths: [],
  stageDependencies: { install: [], beforeSetup: [], setup: [] },
  pos: { file: 'werf.yaml', line: 1, column: 1 },
  ...o,
});

/** A SourceHost recording what was defined. */
function host(): SourceHost & { states: Map<string, State> } {
  const states = new Map<string, State>();
  return {
    states,
    defineSource: (n) => n,
    defineStateSource: (n, s) => (states.set(n, s), n),
  };
}

const t = suite('frontend/context-git');
let dir = '';

t.before(() => {
  dir = makeRepo(FILES);
  fs.chmodSync(path.join(dir, 'bin/tool'), 0o755);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'mode');
});
t.after(() => removeRepo(dir));

const MAPPINGS: GitMapping[] = [
  mapping({ stageDependencies: { install: ['package.json'], beforeSetup: [], setup: ['src/**/*.go', 'nothing/*'] } }),
  mapping({ add: '/src', to: '/src', includePaths: ['**/*.go'], excludePaths: ['lib/b.txt'], stageDependencies: { install: ['lib'], beforeSetup: ['*.go'], setup: [] } }),
  mapping({ add: '/package.json', to: '/app/package.json', stageDependencies: { install: ['*'], beforeSetup: [], setup: [] } }),
  mapping({ add: '/', to: '/x', excludePaths: ['docs', 'bin/**'] }),
];

t('facts over the context equal the facts over the same files committed (ids, checksums, type)', async () => {
  const repo = new CliGitRepo(dir);
  const head = (await repo.resolve('HEAD')).hash;
  const fromGit = new MappingGit(repo, path.join(dir, '.cache'), () => undefined);
  const snap: ContextSnapshot = { repo: new SnapshotRepo(snapshotFiles(FILES)), gitDirs: new Set() };
  const fromContext = new ContextMappingFacts(async () => snap, local('context'), () => undefined);
  for (const m of MAPPINGS) {
    const g = await fromGit.facts(host(), m, head);
    const c = await fromContext.facts(host(), m);
    assert.equal(c.stageDependencies, g.stageDependencies, m.add);
    assert.is(c.tree, g.tree, `tree of ${m.add}`);
    assert.is(c.type, g.type);
    assert.is(c.paramshash, g.paramshash);
    assert.is(c.commit, snap.repo.commit);
  }
  // The snapshot's root tree is the commit's tree.
  assert.is((await snap.repo.resolve('HEAD')).tree, (await repo.resolve(head)).tree);
  repo.close();
});

t('only the files stageDependencies select are read: checksums still equal git\'s; the tree is then unknown', async () => {
  const repo = new CliGitRepo(dir);
  const head = (await repo.resolve('HEAD')).hash;
  const fromGit = new MappingGit(repo, path.join(dir, '.cache'), () => undefined);
  const need = contentNeeded(MAPPINGS);
  const files = snapshotFiles(FILES).map((f) => (need(f.path) ? f : { path: f.path, mode: f.mode, oid: '0'.repeat(40) }));
  assert.equal(files.filter((f) => f.content).map((f) => f.path).sort(), ['package.json', 'src/lib/a.go', 'src/main.go']);
  const snap: ContextSnapshot = { repo: new SnapshotRepo(files), gitDirs: new Set() };
  assert.not.ok(snap.repo.allContent);
  const fromContext = new ContextMappingFacts(async () => snap, local('context'), () => undefined);
  for (const m of MAPPINGS) {
    const g = await fromGit.facts(host(), m, head);
    const c = await fromContext.facts(host(), m);
    assert.equal(c.stageDependencies, g.stageDependencies, m.add);
    if (c.type === 'file') assert.is(c.tree, g.tree);
    else assert.is(c.tree, undefined);
  }
  repo.close();
});

t('the content commit changes with a file; the .git HEAD is used when given', () => {
  const a = new SnapshotRepo(snapshotFiles(FILES)).commit;
  assert.match(a, /^[0-9a-f]{40}$/);
  assert.is(new SnapshotRepo(snapshotFiles(FILES)).commit, a, 'deterministic');
  assert.is.not(new SnapshotRepo(snapshotFiles({ ...FILES, 'docs/guide.md': 'guide 2\n' })).commit, a);
  assert.is(new SnapshotRepo(snapshotFiles(FILES), { commit: 'f'.repeat(40) }).commit, 'f'.repeat(40));
});

t('copies: include/exclude per path, whole directories where fully matched, a file add, .git never copied', async () => {
  const snap: ContextSnapshot = { repo: new SnapshotRepo(snapshotFiles(FILES)), gitDirs: new Set() };
  assert.equal(await mappingCopies(snap, mapping({})), [{ src: '/', dest: '/', dir: true }]);
  assert.equal(await mappingCopies(snap, mapping({ add: '/src', includePaths: ['**/*.go'] })), [
    { src: '/src/lib/a.go', dest: '/lib/a.go', dir: false },
    { src: '/src/main.go', dest: '/main.go', dir: false },
  ]);
  assert.equal(await mappingCopies(snap, mapping({ excludePaths: ['docs', 'src/lib/b.txt'] })), [
    { src: '/README.md', dest: '/README.md', dir: false },
    { src: '/bin', dest: '/bin', dir: true },
    { src: '/package.json', dest: '/package.json', dir: false },
    { src: '/src/lib/a.go', dest: '/src/lib/a.go', dir: false },
    { src: '/src/main.go', dest: '/src/main.go', dir: false },
  ]);
  assert.equal(await mappingCopies(snap, mapping({ add: '/bin/tool', to: '/usr/bin/t' })), [{ src: '/bin/tool', dest: '/tool', dir: false }]);
  // stageDependencies masks narrow the copies further.
  assert.equal(await mappingCopies(snap, mapping({}), ['package.json', 'src/lib/*']), [
    { src: '/package.json', dest: '/package.json', dir: false },
    { src: '/src/lib', dest: '/src/lib', dir: true },
  ]);
  // A context with .git at its root: the root is laid entry by entry.
  const withGit: ContextSnapshot = { repo: snap.repo, gitDirs: new Set(['']) };
  assert.equal((await mappingCopies(withGit, mapping({}))).map((c) => c.src), ['/README.md', '/bin', '/docs', '/package.json', '/src']);
});

t('sources: the whole mapping, and the stageDependencies files for gitArchive', async () => {
  const snap: ContextSnapshot = { repo: new SnapshotRepo(snapshotFiles(FILES)), gitDirs: new Set() };
  const f = new ContextMappingFacts(async () => snap, local('context'), () => undefined);
  const h = host();
  const withDeps = await f.facts(h, MAPPINGS[0]);
  assert.ok(withDeps.archiveSource && withDeps.archiveSource !== withDeps.source, 'a partial archive');
  const bytes = (n: string) => marshal(h.states.get(n)!).toBytes().toString('latin1');
  assert.ok(bytes(withDeps.archiveSource!).includes('/package.json') && bytes(withDeps.archiveSource!).includes('/src/main.go'));
  assert.not.ok(bytes(withDeps.archiveSource!).includes('README.md'), 'only what the stages depend on');
  const none = await f.facts(h, MAPPINGS[3]);
  assert.is(none.archiveSource, '', 'no stageDependencies: gitArchive lays nothing');
  const all = await f.facts(h, MAPPINGS[2]);
  assert.is(all.archiveSource, all.source, 'the masks take everything: one source');
  const pe = await f.patch(h, MAPPINGS[0], withDeps, 'a'.repeat(40)).catch((x) => x);
  assert.match(String(pe.message), /no history/);
});

t('errors: an add that matches nothing, at the mapping position; remote mappings', async () => {
  const snap: ContextSnapshot = { repo: new SnapshotRepo(snapshotFiles(FILES)), gitDirs: new Set() };
  const f = new ContextMappingFacts(async () => snap, local('context'), () => undefined);
  const e = await f.facts(host(), mapping({ add: '/nope', pos: { file: 'werf.yaml', line: 7, column: 3 } })).catch((x) => x);
  assert.instance(e, StapelkitError);
  assert.is(e.code, 'GIT_ADD_NO_FILES');
  assert.is(e.pos.line, 7);
  const r = await f.facts(host(), mapping({ type: 'remote', url: 'https://example.com/x.git' })).catch((x) => x);
  assert.match(String(r.message), /remote repositories/);
});

t.run();
