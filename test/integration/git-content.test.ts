/**
 * Git content reaching BuildKit without a checkout: a mapping's files served over FileSync straight
 * from git objects (gitTreeSource), copied into an image, read back through the tar exporter —
 * files, modes, symlinks, directory modes, filters and submodule files checked.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, type TestEnv } from './harness';
import { Session } from '../../src/session';
import { local, scratch, copy, marshal } from '../../src/llb';
import { readTarEntries, waitFor } from './session-helpers';
import { CliGitRepo } from '../../src/git/cli-repo';
import { archiveEntries, changes } from '../../src/git/mapping';
import { gitTreeSource } from '../../src/git/content';
import { git, makeRepo, removeRepo, writeFiles } from '../unit/git/repo';

const t = suite<{ env: TestEnv }>('git-content');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

t('files from git objects land in the image with their modes, symlinks and 0775 dirs', async ({ env }) => {
  const client = await env.client();
  const sub = makeRepo({ 'sub.txt': 'from the submodule\n' });
  const dir = makeRepo({
    'src/main.go': 'package main\n',
    'src/pkg/util/u.go': 'package util\n',
    'src/run.sh': '#!/bin/sh\necho run\n',
    'src/docs/readme.md': 'excluded\n',
    'other/x.txt': 'outside add\n',
  });
  const repo = new CliGitRepo(dir);
  const tarFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-git-tar-')), 'out.tar');
  try {
    fs.chmodSync(path.join(dir, 'src/run.sh'), 0o755);
    fs.symlinkSync('main.go', path.join(dir, 'src/link'));
    git(dir, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', sub, 'src/vendor/sub');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'content');
    const archive = await archiveEntries(repo, 'HEAD', { add: '/src', to: '/app', includePaths: [], excludePaths: ['docs'] });
    const source = gitTreeSource(archive, { mtimeNs: 1_700_000_000_000_000_000n });
    const session = new Session({ syncedDirs: { git: { dir: '', source } }, exportTarget: { kind: 'tar', file: tarFile }, ssh: [] });
    const src = local('git', { sessionId: session.id, sharedKeyHint: `git-${source.id.slice(0, 12)}` });
    const def = marshal(scratch().file(copy(src, '/', '/app', { createDestPath: true })));
    await client.solve({ definition: def, session, exporter: { type: 'tar' } });
    await waitFor(() => session.stats.syncs.length > 0);
    await session.close();
    assert.equal(session.stats.syncs.filter((s) => s.error), []);

    const entries = readTarEntries(fs.readFileSync(tarFile));
    const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
    assert.is(byName.get('app/main.go')!.data.toString(), 'package main\n');
    assert.is(byName.get('app/pkg/util/u.go')!.data.toString(), 'package util\n');
    assert.is(byName.get('app/run.sh')!.mode & 0o777, 0o755);
    assert.is(byName.get('app/main.go')!.mode & 0o777, 0o644);
    assert.is(byName.get('app/link')!.type, 'symlink');
    assert.is(byName.get('app/link')!.linkname, 'main.go');
    assert.is(byName.get('app/pkg')!.mode & 0o777, 0o775);
    assert.is(byName.get('app/vendor/sub/sub.txt')!.data.toString(), 'from the submodule\n');
    assert.not.ok(byName.has('app/docs/readme.md'), 'excluded by the mapping');
    assert.not.ok(byName.has('app/docs'), 'no directory for excluded files');
    assert.not.ok([...byName.keys()].some((k) => k.includes('other')), 'outside add');
  } finally {
    repo.close();
    removeRepo(dir);
    removeRepo(sub);
    fs.rmSync(path.dirname(tarFile), { recursive: true, force: true });
  }
});

t('changed files between two commits as a tree source (a patch as data)', async ({ env }) => {
  const client = await env.client();
  const dir = makeRepo({ 'a.txt': 'a1\n', 'b.txt': 'b1\n', 'keep.txt': 'same\n' });
  const repo = new CliGitRepo(dir);
  const tarFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-git-tar-')), 'out.tar');
  try {
    const c1 = git(dir, 'rev-parse', 'HEAD').trim();
    writeFiles(dir, { 'a.txt': 'a2\n', 'new/n.txt': 'n\n' });
    fs.rmSync(path.join(dir, 'b.txt'));
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', 'two');
    const ch = await changes(repo, c1, 'HEAD', { add: '/', to: '/app', includePaths: [], excludePaths: [] });
    assert.equal(ch.deleted, ['b.txt']);
    const source = gitTreeSource({ entries: ch.changed, repos: ch.repos });
    const session = new Session({ syncedDirs: { patch: { dir: '', source } }, exportTarget: { kind: 'tar', file: tarFile }, ssh: [] });
    const def = marshal(scratch().file(copy(local('patch', { sessionId: session.id }), '/', '/')));
    await client.solve({ definition: def, session, exporter: { type: 'tar' } });
    await session.close();
    const names = readTarEntries(fs.readFileSync(tarFile)).map((e) => e.name.replace(/\/$/, '')).sort();
    assert.equal(names, ['a.txt', 'new', 'new/n.txt']);
  } finally {
    repo.close();
    removeRepo(dir);
    fs.rmSync(path.dirname(tarFile), { recursive: true, force: true });
  }
});

t.run();
