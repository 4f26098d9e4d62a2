/**
 * The frontend image on the real dockerd: built offline (scripts/frontend-image.ts) and run by
 * BuildKit itself — through `gateway.v0` + `source=` on our Control client, and through
 * `# syntax=` with Debian's docker CLI (`DOCKER_BUILDKIT=1 docker build -f werf.yaml .`).
 *
 * The build itself is the shared core's (src/build); the checks here: werf.yaml read from the
 * `dockerfile` local, the context from `context`, build-args in the template, the install stage run,
 * the result's files and config, errors with their werf.yaml position.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../src/session';
import { marshal, mkfile, scratch } from '../../src/llb';
import { frontendLayout } from '../../scripts/frontend-image';
import { frontendImage, projectDir, dockerBuildWerf } from './frontend-helpers';
import { daemonTraits, dockerdOnly, testEnv, testImageName, type TestEnv } from './harness';
import { ensureGoBuildctl, GO_BUILDCTL_MISSING, goBuildctlAddr, runGoBuildctl } from '../go-buildctl/build';


const t = suite<{ env: TestEnv; image: string; cleanups: (() => void)[] }>('frontend image');
const dockerd = dockerdOnly(t, 'the frontend image is docker-loaded and docker build runs it');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.cleanups = [];
  if (!daemonTraits().dockerd) return; // every test here is dockerd-only
  const t0 = Date.now();
  ctx.image = await frontendImage(ctx.env.docker);
  process.stderr.write(`[frontend test] ${ctx.image} ready after ${Date.now() - t0} ms\n`);
});
t.after(async (ctx) => {
  for (const c of ctx.cleanups ?? []) c();
  await ctx.env?.stop();
});

const werf = (base: string, extra = '') => `project: demo
configVersion: 1
---
image: app
from: ${base}
shell:
  install: echo {{ env "GREETING" "hello" }} > /greeting
${extra}`;

function project(ctx: { cleanups: (() => void)[] }, files: Record<string, string>): string {
  const p = projectDir(files);
  ctx.cleanups.push(p.cleanup);
  return p.dir;
}

async function gatewaySolve(ctx: { env: TestEnv; image: string }, dir: string, attrs: Record<string, string>, name?: string) {
  const client = await ctx.env.client();
  const session = new Session({ syncedDirs: { context: { dir }, dockerfile: { dir } } });
  try {
    return await client.solve({ frontend: 'gateway.v0', frontendAttrs: { source: ctx.image, filename: 'werf.yaml', ...attrs }, session, ...(name ? { exporter: { type: 'moby', attrs: { name } } } : {}) });
  } finally {
    await session.close();
  }
}

dockerd('the image carries the entrypoint, the frontend labels, the bundle with its code cache and the proto files', async (ctx) => {
  const info = await ctx.env.docker.inspectImage(ctx.image);
  assert.equal(info!.Config?.Entrypoint, ['/usr/local/bin/node', '/stapelkit/bin/stapelkit-frontend']);
  assert.is(info!.Config?.Labels?.['moby.buildkit.frontend.network.none'], 'true');
  const paths = new Set(frontendLayout().entries.map((e) => e.path));
  for (const p of ['stapelkit/proto/gateway.proto', 'stapelkit/proto/ops.proto', 'stapelkit/bin/stapelkit-frontend', 'stapelkit/dist/frontend.js', 'stapelkit/dist/frontend.cache', 'usr/local/bin/node', 'lib64/ld-linux-x86-64.so.2']) assert.ok(paths.has(p), p);
  assert.not.ok([...paths].some((p) => p.includes('node_modules') || p.includes('dist/src')), 'everything is in the bundle: no node_modules, no compiled tree');
  // Run by hand (not by BuildKit): stdout carries nothing but HTTP/2 (the client preface), stderr says why it gave up.
  const out = await ctx.env.docker.run(ctx.image, []);
  assert.is(out.exitCode, 1, out.stderr);
  // (the preface may not be flushed before exit)
  assert.ok(out.stdout === '' || out.stdout.startsWith('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), JSON.stringify(out.stdout.slice(0, 40)));
  assert.match(out.stderr, /cannot reach BuildKit's LLBBridge/);
  // The cache baked at image build time is accepted by the image's node (else every start compiles).
  assert.match(out.stderr, /\(node v[\d.]+, code cache accepted,/);
});

/** The exported image: base layers plus the install stage's, the base config, the file the stage wrote. */
async function checkBuilt(ctx: { env: TestEnv }, name: string, greeting: string): Promise<void> {
  const got = await ctx.env.docker.inspectImage(name);
  const base = await ctx.env.docker.inspectImage(ctx.env.images.amd64);
  assert.ok(got, 'exported');
  const layers = got!.RootFS?.Layers ?? [];
  assert.equal(layers.slice(0, base!.RootFS!.Layers!.length), base!.RootFS?.Layers, 'on top of the base image');
  assert.ok(layers.length > base!.RootFS!.Layers!.length, 'plus the install stage');
  assert.equal(got!.Config?.Cmd, base!.Config?.Cmd, 'the base config carried through');
  assert.ok(Object.keys(got!.Config?.Labels ?? {}).some((k) => k.startsWith('werf')), JSON.stringify(got!.Config?.Labels));
  const out = await ctx.env.docker.run(name, ['cat', '/greeting']);
  assert.is(out.stdout, `${greeting}\n`, out.stderr);
}

dockerd('gateway.v0 source=<image> through the Control API: werf.yaml read, the image built by the shared core', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': werf(ctx.env.images.amd64), 'src/app.txt': 'x' });
  const name = testImageName('frontend-gw');
  const res = await gatewaySolve(ctx, dir, { 'loose-giterminism': 'true', 'build-arg:GREETING': 'hi' }, name);
  const names = [...res.progress.vertices.values()].map((v) => v.name);
  assert.ok(names.some((n) => n.startsWith('local://dockerfile')), names.join(' | '));
  assert.ok(names.some((n) => n.startsWith('local://context')), names.join(' | '));
  await checkBuilt(ctx, name, 'hi');
  await ctx.env.docker.removeImage(name);
});

dockerd('gateway.v0 source=<image> through BuildKit\'s own Go client (go-buildctl build --frontend gateway.v0 --opt source=…)', async (ctx) => {
  const bin = ensureGoBuildctl();
  if (!bin) {
    console.log(`skip: go-buildctl — ${GO_BUILDCTL_MISSING}`);
    return;
  }
  const dir = project(ctx, { 'werf.yaml': werf(ctx.env.images.amd64), 'src/app.txt': 'x' });
  const name = testImageName('frontend-go');
  const opts = { source: ctx.image, filename: 'werf.yaml', 'loose-giterminism': 'true', 'build-arg:GREETING': 'from-go' };
  const r = await runGoBuildctl(bin, ['build', '--addr', goBuildctlAddr(ctx.env.addr)!, '--frontend', 'gateway.v0', ...Object.entries(opts).flatMap(([k, v]) => ['--opt', `${k}=${v}`]), '--local', `context=${dir}`, '--local', `dockerfile=${dir}`, '--output', `type=moby,name=${name}`]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /image "app", stage install/, r.stderr);
  await checkBuilt(ctx, name, 'from-go');
  await ctx.env.docker.removeImage(name);
  // A bad werf.yaml: the positioned message reaches Go's client as the solve's error.
  const bad = project(ctx, { 'werf.yaml': werf(ctx.env.images.amd64, 'shel:\n  install: x\n') });
  const e = await runGoBuildctl(bin, ['build', '--addr', goBuildctlAddr(ctx.env.addr)!, '--frontend', 'gateway.v0', '--opt', `source=${ctx.image}`, '--opt', 'loose-giterminism=true', '--local', `context=${bad}`, '--local', `dockerfile=${bad}`]);
  assert.is(e.code, 1, e.stderr);
  assert.match(e.stderr, /werf\.yaml:8:1: .*shel/);
});

dockerd('gateway.v0: a second build comes from BuildKit\'s cache; no-cache runs the stage again', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': `project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: ${ctx.env.images.amd64}\nshell:\n  install: cat /proc/sys/kernel/random/uuid > /id\n` });
  const idOf = async (attrs: Record<string, string>) => {
    const name = testImageName('frontend-cache');
    await gatewaySolve(ctx, dir, { 'loose-giterminism': 'true', ...attrs }, name);
    const out = await ctx.env.docker.run(name, ['cat', '/id']);
    await ctx.env.docker.removeImage(name);
    assert.match(out.stdout, /^[0-9a-f-]{36}\n$/, out.stderr);
    return out.stdout;
  };
  const first = await idOf({});
  assert.is(await idOf({}), first, 'cached');
  assert.is.not(await idOf({ 'no-cache': '' }), first, 'run again');
});

dockerd('gateway.v0: a bad werf.yaml fails the build with the positioned message', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': werf(ctx.env.images.amd64, 'shel:\n  install: x\n') });
  const err = await gatewaySolve(ctx, dir, { 'loose-giterminism': 'true' }).catch((e) => e);
  assert.ok(err instanceof Error, 'the build fails');
  assert.match(String((err as Error).message), /werf\.yaml:8:1: .*shel/, String(err));
});

dockerd('gateway.v0: an unknown target names the images there are', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': werf(ctx.env.images.amd64) });
  const err = await gatewaySolve(ctx, dir, { target: 'nope', 'loose-giterminism': 'true' }).catch((e) => e);
  assert.match(String((err as Error).message), /image "nope" is not defined in werf\.yaml \(images: "app"\)/);
});

const GITERMINISM = 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [GREETING]\n';

dockerd('gateway.v0 with frontend inputs: `dockerfile` and `context` LLB replace the locals', async (ctx) => {
  const client = await ctx.env.client();
  const dockerfile = marshal(scratch().file(mkfile('/werf.yaml', 0o644, werf(ctx.env.images.amd64))));
  const context = marshal(scratch().file(mkfile('/werf-giterminism.yaml', 0o644, GITERMINISM)));
  const name = testImageName('frontend-inputs');
  // A session with no directories: the core's user stages mount the (optional) commit-env secret, which needs one.
  const session = new Session({});
  const res = await client
    .solve({ frontend: 'gateway.v0', frontendAttrs: { source: ctx.image, filename: 'werf.yaml', 'build-arg:GREETING': 'from inputs' }, frontendInputs: { dockerfile, context }, session, exporter: { type: 'moby', attrs: { name } } })
    .finally(() => session.close());
  const names = [...res.progress.vertices.values()].map((v) => v.name);
  assert.not.ok(names.some((n) => n.startsWith('local://')), names.join(' | '));
  await checkBuilt(ctx, name, 'from inputs');
  await ctx.env.docker.removeImage(name);
});

function dockerBuild(ctx: { env: TestEnv }, dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return dockerBuildWerf(ctx.env.dockerSocket, dir, args);
}

dockerd('# syntax=<image> in werf.yaml with Debian docker build -f werf.yaml . (image only in the local store)', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\n` + werf(ctx.env.images.amd64), 'werf-giterminism.yaml': GITERMINISM, '.dockerignore': '.docker-config\n' });
  const name = testImageName('frontend-syntax');
  // --build-arg reaches the template environment; werf-giterminism.yaml in the context allows it.
  const ok = await dockerBuild(ctx, dir, ['-t', name, '--build-arg', 'GREETING=hi', '--label', 'org.example.team=core']);
  assert.is(ok.code, 0, ok.out);
  await checkBuilt(ctx, name, 'hi');
  assert.is((await ctx.env.docker.inspectImage(name))!.Config?.Labels?.['org.example.team'], 'core', '--label reaches the result');
  await ctx.env.docker.removeImage(name);
  // Without the giterminism file the same build-arg is refused, as werf refuses env.
  const dir2 = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\n` + werf(ctx.env.images.amd64) });
  const refused = await dockerBuild(ctx, dir2, ['--build-arg', 'GREETING=hi']);
  assert.is(refused.code, 1, refused.out);
  assert.match(refused.out, /GREETING/);
});

dockerd('docker build: a werf secret served by `docker build --secret`, a build_dir cache mount', async (ctx) => {
  const werfYaml = `# syntax=${ctx.image}
project: demo
configVersion: 1
---
image: app
from: ${ctx.env.images.amd64}
secrets:
- env: SECRET_VALUE
mount:
- from: build_dir
  to: /cache
shell:
  install:
  - test "$(cat /run/secrets/SECRET_VALUE)" = s3cret && echo secret-ok > /secret-ok
  - echo hi > /cache/f && cp /cache/f /from-cache
`;
  const giterminism = 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [SECRET_VALUE]\n  stapel:\n    mount:\n      allowBuildDir: true\n';
  const dir = project(ctx, { 'werf.yaml': werfYaml, 'werf-giterminism.yaml': giterminism, '.dockerignore': '.docker-config\nsecret.txt\n', 'secret.txt': 's3cret' });
  const name = testImageName('frontend-secret');
  const r = await dockerBuild(ctx, dir, ['-t', name, '--secret', `id=SECRET_VALUE,src=${dir}/secret.txt`]);
  assert.is(r.code, 0, r.out);
  const out = await ctx.env.docker.run(name, ['sh', '-c', 'cat /secret-ok /from-cache; ls /cache | wc -l; grep -rl s3cret / --exclude-dir=proc --exclude-dir=sys 2>/dev/null | wc -l']);
  assert.is(out.stdout, 'secret-ok\nhi\n0\n0\n', out.stderr);
  await ctx.env.docker.removeImage(name);
});

dockerd('docker build: a bad werf.yaml shows the positioned message in the build output', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\n` + werf(ctx.env.images.amd64, 'shel:\n  install: x\n'), 'werf-giterminism.yaml': GITERMINISM });
  const r = await dockerBuild(ctx, dir, []);
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /werf\.yaml:9:1: .*shel/, r.out);
});

dockerd('docker build: a failing command names its werf.yaml position, image and stage', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\nproject: demo\nconfigVersion: 1\n---\nimage: app\nfrom: ${ctx.env.images.amd64}\nshell:\n  install:\n  - echo ${Date.now()}\n  - exit 7\n` });
  const r = await dockerBuild(ctx, dir, []);
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /werf\.yaml:8:3: image "app", stage install: command '.*' exited 7/, r.out);
});

t.run();
