/**
 * Issue test (1): `DOCKER_BUILDKIT=1 docker build -f werf.yaml .` with Debian's docker CLI on a
 * Stapel project with git mappings (include/exclude, a file add, stageDependencies), an import, a
 * build_dir cache mount and a secret; the context carries `.git`. Checks the image's files and
 * config; then edits a file outside stageDependencies (install stays CACHED, the new content is in
 * the image) and one inside (install runs again).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frontendImage, projectDir, dockerBuildWerf } from './frontend-helpers';
import { testEnv, testImageName, type TestEnv } from './harness';
import { git } from '../unit/git/repo';


const t = suite<{ env: TestEnv; image: string; cleanups: (() => void)[] }>('frontend image: git mappings');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.cleanups = [];
  ctx.image = await frontendImage(ctx.env.docker);
});
t.after(async (ctx) => {
  for (const c of ctx.cleanups ?? []) c();
  await ctx.env?.stop();
});

function dockerBuild(env: TestEnv, dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return dockerBuildWerf(env.dockerSocket, dir, args);
}

/** Whether the plain-progress vertex named `… stage <stage>` (the user commands' exec) was CACHED. */
function stageCached(out: string, stage: string): boolean {
  const ids = [...out.matchAll(new RegExp(`^#(\\d+) [^\\n]*stage ${stage}\\n`, 'gm'))].map((m) => m[1]);
  assert.ok(ids.length > 0, `no "stage ${stage}" vertex in:\n${out}`);
  return ids.every((id) => new RegExp(`^#${id} CACHED$`, 'm').test(out));
}

t('docker build -f werf.yaml: git mappings, an import, a build_dir cache, a secret; a second build keeps install cached', async (ctx) => {
  const base = ctx.env.images.amd64;
  const werfYaml = `# syntax=${ctx.image}
project: demo
configVersion: 1
---
image: lib
from: ${base}
shell:
  install: mkdir -p /out && echo lib-built > /out/lib.txt
---
image: app
from: ${base}
git:
- add: /
  to: /app
  includePaths: [src, package.json, README.md]
  excludePaths: ['src/**/*.tmp']
  stageDependencies:
    install: [package.json]
- add: /config/app.conf
  to: /etc/app.conf
import:
- image: lib
  add: /out
  to: /lib
  after: install
secrets:
- env: SECRET_VALUE
mount:
- from: build_dir
  to: /cache
shell:
  install:
  - (cd /app && find . -type f | sort) > /install-saw
  - cat /proc/sys/kernel/random/uuid > /install-id
  - test "$(cat /run/secrets/SECRET_VALUE)" = s3cret && echo secret-ok > /secret-ok
  - echo cached > /cache/f && cp /cache/f /from-cache
  - echo "commit=\${WERF_COMMIT_HASH:-unset} time=\${WERF_COMMIT_TIME_UNIX:-unset}" > /commit-env
docker:
  WORKDIR: /app
  ENV:
    MODE: prod
`;
  const giterminism = 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [SECRET_VALUE]\n  stapel:\n    mount:\n      allowBuildDir: true\n';
  const p = projectDir({
    'werf.yaml': werfYaml,
    'werf-giterminism.yaml': giterminism,
    '.dockerignore': '.docker-config\nsecret.txt\n',
    'secret.txt': 's3cret',
    'package.json': '{"name":"app","version":"1"}\n',
    'README.md': 'readme 1\n',
    'src/main.txt': 'main\n',
    'src/lib/util.txt': 'util\n',
    'src/scratch.tmp': 'tmp\n',
    'other.txt': 'not mapped\n',
    'config/app.conf': 'port=80\n',
  });
  ctx.cleanups.push(p.cleanup);
  const dir = p.dir;
  git(dir, 'init', '-q');
  git(dir, 'add', 'werf.yaml', 'package.json', 'README.md', 'src', 'config');
  git(dir, 'commit', '-q', '-m', 'init');
  const head = git(dir, 'rev-parse', 'HEAD').trim();
  const build = async () => {
    const name = testImageName('frontend-git');
    const r = await dockerBuild(ctx.env, dir, ['-t', name, '--target', 'app', '--secret', `id=SECRET_VALUE,src=${dir}/secret.txt`]);
    assert.is(r.code, 0, r.out);
    return { name, out: r.out };
  };
  const run = async (name: string, script: string) => {
    const o = await ctx.env.docker.run(name, ['sh', '-c', script]);
    assert.is(o.exitCode, 0, o.stderr);
    return o.stdout;
  };

  const b1 = await build();
  const files = await run(b1.name, 'cd /app && find . | sort; cat /etc/app.conf /lib/lib.txt /secret-ok /from-cache /commit-env; ls /cache | wc -l');
  assert.is(
    files,
    ['.', './README.md', './package.json', './src', './src/lib', './src/lib/util.txt', './src/main.txt', 'port=80', 'lib-built', 'secret-ok', 'cached', `commit=${head} time=1704153845`, '0', ''].join('\n'),
    'include/exclude applied, no .git, the file add, the import, the secret, the cache mount, WERF_COMMIT_* from .git',
  );
  // install saw only what it depends on (stageDependencies.install); the rest arrived after it.
  assert.is(await run(b1.name, 'cat /install-saw'), './package.json\n');
  assert.is(await run(b1.name, 'grep -rl s3cret / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | wc -l'), '0\n', 'the secret is in no layer');
  const info = await ctx.env.docker.inspectImage(b1.name);
  assert.is(info!.Config?.WorkingDir, '/app');
  assert.ok(info!.Config?.Env?.includes('MODE=prod'), JSON.stringify(info!.Config?.Env));
  const labels = info!.Config?.Labels ?? {};
  const commitLabels = Object.entries(labels).filter(([k]) => /^werf-git-[0-9a-f]+-commit$/.test(k));
  assert.is(commitLabels.length, 2, JSON.stringify(labels));
  assert.ok(commitLabels.every(([, v]) => v === head), 'the mappings record the .git HEAD');
  assert.is(labels['werf-project-repo-commit'], head);
  const id1 = await run(b1.name, 'cat /install-id');

  // A file outside stageDependencies (uncommitted: the context is the snapshot): install comes from the cache.
  fs.writeFileSync(path.join(dir, 'README.md'), 'readme 2\n');
  fs.writeFileSync(path.join(dir, 'src/new.txt'), 'new\n');
  const b2 = await build();
  assert.ok(stageCached(b2.out, 'install'), `install should be CACHED:\n${b2.out}`);
  assert.is(await run(b2.name, 'cat /install-id'), id1);
  assert.is(await run(b2.name, 'cat /app/README.md /app/src/new.txt'), 'readme 2\nnew\n', 'the new content is in the image');

  // A file in stageDependencies.install: install runs again.
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"app","version":"2"}\n');
  const b3 = await build();
  assert.not.ok(stageCached(b3.out, 'install'), 'install runs again');
  assert.is.not(await run(b3.name, 'cat /install-id'), id1);
  assert.is(await run(b3.name, 'cat /app/package.json /app/README.md'), '{"name":"app","version":"2"}\nreadme 2\n');
  for (const b of [b1, b2, b3]) await ctx.env.docker.removeImage(b.name);
});

t('docker build: no .git in the context: content commit ids, WERF_COMMIT_* unset; a mapping that matches nothing is positioned', async (ctx) => {
  const base = ctx.env.images.amd64;
  const werfYaml = (add: string) => `# syntax=${ctx.image}
project: demo
configVersion: 1
---
image: app
from: ${base}
git:
- add: ${add}
  to: /app
shell:
  install: echo "commit=\${WERF_COMMIT_HASH:-unset}" > /commit-env; ls /app | wc -l > /install-saw
`;
  const p = projectDir({ 'werf.yaml': werfYaml('/src'), '.dockerignore': '.docker-config\n', 'src/a.txt': 'a\n' });
  ctx.cleanups.push(p.cleanup);
  const name = testImageName('frontend-git-nogit');
  const r = await dockerBuild(ctx.env, p.dir, ['-t', name]);
  assert.is(r.code, 0, r.out);
  // No stageDependencies: install sees none of the mapping's files; they arrive after it.
  assert.is((await ctx.env.docker.run(name, ['sh', '-c', 'cat /commit-env /install-saw /app/a.txt'])).stdout, 'commit=unset\n0\na\n');
  const labels = (await ctx.env.docker.inspectImage(name))!.Config?.Labels ?? {};
  const commit = Object.entries(labels).find(([k]) => /^werf-git-[0-9a-f]+-commit$/.test(k))?.[1] ?? '';
  assert.match(commit, /^[0-9a-f]{40}$/, 'a content id');
  await ctx.env.docker.removeImage(name);

  fs.writeFileSync(path.join(p.dir, 'werf.yaml'), werfYaml('/nope'));
  const bad = await dockerBuild(ctx.env, p.dir, []);
  assert.is(bad.code, 1, bad.out);
  assert.match(bad.out, /werf\.yaml:\d+:\d+: .*git\.add: \/nope.* matches no files/, bad.out);
});

t.run();
