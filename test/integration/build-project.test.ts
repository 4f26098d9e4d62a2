/**
 * `stapelkit build` of whole projects on the real daemon: a four-image project (fromImage, imports
 * after install and after setup, a legacy artifact, `final: false`, dependencies' targetEnv, git
 * owner), a failing command reported at its werf.yaml position with nothing stored for it, a missing
 * base image, secrets kept out of output and images, two builds at the same time, an arm64 image
 * under qemu, and two daemons that share only a registry.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerdOnly, testEnv, testRegistry, type TestEnv, type TestRegistry } from './harness';
import { build, werfProject } from './werf-project';
import { startDockerd, type DockerdInstance } from '../../src/daemon/dockerd';
import { DockerApi } from '../../src/daemon/docker-api';

const t = suite('build projects');
const dockerd = dockerdOnly(t, 'the built images are inspected and run through the Docker API');
let env: TestEnv;
let cliEnv: NodeJS.ProcessEnv;
let registry: TestRegistry | undefined;
let second: DockerdInstance | undefined;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;

t.before(async () => {
  env = await testEnv();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
});
t.after(async () => {
  await second?.stop().catch(() => undefined);
  await registry?.stop().catch(() => undefined);
  await env.stop();
});

const args = () => ['--addr', env.addr];

async function sh(image: string, script: string, docker = env.docker): Promise<string> {
  const r = await docker.run(image, ['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${script} in ${image}: ${r.stderr}`);
  return r.stdout;
}

function fourImages(project: string, bb: string): string {
  return `project: ${project}
configVersion: 1
---
image: base
final: false
from: ${bb}
shell:
  beforeInstall:
  - echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && echo 'app:x:1000:' >> /etc/group
  install:
  - echo base > /base.txt
---
artifact: tool
from: ${bb}
shell:
  install:
  - mkdir -p /out && printf '#!/bin/sh\\necho tool\\n' > /out/tool.sh && chmod +x /out/tool.sh
---
image: lib
final: false
from: ${bb}
shell:
  install:
  - mkdir -p /lib/data && echo stage-install > /lib/data/which
  setup:
  - echo stage-setup > /lib/data/which
---
image: app
fromImage: base
git:
- add: /src
  to: /srv
  owner: app
import:
- artifact: tool
  add: /out
  to: /usr/local/bin
  after: install
- image: lib
  stage: install
  add: /lib/data
  to: /opt/lib
  after: setup
dependencies:
- image: lib
  after: install
  imports:
  - type: ImageName
    targetEnv: LIB_IMAGE
shell:
  install:
  - cat /base.txt > /srv.seen
`;
}

dockerd('four images: fromImage, artifact import after install, stage import after setup, dependency env, git owner', async () => {
  const name = uniq('four');
  const p = werfProject({ 'werf.yaml': fourImages(name, env.images.amd64), 'src/index.txt': 'hello\n' });
  const r = await build(p, args(), { env: cliEnv });
  assert.equal(Object.keys(r.report.Images).sort(), ['app', 'base', 'lib', 'tool']);
  assert.is(r.report.Images.base.Final, false);
  assert.is(r.report.Images.tool.Final, false);
  assert.is(r.report.Images.app.Final, true);
  const app = r.report.Images.app.DockerImageName;
  assert.is(await sh(app, 'cat /base.txt /srv.seen'), 'base\nbase\n');
  assert.is(await sh(app, '/usr/local/bin/tool.sh'), 'tool\n');
  assert.is(await sh(app, 'cat /opt/lib/which'), 'stage-install\n', 'stage: install of lib, not its last stage');
  assert.is(await sh(app, 'stat -c %U /srv/index.txt'), 'app\n');
  const inspect = await env.docker.inspectImage(app);
  const libImage = r.report.Images.lib.DockerImageName;
  assert.ok(inspect?.Config?.Env?.includes(`LIB_IMAGE=${libImage}`), JSON.stringify(inspect?.Config?.Env));
  // A rebuild reuses all of it.
  const again = await build(p, args(), { env: cliEnv });
  assert.equal(again.built, []);
  p.remove();
});

dockerd('an import source rebuilt with identical output does not rebuild the importer', async () => {
  const name = uniq('imp');
  const yaml = (v: string) => `project: ${name}
configVersion: 1
---
image: src
final: false
from: ${env.images.amd64}
shell:
  install:
  - mkdir -p /out && echo same > /out/f
  cacheVersion: "${v}"
---
image: dst
from: ${env.images.amd64}
import:
- image: src
  add: /out
  to: /in
  after: install
`;
  const p = werfProject({ 'werf.yaml': yaml('1') });
  await build(p, args(), { env: cliEnv });
  p.write({ 'werf.yaml': yaml('2') });
  p.commit();
  const r = await build(p, args(), { env: cliEnv });
  assert.ok(r.built.includes('src/install'), r.built.join());
  assert.equal(r.built.filter((s) => s.startsWith('dst/')), [], 'same imported files: importer untouched');
  p.remove();
});

dockerd('a failing command: werf.yaml position, image, stage, exit code and last log lines; nothing stored for it; the next build reuses what finished', async () => {
  const name = uniq('fail');
  const yaml = (cmd: string) => `project: ${name}
configVersion: 1
---
image: app
from: ${env.images.amd64}
shell:
  beforeInstall:
  - echo ok > /ok
  install:
  - echo "about to fail"
  - ${cmd}
`;
  const p = werfProject({ 'werf.yaml': yaml('sh -c "exit 3"') });
  const r = await build(p, args(), { env: cliEnv, expectFail: true });
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^error: werf\.yaml:\d+:\d+: image "app", stage install: command 'sh -c "exit 3"' exited 3$/m);
  assert.match(r.stderr, /about to fail/);
  const tags = (await new DockerApi(env.dockerSocket).json<any[]>(`/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [name] }))}`)).flatMap((i) => i.RepoTags ?? []);
  assert.is(tags.length, 2, `from and beforeInstall stored, install not: ${tags.join(', ')}`);
  p.write({ 'werf.yaml': yaml('true') });
  p.commit();
  const ok = await build(p, args(), { env: cliEnv });
  assert.equal(ok.built, ['app/install']);
  p.remove();
});

dockerd('imageSpec: the global one merged with the image\'s, regex and named removes, clearHistory, werf labels; no layer added', async () => {
  const bb = env.images.amd64;
  const project = uniq('spec');
  const p = werfProject({
    'werf.yaml': `project: ${project}
configVersion: 1
build:
  imageSpec:
    author: "Global Author <g@example.com>"
    config:
      labels:
        global: "yes"
---
image: base
final: false
from: ${bb}
shell:
  install: [echo base > /base.txt]
imageSpec:
  config:
    env: { DEBUG: "1", KEEP: "k" }
    labels: { org.example.a: "1", org.example.b: "2", keep: "yes", old: "x" }
---
image: app
fromImage: base
imageSpec:
  clearHistory: true
  config:
    removeLabels: [/org\\.example\\..*/, old, werf-version, werf]
    removeEnv: [DEBUG]
    env: { SPEC: "one" }
    user: "1000"
    workingDir: /work
    expose: ["8080/tcp"]
`,
  });
  const r = await build(p, args(), { env: cliEnv });
  assert.equal(r.built.filter((s) => s.startsWith('app/')), ['app/from', 'app/imageSpec']);
  const app = r.report.Images.app.DockerImageName as string;
  const base = `${project}:${r.stages.find((s) => s.image === 'base' && s.stage === 'install')!.tag}`;
  const [a, b] = [await env.docker.inspectImage(app), await env.docker.inspectImage(base)];
  assert.equal(a?.RootFS?.Layers, b?.RootFS?.Layers, 'imageSpec adds no layer');
  const labels = a?.Config?.Labels ?? {};
  assert.is(labels.keep, 'yes');
  assert.is(labels.global, 'yes', 'the global imageSpec is merged in');
  for (const gone of ['org.example.a', 'org.example.b', 'old']) assert.not.ok(gone in labels, `${gone} removed`);
  assert.is(labels.werf, project, 'an essential werf label is never removed');
  assert.not.ok('werf-version' in labels, 'a werf service label can be (werf merges them in before the removes)');
  assert.match(labels['werf-stage-content-digest'] ?? '', /^[0-9a-f]{56}$/);
  const envs = a?.Config?.Env ?? [];
  assert.ok(envs.includes('KEEP=k') && envs.includes('SPEC=one'), envs.join(' '));
  assert.not.ok(envs.some((e) => e.startsWith('DEBUG=')), 'DEBUG removed');
  assert.is(a?.Config?.User, '1000');
  assert.is(a?.Config?.WorkingDir, '/work');
  assert.ok('8080/tcp' in (a?.Config?.ExposedPorts ?? {}));
  const raw = JSON.parse((await env.docker.request(`/images/${encodeURIComponent(app)}/json`)).body.toString()) as { Author?: string };
  assert.is(raw.Author, 'Global Author <g@example.com>');
  const history = async (img: string) => JSON.parse((await env.docker.request(`/images/${encodeURIComponent(img)}/history`)).body.toString()) as Array<{ CreatedBy: string }>;
  const baseHistory = (await history(base)).map((h) => h.CreatedBy);
  assert.ok(baseHistory.some((c) => c.includes('busybox')), baseHistory.join(' | '));
  const appHistory = (await history(app)).map((h) => h.CreatedBy);
  assert.not.ok(appHistory.some((c) => c.includes('busybox')), `clearHistory: ${appHistory.join(' | ')}`);
  p.remove();
});

dockerd('a missing base image: a clear error naming the image, non-zero exit', async () => {
  const p = werfProject({ 'werf.yaml': `project: ${uniq('nobase')}\nconfigVersion: 1\n---\nimage: app\nfrom: 127.0.0.1:1/no/such:image\nshell:\n  install: [true]\n` });
  const r = await build(p, args(), { env: cliEnv, expectFail: true });
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^error: .*127\.0\.0\.1:1\/no\/such:image/m);
  assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
  p.remove();
});

dockerd('secrets: readable by commands, never in progress output, image config, history or layers', async () => {
  const name = uniq('secret');
  const value = `s3cr3t-${Date.now()}`;
  const p = werfProject({
    'werf.yaml': `project: ${name}\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\nsecrets:\n- id: token\n  value: ${value}\n- env: MY_TOKEN\nshell:\n  install:\n  - test "$(cat /run/secrets/token)" = "${'$'}(cat /run/secrets/MY_TOKEN)"\n  - wc -c /run/secrets/token > /len\n`,
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowValueIds: [token]\n    allowEnvVariables: [MY_TOKEN]\n',
  });
  const r = await build(p, args(), { env: { ...cliEnv, MY_TOKEN: value } });
  const img = r.report.Images.app.DockerImageName;
  assert.is((await sh(img, 'cat /len')).trim().split(' ')[0], String(value.length));
  const leak = (r.stdout + r.stderr).split('\n').filter((l) => l.includes(value));
  assert.equal(leak, [], 'the value is in no output line');
  const saved = await new DockerApi(env.dockerSocket).call(`/images/${encodeURIComponent(img)}/get`);
  assert.not.ok(saved.body.includes(Buffer.from(value)), 'the value is in no layer, config or history');
  const inspect = await env.docker.inspectImage(img);
  assert.not.ok(JSON.stringify(inspect).includes(value));
  p.remove();
});

dockerd('two builds of one project at the same time: both succeed, same digests, each digest stored once', async () => {
  const name = uniq('twice');
  const p = werfProject({ 'werf.yaml': `project: ${name}\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\nshell:\n  install:\n  - sleep 1; date +%s%N > /when\n`, 'x': 'x' });
  const [a, b] = await Promise.all([build(p, args(), { env: cliEnv }), build(p, args(), { env: cliEnv })]);
  assert.equal(a.stages.map((s) => s.tag), b.stages.map((s) => s.tag), 'the same stage images');
  const tags = (await new DockerApi(env.dockerSocket).json<any[]>(`/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [name] }))}`)).flatMap((i) => i.RepoTags ?? []);
  assert.is(tags.length, new Set(a.stages.map((s) => s.tag)).size, tags.join(', '));
  p.remove();
});

dockerd('an arm64 image under qemu', async () => {
  if (!env.images.arm64) {
    process.stderr.write(`skipping arm64: ${env.images.arm64Note}\n`);
    return;
  }
  const p = werfProject({ 'werf.yaml': `project: ${uniq('arm')}\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.arm64}\nplatform: [linux/arm64]\nshell:\n  install:\n  - uname -m > /arch\n` });
  const r = await build(p, args(), { env: cliEnv });
  const img = r.report.Images.app.DockerImageName;
  const inspect = await env.docker.inspectImage(img);
  assert.is(inspect?.Architecture, 'arm64');
  const arch = await env.docker.run(img, ['cat', '/arch'], { platform: 'linux/arm64' });
  assert.is(arch.stdout, 'aarch64\n');
  p.remove();
});

dockerd('two daemons sharing only a registry: after building on A, B builds nothing and has identical files', async () => {
  registry = await testRegistry();
  second = await startDockerd({ stateDir: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-second-')) });
  const name = uniq('shared');
  const repo = `${registry.host}/${name}`;
  const p = werfProject({
    'werf.yaml': `project: ${name}\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\ngit:\n- add: /src\n  to: /app\nshell:\n  install:\n  - ls -l /app > /listing; echo built-on-a > /where\n`,
    'src/a.txt': 'a\n',
  });
  const a = await build(p, ['--addr', env.addr, '--repo', repo], { env: cliEnv });
  assert.ok(a.built.includes('app/install'));
  const stateB = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-b-'));
  const b = await build(p, ['--addr', second.addr, '--repo', repo], { env: { ...cliEnv, XDG_STATE_HOME: stateB } });
  assert.equal(b.built, [], 'every stage from the registry');
  const imgA = a.report.Images.app.DockerImageName;
  const imgB = b.report.Images.app.DockerImageName;
  assert.is(imgB, imgA);
  const dockerB = new DockerApi(second.socketPath);
  await dockerB.call(`/images/create?fromImage=${encodeURIComponent(imgB)}`, { method: 'POST' });
  const files = 'cat /where /listing /app/a.txt';
  assert.is(await sh(imgB, files, dockerB), await sh(imgA, files));
  p.remove();
});

t.run();
