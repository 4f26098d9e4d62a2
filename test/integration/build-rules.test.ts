/**
 * werf's rebuild table on the real daemon (seed 004): for each kind of change, exactly the stages
 * werf would rebuild are built, the rest come from the stages storage, and the final image holds
 * the expected files. Which stages ran comes from the build report (`Rebuilt`).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerdOnly, testEnv, type TestEnv } from './harness';
import { build, werfProject, type WerfProject } from './werf-project';

const t = suite('build rules');
const dockerd = dockerdOnly(t, 'the built images are inspected and run through the Docker API');
let env: TestEnv;
let cliEnv: NodeJS.ProcessEnv;

t.before(async () => {
  env = await testEnv();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')), SECRET_VALUE: 'one' };
});
t.after(async () => {
  await env.stop();
});

function werfYaml(project: string, o: { beforeInstall?: string; installCacheVersion?: string; fromCacheVersion?: string; env?: string } = {}): string {
  return `project: ${project}
configVersion: 1
---
image: app
from: ${env.images.amd64}
fromCacheVersion: "${o.fromCacheVersion ?? '1'}"
git:
- add: /src
  to: /app
  stageDependencies:
    install:
    - deps/*
secrets:
- env: SECRET_VALUE
shell:
  beforeInstall:
  - ${o.beforeInstall ?? 'echo bi > /bi'}
  install:
  - cat /app/deps/* > /installed
  - cat /run/secrets/SECRET_VALUE > /dev/null
  setup:
  - ls /app > /setup
  installCacheVersion: "${o.installCacheVersion ?? '1'}"
imageSpec:
  config:
    env:
      A: "${o.env ?? '1'}"
`;
}

const giterminism = 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [SECRET_VALUE]\n';

let seq = 0;
function newProject(): { p: WerfProject; name: string } {
  const name = `rules-${process.pid}-${++seq}`;
  const p = werfProject({
    'werf.yaml': werfYaml(name),
    'werf-giterminism.yaml': giterminism,
    'src/deps/a.txt': 'dep a\n',
    'src/other.txt': 'other v1\n',
    'src/gone.txt': 'to be deleted\n',
  });
  return { p, name };
}

const args = () => ['--addr', env.addr];

async function run(p: WerfProject, extraEnv: NodeJS.ProcessEnv = {}) {
  return build(p, args(), { env: { ...cliEnv, ...extraEnv } });
}

async function cat(image: string, file: string): Promise<string> {
  const r = await env.docker.run(image, ['cat', file]);
  if (r.exitCode !== 0) throw new Error(`cat ${file} in ${image}: ${r.stderr}`);
  return r.stdout;
}

async function exists(image: string, file: string): Promise<boolean> {
  return (await env.docker.run(image, ['test', '-e', file])).exitCode === 0;
}

function finalImage(r: Awaited<ReturnType<typeof run>>): string {
  return r.report.Images.app.DockerImageName;
}

dockerd('first build builds every stage; a rebuild with no change builds none', async () => {
  const { p } = newProject();
  const a = await run(p);
  assert.equal(a.built, ['app/from', 'app/beforeInstall', 'app/gitArchive', 'app/install', 'app/setup', 'app/imageSpec']);
  const img = finalImage(a);
  assert.is(await cat(img, '/installed'), 'dep a\n');
  assert.is(await cat(img, '/app/other.txt'), 'other v1\n');
  const b = await run(p);
  assert.equal(b.built, []);
  assert.is(finalImage(b), img);
  p.remove();
});

dockerd('beforeInstall command change: beforeInstall and every later stage', async () => {
  const { p, name } = newProject();
  await run(p);
  p.write({ 'werf.yaml': werfYaml(name, { beforeInstall: 'echo changed > /bi' }) });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/beforeInstall', 'app/gitArchive', 'app/install', 'app/setup', 'app/imageSpec']);
  assert.is(await cat(finalImage(r), '/bi'), 'changed\n');
  p.remove();
});

dockerd('installCacheVersion change: install and later, not beforeInstall or gitArchive', async () => {
  const { p, name } = newProject();
  await run(p);
  p.write({ 'werf.yaml': werfYaml(name, { installCacheVersion: '2' }) });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/install', 'app/setup', 'app/imageSpec']);
  p.remove();
});

dockerd('a file under install stageDependencies: install and later run and see it', async () => {
  const { p } = newProject();
  await run(p);
  p.write({ 'src/deps/a.txt': 'dep a v2\n' });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/install', 'app/setup', 'app/imageSpec']);
  assert.is(await cat(finalImage(r), '/installed'), 'dep a v2\n');
  p.remove();
});

dockerd('a file outside every stageDependencies: no user stage, gitLatestPatch brings it', async () => {
  const { p } = newProject();
  await run(p);
  p.write({ 'src/other.txt': 'other v2\n' });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/gitLatestPatch', 'app/imageSpec']);
  const img = finalImage(r);
  assert.is(await cat(img, '/app/other.txt'), 'other v2\n');
  assert.is(await cat(img, '/installed'), 'dep a\n');
  p.remove();
});

dockerd('a pending patch of 1 MiB goes into gitCache; the next small edit is gitLatestPatch\'s, gitCache from storage', async () => {
  const { p } = newProject();
  await run(p);
  // Text (a patch of it is its size), 1.2 MiB, outside every stageDependencies.
  const big = Array.from({ length: 20_000 }, (_, i) => `line ${i} ${'x'.repeat(50)}`).join('\n') + '\n';
  assert.ok(big.length > 1.1 * 1024 * 1024);
  p.write({ 'src/big.txt': big });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/gitCache', 'app/imageSpec'], 'gitCache holds the big patch; gitLatestPatch has nothing left to apply');
  const img = finalImage(r);
  assert.is((await env.docker.run(img, ['sh', '-c', 'wc -c < /app/big.txt'])).stdout.trim(), String(big.length));
  p.write({ 'src/other.txt': 'other v2\n' });
  p.commit();
  const r2 = await run(p);
  assert.equal(r2.built, ['app/gitLatestPatch', 'app/imageSpec'], 'the pending patch is still in the same 1 MiB step: gitCache is the stored one');
  const img2 = finalImage(r2);
  assert.is(await cat(img2, '/app/other.txt'), 'other v2\n');
  assert.is((await env.docker.run(img2, ['sh', '-c', 'wc -c < /app/big.txt'])).stdout.trim(), String(big.length));
  p.remove();
});

dockerd('a deleted file is gone from the final image', async () => {
  const { p } = newProject();
  const a = await run(p);
  assert.ok(await exists(finalImage(a), '/app/gone.txt'));
  p.write({ 'src/gone.txt': null });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/gitLatestPatch', 'app/imageSpec']);
  assert.not.ok(await exists(finalImage(r), '/app/gone.txt'));
  p.remove();
});

dockerd('fromCacheVersion change: every stage', async () => {
  const { p, name } = newProject();
  await run(p);
  p.write({ 'werf.yaml': werfYaml(name, { fromCacheVersion: '2' }) });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/from', 'app/beforeInstall', 'app/gitArchive', 'app/install', 'app/setup', 'app/imageSpec']);
  p.remove();
});

dockerd('only imageSpec changes: no user stage runs, the config changes', async () => {
  const { p, name } = newProject();
  await run(p);
  p.write({ 'werf.yaml': werfYaml(name, { env: '2' }) });
  p.commit();
  const r = await run(p);
  assert.equal(r.built, ['app/imageSpec']);
  const inspect = await env.docker.inspectImage(finalImage(r));
  assert.ok(inspect?.Config?.Env?.includes('A=2'), JSON.stringify(inspect?.Config?.Env));
  p.remove();
});

dockerd('a secret value change rebuilds nothing; the value is in no layer or label', async () => {
  const { p } = newProject();
  await run(p);
  const r = await run(p, { SECRET_VALUE: 'two-very-secret' });
  assert.equal(r.built, []);
  const inspect = await env.docker.inspectImage(finalImage(r));
  assert.not.ok(JSON.stringify(inspect).includes('two-very-secret'));
  p.remove();
});

dockerd('a new commit without content change rebuilds nothing', async () => {
  const { p } = newProject();
  await run(p);
  p.commit('empty commit');
  const a = await run(p);
  assert.equal(a.built, []);
  p.write({ 'README.md': 'not mapped\n' });
  p.commit('unmapped file');
  const b = await run(p);
  assert.equal(b.built, []);
  p.remove();
});

dockerd('amend and rebase with unchanged content rebuild nothing (werf would rebuild the git stages)', async () => {
  const { p } = newProject();
  await run(p);
  p.write({ 'src/other.txt': 'other v2\n' });
  p.commit('change');
  const a = await run(p);
  assert.equal(a.built, ['app/gitLatestPatch', 'app/imageSpec']);
  // The stored gitLatestPatch recorded a commit that is no ancestor of the amended HEAD.
  p.commit('change, reworded', { amend: true });
  const b = await run(p);
  assert.equal(b.built, []);
  assert.is(await cat(finalImage(b), '/app/other.txt'), 'other v2\n');
  // Rebase the change onto a new unrelated commit of the base.
  const changed = p.head();
  p.git('checkout', '-q', '-b', 'side', 'HEAD~1');
  p.write({ 'NOTES.md': 'unmapped\n' });
  const side = p.commit('side work');
  p.git('checkout', '-q', 'main');
  p.git('rebase', '-q', side);
  assert.is.not(p.head(), changed);
  const c = await run(p);
  assert.equal(c.built, []);
  p.remove();
});

t.run();
