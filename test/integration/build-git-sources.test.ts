/**
 * Git sources beyond the project's own tree, built on the real daemon: remote git mappings
 * (branch / tag / commit from a file:// bare repository, cloned into the cache dir), submodules of
 * a local mapping, and `fromLatest`. Which stages ran comes from the build report; the final
 * image's files are read by running it.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerdOnly, testEnv, testRegistry, type TestEnv, type TestRegistry } from './harness';
import { build, werfProject, type WerfProject } from './werf-project';

const t = suite('build git sources');
const dockerd = dockerdOnly(t, 'the built images are run through the Docker API and bases are tagged in its image store');
let env: TestEnv;
let cliEnv: NodeJS.ProcessEnv;
let registry: TestRegistry | undefined;
const cleanup: (() => void)[] = [];

t.before(async () => {
  env = await testEnv();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
});
t.after(async () => {
  for (const c of cleanup) c();
  await registry?.stop();
  await env.stop();
});

const args = () => ['--addr', env.addr];
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const giterminism = 'giterminismConfigVersion: 1\nconfig:\n  stapel:\n    allowFromLatest: true\n    git:\n      allowBranch: true\n';

function project(files: Record<string, string>): WerfProject {
  const p = werfProject(files);
  cleanup.push(() => p.remove());
  return p;
}

async function run(p: WerfProject) {
  return build(p, args(), { env: cliEnv });
}

async function cat(image: string, file: string): Promise<string> {
  const r = await env.docker.run(image, ['cat', file]);
  if (r.exitCode !== 0) throw new Error(`cat ${file} in ${image}: ${r.stderr}`);
  return r.stdout;
}

async function ls(image: string, dir: string): Promise<string[]> {
  const r = await env.docker.run(image, ['find', dir, '-type', 'f']);
  if (r.exitCode !== 0) throw new Error(`find ${dir} in ${image}: ${r.stderr}`);
  return r.stdout.split('\n').filter(Boolean).map((f) => path.posix.relative(dir, f)).sort();
}

const finalImage = (r: Awaited<ReturnType<typeof run>>, image = 'app'): string => r.report.Images[image].DockerImageName;

/** A bare repository (the "remote") and a working clone that pushes to it. */
function remoteRepo(files: Record<string, string>): { url: string; work: WerfProject; push(files: Record<string, string | null>, msg?: string): string } {
  const work = project(files);
  const bare = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-bare-'));
  cleanup.push(() => fs.rmSync(bare, { recursive: true, force: true }));
  const r = spawnSync('git', ['clone', '-q', '--bare', work.dir, bare], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  work.git('remote', 'add', 'origin', bare);
  return {
    url: `file://${bare}`,
    work,
    push(fs_, msg = 'change') {
      work.write(fs_);
      const c = work.commit(msg);
      work.git('push', '-q', 'origin', 'main');
      return c;
    },
  };
}

function remoteYaml(name: string, url: string, pinned: { tag: string; commit: string }): string {
  return `project: ${name}
configVersion: 1
---
image: app
from: ${env.images.amd64}
git:
- url: ${url}
  branch: main
  add: /lib
  to: /lib-branch
  includePaths: ['*.txt']
- url: ${url}
  tag: ${pinned.tag}
  add: /lib
  to: /lib-tag
- url: ${url}
  commit: ${pinned.commit}
  add: /lib
  to: /lib-commit
shell:
  install:
  - cat /lib-branch/a.txt > /installed
  setup:
  - ls /lib-branch > /setup
`;
}

dockerd('remote git: branch follows pushed commits via gitLatestPatch, tag and commit stay pinned, includePaths filter', async () => {
  const remote = remoteRepo({ 'lib/a.txt': 'a v1\n', 'lib/skip.bin': 'not included\n', 'top.txt': 'outside add\n' });
  const first = remote.work.head();
  remote.work.git('tag', 'v1');
  remote.work.git('push', '-q', 'origin', 'v1');
  const p = project({ 'werf.yaml': remoteYaml(uniq('remote'), remote.url, { tag: 'v1', commit: first }), 'werf-giterminism.yaml': giterminism });

  const a = await run(p);
  assert.equal(a.built, ['app/from', 'app/gitArchive', 'app/install', 'app/setup']);
  let img = finalImage(a);
  assert.equal(await ls(img, '/lib-branch'), ['a.txt']);
  assert.equal(await ls(img, '/lib-tag'), ['a.txt', 'skip.bin']);
  assert.is(await cat(img, '/installed'), 'a v1\n');

  // A new commit on the remote branch: the project did not change, the next build still sees it.
  remote.push({ 'lib/a.txt': 'a v2\n', 'lib/new.txt': 'new\n' });
  const b = await run(p);
  assert.equal(b.built, ['app/gitLatestPatch'], 'no user stage outside stageDependencies runs');
  img = finalImage(b);
  assert.is(await cat(img, '/lib-branch/a.txt'), 'a v2\n');
  assert.is(await cat(img, '/lib-branch/new.txt'), 'new\n');
  assert.is(await cat(img, '/installed'), 'a v1\n', 'install was not rerun');
  assert.is(await cat(img, '/lib-tag/a.txt'), 'a v1\n', 'tag pinned');
  assert.is(await cat(img, '/lib-commit/a.txt'), 'a v1\n', 'commit pinned');
  assert.equal(await ls(img, '/lib-commit'), ['a.txt', 'skip.bin']);

  // Nothing moved: nothing to build.
  const c = await run(p);
  assert.equal(c.built, []);
});

dockerd('remote git: a wrong URL and a missing tag fail with the werf.yaml position of the mapping', async () => {
  const remote = remoteRepo({ 'lib/a.txt': 'a\n' });
  const cases: [string, string, RegExp][] = [
    ['url', `file:///nonexistent/${uniq('repo')}`, /cannot clone file:\/\/\/nonexistent/],
    ['tag', remote.url, /tag "no-such-tag" not found/],
  ];
  for (const [what, url, msg] of cases) {
    const p = project({
      'werf.yaml': `project: ${uniq('badremote')}\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\ngit:\n- add: /\n  to: /local\n- url: ${url}\n  ${what === 'tag' ? 'tag: no-such-tag' : 'branch: main'}\n  add: /lib\n  to: /lib\n`,
      'werf-giterminism.yaml': giterminism,
    });
    const r = await build(p, args(), { env: cliEnv, expectFail: true });
    assert.is.not(r.code, 0, what);
    assert.match(r.stderr, msg, what);
    // The second mapping's item starts on line 9 of werf.yaml.
    assert.match(r.stderr, /werf\.yaml:9/, `${what}: position of git[1]`);
    assert.ok(r.stderr.includes(`image "app" → git[1].${what}:`), `${what}: key path in ${r.stderr}`);
    assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
  }
});

function git(cwd: string, ...a: string[]): string {
  const r = spawnSync('git', ['-c', 'protocol.file.allow=always', ...a], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1', HOME: cwd },
  });
  if (r.status !== 0) throw new Error(`git ${a.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

dockerd('submodules: files at the recorded commit, a bumped commit arrives by patch, uncommitted files stay out', async () => {
  const sub = project({ 'lib.txt': 'sub v1\n', 'deep/x.txt': 'x v1\n' });
  const name = uniq('submod');
  const p = project({
    'werf.yaml': `project: ${name}\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\ngit:\n- add: /src\n  to: /app\nshell:\n  install:\n  - ls /app > /installed\n`,
    'src/own.txt': 'own\n',
  });
  git(p.dir, 'submodule', 'add', '-q', `file://${sub.dir}`, 'src/vendor');
  p.commit('add submodule');
  // Moves on in the submodule's origin after it was recorded: must not show up.
  sub.write({ 'lib.txt': 'sub v2\n' });
  const v2 = sub.commit('v2');

  const a = await run(p);
  assert.ok(a.built.includes('app/gitArchive'));
  let img = finalImage(a);
  assert.equal(await ls(img, '/app'), ['own.txt', 'vendor/deep/x.txt', 'vendor/lib.txt']);
  assert.is(await cat(img, '/app/vendor/lib.txt'), 'sub v1\n');

  // Bump the recorded commit; also leave an uncommitted file in the submodule's working tree.
  const wt = path.join(p.dir, 'src/vendor');
  git(wt, 'fetch', '-q', 'origin');
  git(wt, 'checkout', '-q', v2);
  fs.writeFileSync(path.join(wt, 'untracked.txt'), 'not committed\n');
  fs.writeFileSync(path.join(wt, 'deep/x.txt'), 'dirty edit\n');
  p.git('add', 'src/vendor');
  p.git('commit', '-q', '-m', 'bump submodule');

  const b = await run(p);
  assert.equal(b.built, ['app/gitLatestPatch']);
  img = finalImage(b);
  assert.is(await cat(img, '/app/vendor/lib.txt'), 'sub v2\n');
  assert.is(await cat(img, '/app/vendor/deep/x.txt'), 'x v1\n', 'working-tree edit stays out');
  assert.equal(await ls(img, '/app/vendor'), ['deep/x.txt', 'lib.txt'], 'untracked file stays out');
});

/**
 * A busybox-derived image with /marker, tagged `repo:latest` in the test dockerd's image store and
 * pushed to the test registry: werf resolves a fromLatest base in the registry, not a local store.
 */
async function markedBase(repo: string, marker: string): Promise<string> {
  const p = project({ 'werf.yaml': `project: ${uniq('base')}\nconfigVersion: 1\n---\nimage: base\nfrom: ${env.images.amd64}\nshell:\n  install:\n  - echo ${marker} > /marker\n` });
  const img = finalImage(await run(p), 'base');
  await env.docker.tagImage(img, repo, 'latest');
  await env.docker.pushImage(repo, 'latest');
  return (await env.docker.inspectImage(img))!.Id;
}

function fromYaml(name: string, base: string, fromLatest: boolean): string {
  return `project: ${name}\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nfromLatest: ${fromLatest}\nshell:\n  install:\n  - cat /marker > /seen\n`;
}

// werf: with fromLatest the from stage's digest hashes the base's image id as resolved now, so a
// retagged base rebuilds every stage. Without it the digest hashes only the name (and
// fromCacheVersion): werf keeps building on the stages made from the old base — nothing rebuilds and
// the image still has the old marker until fromCacheVersion changes.
dockerd('fromLatest: a retagged base rebuilds every stage; without fromLatest nothing rebuilds', async () => {
  registry ??= await testRegistry();
  const repo = `${registry.host}/stapelkit-test/base-${process.pid}-${++seq}`;
  const base = `${repo}:latest`;
  const id1 = await markedBase(repo, 'one');
  const latest = project({ 'werf.yaml': fromYaml(uniq('latest'), base, true), 'werf-giterminism.yaml': giterminism });
  const pinned = project({ 'werf.yaml': fromYaml(uniq('pinned'), base, false) });

  const a = await run(latest);
  assert.equal(a.built, ['app/from', 'app/install']);
  assert.is(await cat(finalImage(a), '/seen'), 'one\n');
  const a2 = await run(pinned);
  assert.equal(a2.built, ['app/from', 'app/install']);
  assert.is(await cat(finalImage(a2), '/seen'), 'one\n');

  const id2 = await markedBase(repo, 'two');
  assert.is.not(id2, id1);

  const b = await run(latest);
  assert.equal(b.built, ['app/from', 'app/install']);
  assert.is(await cat(finalImage(b), '/marker'), 'two\n');
  assert.is(await cat(finalImage(b), '/seen'), 'two\n');
  assert.equal((await run(latest)).built, [], 'the same base again: nothing');

  const b2 = await run(pinned);
  assert.equal(b2.built, []);
  assert.is(await cat(finalImage(b2), '/seen'), 'one\n');
});

t.run();
