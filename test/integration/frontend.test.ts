/**
 * The frontend image on the real dockerd: built offline (scripts/frontend-image.ts) and run by
 * BuildKit itself — through `gateway.v0` + `source=` on our Control client, and through
 * `# syntax=` with Debian's docker CLI (`DOCKER_BUILDKIT=1 docker build -f werf.yaml .`).
 *
 * Until the shared build core lands, a valid werf.yaml returns its Stapel image's base image
 * (interim path in src/frontend/main.ts); the checks here are about the plumbing: werf.yaml read
 * from the `dockerfile` local, the context from `context`, options, result config, errors.
 */
import { spawn } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../src/session';
import { frontendLayout } from '../../scripts/frontend-image';
import { frontendImage, projectDir } from './frontend-helpers';
import { daemonTraits, dockerdOnly, testEnv, testImageName, type TestEnv } from './harness';

const DOCKER_CLI = '/usr/bin/docker'; // Debian's docker.io CLI (20.10), not /usr/local/bin/docker

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
  install: echo {{ env "GREETING" "hello" }}
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

dockerd('the image carries the entrypoint, the frontend labels and the proto files', async (ctx) => {
  const info = await ctx.env.docker.inspectImage(ctx.image);
  assert.equal(info!.Config?.Entrypoint, ['/usr/local/bin/node', '/stapelkit/dist/src/frontend/main.js']);
  assert.is(info!.Config?.Labels?.['moby.buildkit.frontend.network.none'], 'true');
  const paths = new Set(frontendLayout().entries.map((e) => e.path));
  for (const p of ['stapelkit/proto/gateway.proto', 'stapelkit/proto/ops.proto', 'stapelkit/dist/src/frontend/main.js', 'stapelkit/node_modules/protobufjs/package.json', 'usr/local/bin/node', 'lib64/ld-linux-x86-64.so.2']) assert.ok(paths.has(p), p);
  assert.not.ok([...paths].some((p) => p.includes('node_modules/typescript/')), 'no dev dependencies');
  // Run by hand (not by BuildKit): stdout carries nothing but HTTP/2 (the client preface), stderr says why it gave up.
  const out = await ctx.env.docker.run(ctx.image, []);
  assert.is(out.exitCode, 1, out.stderr);
  assert.ok(out.stdout.startsWith('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), JSON.stringify(out.stdout.slice(0, 40)));
  assert.match(out.stderr, /cannot reach BuildKit's LLBBridge/);
});

dockerd('gateway.v0 source=<image> through the Control API: werf.yaml read, base image and config returned', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': werf(ctx.env.images.amd64), 'src/app.txt': 'x' });
  const name = testImageName('frontend-gw');
  const res = await gatewaySolve(ctx, dir, { 'loose-giterminism': 'true', 'build-arg:GREETING': 'hi' }, name);
  const names = [...res.progress.vertices.values()].map((v) => v.name);
  assert.ok(names.some((n) => n.startsWith('local://dockerfile')), names.join(' | '));
  assert.ok(names.some((n) => n.startsWith('local://context')), names.join(' | '));
  const got = await ctx.env.docker.inspectImage(name);
  const base = await ctx.env.docker.inspectImage(ctx.env.images.amd64);
  assert.ok(got, 'exported');
  assert.equal(got!.RootFS?.Layers, base!.RootFS?.Layers, 'the base image layers (interim result)');
  assert.equal(got!.Config?.Cmd, base!.Config?.Cmd, 'containerimage.config from the resolved base image');
  await ctx.env.docker.removeImage(name);
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

function dockerBuild(ctx: { env: TestEnv }, dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER_CLI, ['build', '--progress=plain', '-f', 'werf.yaml', ...args, '.'], {
      cwd: dir,
      env: { ...process.env, DOCKER_HOST: `unix://${ctx.env.dockerSocket}`, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: dir + '/.docker-config' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

dockerd('# syntax=<image> in werf.yaml with Debian docker build -f werf.yaml . (image only in the local store)', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\n` + werf(ctx.env.images.amd64), 'werf-giterminism.yaml': GITERMINISM, '.dockerignore': '.docker-config\n' });
  const name = testImageName('frontend-syntax');
  // --build-arg reaches the template environment; werf-giterminism.yaml in the context allows it.
  const ok = await dockerBuild(ctx, dir, ['-t', name, '--build-arg', 'GREETING=hi']);
  assert.is(ok.code, 0, ok.out);
  const got = await ctx.env.docker.inspectImage(name);
  const base = await ctx.env.docker.inspectImage(ctx.env.images.amd64);
  assert.equal(got!.RootFS?.Layers, base!.RootFS?.Layers);
  await ctx.env.docker.removeImage(name);
  // Without the giterminism file the same build-arg is refused, as werf refuses env.
  const dir2 = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\n` + werf(ctx.env.images.amd64) });
  const refused = await dockerBuild(ctx, dir2, ['--build-arg', 'GREETING=hi']);
  assert.is(refused.code, 1, refused.out);
  assert.match(refused.out, /GREETING/);
});

dockerd('docker build: a bad werf.yaml shows the positioned message in the build output', async (ctx) => {
  const dir = project(ctx, { 'werf.yaml': `# syntax=${ctx.image}\n` + werf(ctx.env.images.amd64, 'shel:\n  install: x\n'), 'werf-giterminism.yaml': GITERMINISM });
  const r = await dockerBuild(ctx, dir, []);
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /werf\.yaml:9:1: .*shel/, r.out);
});

t.run();
