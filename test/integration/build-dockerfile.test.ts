/**
 * Dockerfile images of werf.yaml through `stapelkit build` on the real daemon, mixed with Stapel
 * images: dependency build args the Dockerfile saw (ImageName/ImageID/ImageRepo/ImageTag), the
 * dependency linked as FROM, `target`, `.dockerignore`, a secret readable in RUN and absent from
 * the image, imageSpec applied, Stapel importers (`import`, dependencies' targetEnv) of a
 * Dockerfile image; what a change rebuilds (a file no COPY reads: nothing; a COPYed file: the
 * Dockerfile image, its importers only when the imported files changed); bad input.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, testRegistry, type TestEnv } from './harness';
import { build, werfProject } from './werf-project';

const t = suite('build dockerfile images');
let env: TestEnv;
let cliEnv: NodeJS.ProcessEnv;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;
const SECRET = `df-s3cr3t-${Date.now()}`;

t.before(async () => {
  env = await testEnv();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
});
t.after(async () => {
  await env.stop();
});

const args = () => ['--addr', env.addr];

async function sh(image: string, script: string): Promise<string> {
  const r = await env.docker.run(image, ['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${script} in ${image}: ${r.stderr}`);
  return r.stdout;
}

function mixed(project: string, bb: string): Record<string, string> {
  return {
    'werf.yaml': `project: ${project}
configVersion: 1
---
image: base
final: false
from: ${bb}
shell:
  install:
  - mkdir -p /base && echo base-data > /base/data
---
image: df
dockerfile: Dockerfile
context: app
target: final
args:
  GREETING: hello
dependencies:
- image: base
  imports:
  - type: ImageName
    targetBuildArg: BASE_NAME
  - type: ImageID
    targetBuildArg: BASE_ID
  - type: ImageRepo
    targetBuildArg: BASE_REPO
  - type: ImageTag
    targetBuildArg: BASE_TAG
secrets:
- id: tok
  value: ${SECRET}
imageSpec:
  config:
    removeLabels: [/df\\.drop\\..*/]
    labels:
      team: "%image%-team"
    env:
      FROM_SPEC: "yes"
---
image: consumer
from: ${bb}
import:
- image: df
  add: /out
  to: /imported
  before: install
shell:
  install:
  - ls /imported > /listing
---
image: ontop
fromImage: df
shell:
  install:
  - cat /final /out/a.txt > /seen
---
image: user
from: ${bb}
dependencies:
- image: df
  after: install
  imports:
  - type: ImageName
    targetEnv: DF_IMAGE
shell:
  install:
  - echo user > /user
`,
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowValueIds: [tok]\n',
    'app/Dockerfile': `ARG BASE_NAME
FROM \${BASE_NAME} AS builder
ARG BASE_NAME
ARG BASE_ID
ARG BASE_REPO
ARG BASE_TAG
ARG GREETING
COPY src/ /out/
COPY extra.txt /extra.txt
RUN --mount=type=secret,id=tok md5sum < /run/secrets/tok > /secret-md5
RUN printf '%s\\n' "$BASE_NAME" "$BASE_ID" "$BASE_REPO" "$BASE_TAG" "$GREETING" > /args.txt
FROM builder AS final
LABEL df.drop.me=1 df.keep=1
RUN echo final > /final
FROM builder AS other
RUN echo other > /other
`,
    'app/.dockerignore': 'src/ignored.txt\n',
    'app/src/a.txt': 'a1\n',
    'app/src/ignored.txt': 'ignored\n',
    'app/extra.txt': 'extra1\n',
    'app/unrelated.txt': 'nobody copies me\n',
  };
}

t('a mixed Stapel + Dockerfile project: build args, FROM a dependency, target, .dockerignore, secret, imageSpec, importers; what edits rebuild', async () => {
  const name = uniq('mixed');
  const p = werfProject(mixed(name, env.images.amd64));
  const r = await build(p, args(), { env: cliEnv });
  const images = r.report.Images;
  assert.equal(Object.keys(images).sort(), ['base', 'consumer', 'df', 'ontop', 'user']);
  assert.ok(r.built.includes('df/dockerfile') && r.built.includes('df/imageSpec'), r.built.join());
  const df = images.df.DockerImageName;
  const baseName = images.base.DockerImageName;

  // Build args the Dockerfile saw.
  const seen = (await sh(df, 'cat /args.txt')).split('\n');
  assert.is(seen[0], baseName, 'ImageName');
  assert.match(seen[1], /^sha256:[0-9a-f]{64}$/, 'ImageID');
  assert.is(`${seen[2]}:${seen[3]}`, baseName, 'ImageRepo:ImageTag');
  assert.is(seen[4], 'hello', 'args');
  const baseInspect = await env.docker.inspectImage(baseName);
  assert.is(seen[1], baseInspect?.Id);
  // FROM the dependency (linked by its name), the target stage, .dockerignore.
  assert.is(await sh(df, 'cat /base/data /final /out/a.txt'), 'base-data\nfinal\na1\n');
  assert.is(await sh(df, 'test -e /other && echo yes || echo no'), 'no\n', 'target: final, not the last stage');
  assert.is(await sh(df, 'test -e /out/ignored.txt && echo yes || echo no'), 'no\n', '.dockerignore honoured');
  // The secret was readable in RUN and is nowhere in the image.
  assert.is((await sh(df, 'cat /secret-md5')).trim().split(/\s+/)[0], crypto.createHash('md5').update(SECRET).digest('hex'));
  assert.is(await sh(df, 'test -e /run/secrets/tok && echo yes || echo no'), 'no\n');
  const saved = await env.docker.call(`/images/${encodeURIComponent(df)}/get`);
  assert.not.ok(saved.body.includes(Buffer.from(SECRET)), 'the secret value is in no layer, config or history');
  assert.not.ok((r.stdout + r.stderr).includes(SECRET), 'nor in the output');
  // imageSpec applied as a config change; werf's labels on the image.
  const inspect = await env.docker.inspectImage(df);
  assert.is(inspect?.Config?.Labels?.team, 'df-team');
  assert.is(inspect?.Config?.Labels?.['df.keep'], '1');
  assert.not.ok('df.drop.me' in (inspect?.Config?.Labels ?? {}), 'a Dockerfile LABEL removed by imageSpec.removeLabels');
  assert.ok(inspect?.Config?.Env?.includes('FROM_SPEC=yes'), JSON.stringify(inspect?.Config?.Env));
  assert.match(inspect?.Config?.Labels?.['werf-stage-content-digest'] ?? '', /^[0-9a-f]{56}$/);
  assert.is(inspect?.Config?.Labels?.werf, name);
  // Stapel importers of the Dockerfile image.
  assert.is(await sh(images.consumer.DockerImageName, 'cat /listing; cat /imported/a.txt'), 'a.txt\na1\n');
  const userEnv = (await env.docker.inspectImage(images.user.DockerImageName))?.Config?.Env ?? [];
  assert.ok(userEnv.includes(`DF_IMAGE=${df}`), JSON.stringify(userEnv));

  // A Stapel image on top of the Dockerfile image: its files, and imageSpec's env inherited.
  assert.is(await sh(images.ontop.DockerImageName, 'cat /seen; echo $FROM_SPEC'), 'final\na1\nyes\n');

  // Nothing changed: nothing built.
  assert.equal((await build(p, args(), { env: cliEnv })).built, []);

  // A file no ADD/COPY reads: nothing rebuilt.
  p.write({ 'app/unrelated.txt': 'changed\n', 'app/src/ignored.txt': 'ignored too\n' });
  p.commit('unrelated');
  assert.equal((await build(p, args(), { env: cliEnv })).built, [], 'a file no COPY reads (or .dockerignore drops) changes nothing');

  // A COPYed file outside what consumer imports: df and its dependency user rebuild, consumer does not.
  p.write({ 'app/extra.txt': 'extra2\n' });
  p.commit('extra');
  const r2 = await build(p, [...args(), '--explain'], { env: cliEnv });
  assert.ok(r2.built.includes('df/dockerfile'), r2.built.join());
  assert.match(r2.stdout, /files of COPY extra\.txt \/extra\.txt: /, '--explain names the COPY whose files changed');
  assert.not.match(r2.stdout, /files of COPY src\/ \/out\/: /);
  assert.equal(r2.built.filter((s) => s.startsWith('consumer/')), [], `imported files unchanged: ${r2.built.join()}`);
  assert.ok(r2.built.some((s) => s.startsWith('user/')), `a new ImageName for the dependency: ${r2.built.join()}`);
  assert.ok(r2.built.includes('ontop/from'), `a new base: ${r2.built.join()}`);
  assert.is(await sh(r2.report.Images.df.DockerImageName, 'cat /extra.txt'), 'extra2\n');

  // A COPYed file consumer imports: consumer rebuilds too.
  p.write({ 'app/src/a.txt': 'a2\n' });
  p.commit('a');
  const r3 = await build(p, args(), { env: cliEnv });
  assert.ok(r3.built.includes('df/dockerfile'), r3.built.join());
  assert.ok(r3.built.some((s) => s.startsWith('consumer/')), r3.built.join());
  assert.is(await sh(r3.report.Images.consumer.DockerImageName, 'cat /imported/a.txt'), 'a2\n');
  p.remove();
});

t('<dockerfile>.dockerignore wins over .dockerignore; contextAddFiles come from the work tree; --dev takes the work tree', async () => {
  const name = uniq('ctx');
  const p = werfProject({
    'werf.yaml': `project: ${name}\nconfigVersion: 1\n---\nimage: app\ndockerfile: docker/app.Dockerfile\ncontextAddFiles: [generated.txt]\n`,
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  dockerfile:\n    allowContextAddFiles: [generated.txt]\n',
    'docker/app.Dockerfile': `FROM ${env.images.amd64}\nCOPY . /ctx/\n`,
    'docker/app.Dockerfile.dockerignore': 'b.txt\n',
    '.dockerignore': 'a.txt\n',
    'a.txt': 'a\n',
    'b.txt': 'b\n',
    '.gitignore': 'generated.txt\n',
  });
  p.write({ 'generated.txt': 'gen1\n' });
  const r = await build(p, args(), { env: cliEnv });
  const img = r.report.Images.app.DockerImageName;
  assert.is(await sh(img, 'cat /ctx/a.txt /ctx/generated.txt; test -e /ctx/b.txt && echo b || echo no-b'), 'a\ngen1\nno-b\n');
  // An uncommitted change of a file a COPY reads: refused (giterminism) at the COPY, but --dev takes it.
  p.write({ 'a.txt': 'a-dirty\n' });
  const refused = await build(p, args(), { env: cliEnv, expectFail: true });
  assert.is.not(refused.code, 0);
  assert.match(refused.stderr, /docker\/app\.Dockerfile:2:1: .*COPY \. \/ctx\/: the build context files "a\.txt" must be committed/);
  // … unless no COPY reads it (b.txt is in app.Dockerfile.dockerignore).
  p.write({ 'a.txt': 'a\n', 'b.txt': 'b-dirty\n' });
  assert.equal((await build(p, args(), { env: cliEnv })).built, []);
  p.write({ 'a.txt': 'a-dirty\n', 'b.txt': 'b\n' });
  const dev = await build(p, [...args(), '--dev'], { env: cliEnv });
  assert.equal(dev.built, ['app/dockerfile']);
  assert.is(await sh(dev.report.Images.app.DockerImageName, 'cat /ctx/a.txt; test -e /ctx/.git && echo git || echo no-git'), 'a-dirty\nno-git\n', 'the work tree without .git');
  // A contextAddFile edit rebuilds.
  p.write({ 'generated.txt': 'gen2\n', 'a.txt': 'a\n' });
  const r2 = await build(p, args(), { env: cliEnv });
  assert.equal(r2.built, ['app/dockerfile']);
  assert.is(await sh(r2.report.Images.app.DockerImageName, 'cat /ctx/generated.txt'), 'gen2\n');
  p.remove();
});

t('platform: an arm64 Dockerfile image under qemu gets TARGETARCH and an arm64 config', async () => {
  if (!env.images.arm64) {
    process.stderr.write(`skipping arm64: ${env.images.arm64Note}\n`);
    return;
  }
  const p = werfProject({
    'werf.yaml': `project: ${uniq('dfarm')}\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\nplatform: [linux/arm64]\n`,
    Dockerfile: `FROM ${env.images.arm64}\nARG TARGETARCH\nRUN echo "$TARGETARCH $(uname -m)" > /arch\n`,
  });
  const r = await build(p, args(), { env: cliEnv });
  const img = r.report.Images.app.DockerImageName;
  assert.is((await env.docker.inspectImage(img))?.Architecture, 'arm64');
  assert.is((await env.docker.run(img, ['cat', '/arch'], { platform: 'linux/arm64' })).stdout, 'arm64 aarch64\n');
  p.remove();
});

t('ssh (an agent socket named in werf.yaml), addHost and network', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-agent-'));
  const sock = path.join(dir, 'agent.sock');
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 100));
    const p = werfProject({
      'werf.yaml': `project: ${uniq('net')}\nconfigVersion: 1\n---\nimage: app\ndockerfile: Dockerfile\nssh: default=${sock}\naddHost: [db.internal:10.1.2.3]\nnetwork: none\n`,
      Dockerfile: `FROM ${env.images.amd64}\nRUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo ssh-ok > /ssh\nRUN grep db.internal /etc/hosts > /hosts; ls /sys/class/net > /net\n`,
    });
    const { SSH_AUTH_SOCK: _drop, ...noAgent } = cliEnv;
    const r = await build(p, args(), { env: noAgent });
    const img = r.report.Images.app.DockerImageName;
    assert.is(await sh(img, 'cat /ssh'), 'ssh-ok\n');
    assert.match(await sh(img, 'cat /hosts'), /^10\.1\.2\.3\s+db\.internal/);
    assert.is(await sh(img, 'cat /net'), 'lo\n', 'network: none');
    p.remove();
  } finally {
    agent.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

t('a registry stages storage: ImageDigest is the manifest digest, the dependency is FROM by its registry name', async () => {
  const registry = await testRegistry();
  try {
    const name = uniq('reg');
    const repo = `${registry.host}/${name}`;
    const p = werfProject({
      'werf.yaml': `project: ${name}\nconfigVersion: 1\n---\nimage: base\nfinal: false\nfrom: ${env.images.amd64}\nshell:\n  install:\n  - echo from-base > /b\n---\nimage: app\ndockerfile: Dockerfile\ndependencies:\n- image: base\n  imports:\n  - type: ImageName\n    targetBuildArg: BASE\n  - type: ImageDigest\n    targetBuildArg: BASE_DIGEST\n`,
      Dockerfile: 'ARG BASE\nFROM ${BASE}\nARG BASE\nARG BASE_DIGEST\nRUN echo "$BASE $BASE_DIGEST" > /seen\n',
    });
    const r = await build(p, [...args(), '--repo', repo], { env: cliEnv });
    const img = r.report.Images.app.DockerImageName;
    await env.docker.call(`/images/create?fromImage=${encodeURIComponent(img)}`, { method: 'POST' });
    const [base, digest] = (await sh(img, 'cat /b /seen')).split('\n')[1].split(' ');
    assert.is(base, r.report.Images.base.DockerImageName);
    assert.ok(base.startsWith(`${repo}:`), base);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.is(await sh(img, 'cat /b'), 'from-base\n');
    assert.equal((await build(p, [...args(), '--repo', repo], { env: cliEnv })).built, []);
    p.remove();
  } finally {
    await registry.stop().catch(() => undefined);
  }
});

t('bad input: missing Dockerfile, bad context, missing contextAddFile, dependency cycle, staged — positioned errors, non-zero exit', async () => {
  const cases: { yaml: string; files?: Record<string, string>; err: RegExp }[] = [
    { yaml: 'image: app\ndockerfile: Nope.Dockerfile\n', err: /werf\.yaml:\d+:\d+: .*image "app": the Dockerfile "Nope\.Dockerfile" was not found/ },
    { yaml: 'image: app\ndockerfile: Dockerfile\ncontext: missing\n', err: /werf\.yaml:\d+:\d+: .*context "missing" is not a directory/ },
    {
      yaml: 'image: app\ndockerfile: Dockerfile\ncontextAddFiles: [nothere.txt]\n',
      files: { 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  dockerfile:\n    allowContextAddFiles: [nothere.txt]\n' },
      err: /werf\.yaml:\d+:\d+: .*contextAddFile "nothere\.txt" was not found/,
    },
    {
      yaml: 'image: a\ndockerfile: Dockerfile\ndependencies:\n- image: b\n  imports:\n  - type: ImageName\n    targetBuildArg: B\n---\nimage: b\ndockerfile: Dockerfile\ndependencies:\n- image: a\n  imports:\n  - type: ImageName\n    targetBuildArg: A\n',
      err: /werf\.yaml:\d+:\d+: .*(cycle|circular|infinite loop)/i,
    },
    { yaml: 'image: app\ndockerfile: Dockerfile\nstaged: true\n', err: /werf\.yaml:\d+:\d+: .*staged/ },
    { yaml: 'image: app\ndockerfile: Dockerfile\n', files: { 'Dockerfile.dirty': '' }, err: /werf\.yaml:\d+:\d+: .*the file "Dockerfile" must be committed/ },
    { yaml: 'image: app\ndockerfile: sub/Dockerfile\n', files: { 'sub/Dockerfile': `FROM ${env.images.amd64}\nRUN echo going down && exit 3\n` }, err: /sub\/Dockerfile:2:\d+: .*exited 3[^]*going down/ },
    { yaml: 'image: app\ndockerfile: sub/Dockerfile\n', files: { 'sub/Dockerfile': `FROM ${env.images.amd64}\nCOPY nothere.txt /x\n` }, err: /sub\/Dockerfile:2:\d+: .*nothere\.txt/ },
  ];
  for (const c of cases) {
    const p = werfProject({ 'werf.yaml': `project: ${uniq('bad')}\nconfigVersion: 1\n---\n${c.yaml}`, Dockerfile: `FROM ${env.images.amd64}\n`, ...(c.files ?? {}) });
    if (c.files?.['Dockerfile.dirty'] !== undefined) p.write({ Dockerfile: `FROM ${env.images.amd64}\nRUN true\n` });
    const r = await build(p, args(), { env: cliEnv, expectFail: true });
    assert.is.not(r.code, 0, c.yaml);
    assert.match(r.stderr, c.err, `${c.yaml}\n${r.stderr}`);
    assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
    p.remove();
  }
});

t.run();
