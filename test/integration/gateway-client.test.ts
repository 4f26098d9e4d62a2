/**
 * The Control-API Gateway of `stapelkit build` on the real dockerd: caps, ResolveImageConfig of a
 * locally loaded image, solve → ref, ReadFile/ReadDir/StatFile, a failing exec as a BuildError,
 * concurrent solves, local sources resolved through the build's session (no session id in the
 * graph), and concurrent image exports inside one attached session.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BuildError } from '../../src/buildkit/build-error';
import { openGateway, type ControlGateway } from '../../src/buildkit/gateway-client';
import { exportImage } from '../../src/buildkit/export';
import { Session } from '../../src/session';
import { copy, image, local, marshal, scratch, SourceMap } from '../../src/llb';
import { isStapelkitError } from '../../src/errors';
import { dockerdOnly, opDigests, testEnv, testImageName, type TestEnv } from './harness';

const t = suite<{ env: TestEnv; gw: ControlGateway; session: Session; ctxDir: string }>('gateway client');
const onDockerd = dockerdOnly(t, "dockerd's image store and the moby exporter");

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.ctxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-gwctx-'));
  fs.mkdirSync(path.join(ctx.ctxDir, 'sub'));
  fs.writeFileSync(path.join(ctx.ctxDir, 'hello.txt'), 'hello from the context\n');
  fs.writeFileSync(path.join(ctx.ctxDir, 'sub/x.txt'), 'x\n');
  ctx.session = new Session({ syncedDirs: { context: { dir: ctx.ctxDir } }, ssh: [] });
  const client = await ctx.env.client();
  await client.attachSession(ctx.session);
  ctx.gw = await openGateway(client, { session: ctx.session });
});
t.after(async (ctx) => {
  await ctx.gw?.finish().catch(() => undefined);
  await ctx.env?.stop();
  if (ctx.ctxDir) fs.rmSync(ctx.ctxDir, { recursive: true, force: true });
});

t('caps: LLB and frontend caps, worker platforms, daemon kind', async ({ env, gw }) => {
  const caps = await gw.caps();
  assert.ok(caps.llb.has('source.image'));
  assert.ok(caps.llb.has('exec.mount.cache'));
  assert.ok(caps.frontend.has('solve.base'), [...caps.frontend].join(','));
  assert.is(caps.daemon, (await env.client()).daemonKind);
  assert.ok(
    caps.platforms.some((p) => p.os === 'linux' && p.architecture === 'amd64'),
    JSON.stringify(caps.platforms),
  );
});

onDockerd('resolveImageConfig of a docker-loaded image reads the local store', async ({ env, gw }) => {
  const r = await gw.resolveImageConfig(env.images.amd64, { platform: { os: 'linux', architecture: 'amd64' } });
  assert.is(r.ref, `docker.io/${env.images.amd64}`);
  assert.is(r.config.architecture, 'amd64');
  assert.is(r.config.os, 'linux');
  assert.equal(r.config.config?.Cmd, ['sh']);
  assert.ok(r.config.config?.Env?.some((e) => e.startsWith('PATH=')));
  // moby's worker answers a local image without a manifest digest.
  assert.is(r.digest, '');
  const noPlatform = await gw.resolveImageConfig(env.images.amd64);
  assert.is(noPlatform.config.architecture, 'amd64');
});

onDockerd('resolveImageConfig: one daemon call per image, platform and mode; each caller its own config; a failure is not kept', async ({ env }) => {
  const client = await env.client();
  const gw = await openGateway(client, {});
  try {
    const calls: string[] = [];
    const g = gw as unknown as { call(method: string, req: { Ref?: string }): Promise<unknown> };
    const call = g.call.bind(g);
    g.call = (method, req) => {
      if (method === 'ResolveImageConfig') calls.push(String(req.Ref));
      return call(method, req);
    };
    const amd64 = { os: 'linux', architecture: 'amd64' };
    const [a, b] = await Promise.all([gw.resolveImageConfig(env.images.amd64, { platform: amd64 }), gw.resolveImageConfig(env.images.amd64, { platform: amd64 })]);
    assert.equal(a, b);
    assert.is.not(a.config, b.config, 'copies');
    a.config.config!.Env = [];
    assert.ok((await gw.resolveImageConfig(env.images.amd64, { platform: amd64 })).config.config?.Env?.length, 'a caller changing its copy changes no other');
    assert.is(calls.length, 1, calls.join(', '));
    await gw.resolveImageConfig(env.images.amd64, { platform: amd64, resolveMode: 'local' });
    assert.is(calls.length, 2, 'another mode is another call');
    const missing = 'stapelkit/no-such-image:never';
    for (let i = 0; i < 2; i++) {
      await gw.resolveImageConfig(missing, { platform: amd64, resolveMode: 'local' }).then(
        () => assert.unreachable('resolved'),
        (e: unknown) => assert.ok(isStapelkitError(e) && e.code === 'IMAGE_RESOLVE', String(e)),
      );
    }
    assert.is(calls.filter((c) => c.includes('no-such-image')).length, 2, 'a failed resolve is asked again');
  } finally {
    await gw.finish().catch(() => undefined);
  }
});

onDockerd('resolveImageConfig: the platform picks the local image; a mismatch looks for a registry', async ({ env, gw }) => {
  if (env.images.arm64) {
    const r = await gw.resolveImageConfig(env.images.arm64, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.is(r.config.architecture, 'arm64');
  }
  // moby: a local image of another platform is skipped and the registry asked (none here).
  let err: unknown;
  try {
    await gw.resolveImageConfig(env.images.amd64, { platform: { os: 'linux', architecture: 'arm64' } });
  } catch (e) {
    err = e;
  }
  assert.is((err as any)?.code, 'IMAGE_RESOLVE', String(err));
});

t('resolveImageConfig: a missing image is IMAGE_RESOLVE naming it', async ({ gw }) => {
  let err: unknown;
  try {
    await gw.resolveImageConfig('stapelkit-test/does-not-exist:1', { resolveMode: 'local' });
  } catch (e) {
    err = e;
  }
  assert.ok(isStapelkitError(err), String(err));
  assert.is((err as any).code, 'IMAGE_RESOLVE');
  assert.match((err as Error).message, /does-not-exist/);
});

t('solve → ref; readFile (whole and range), readDir, stat', async ({ env, gw }) => {
  const st = image(env.images.amd64).run({ shell: 'mkdir -p /d/e && printf 0123456789 > /d/f && echo a > /d/e/a && ln -s f /d/l' }).root();
  const ref = await gw.solve(marshal(st, { platform: 'linux/amd64' }));
  assert.ok(ref.id.length > 0);
  assert.is((await gw.readFile(ref, '/d/f')).toString(), '0123456789');
  assert.is((await gw.readFile(ref, '/d/f', { offset: 3, length: 4 })).toString(), '3456');
  const names = (await gw.readDir(ref, '/d')).map((e) => e.path).sort();
  assert.equal(names, ['e', 'f', 'l']);
  const only = (await gw.readDir(ref, '/d', 'f')).map((e) => e.path);
  assert.equal(only, ['f']);
  const f = await gw.stat(ref, '/d/f');
  assert.is(f.size, 10);
  assert.is(f.mode & 0o777, 0o644);
  // v0.8's StatFile follows a symlink (it stats the target); ReadDir lists the link itself.
  const l = await gw.stat(ref, '/d/l');
  assert.is(l.size, 10);
  const link = (await gw.readDir(ref, '/d')).find((e) => e.path === 'l');
  assert.is(link?.linkname, 'f');
  assert.ok(link!.mode & 0x8000000, 'os.ModeSymlink bit');
  const dir = await gw.stat(ref, '/d/e');
  assert.ok(dir.mode & 0x80000000, 'os.ModeDir bit');
  let err: unknown;
  try {
    await gw.readFile(ref, '/d/missing');
  } catch (e) {
    err = e;
  }
  assert.ok(isStapelkitError(err), String(err));
});

t('local source without a session id resolves through the build session', async ({ gw }) => {
  const st = scratch().file(copy(local('context'), '/', '/ctx/'));
  const def = marshal(st, { platform: 'linux/amd64' });
  assert.not.match(def.toBytes().toString('latin1'), /local\.session/);
  const ref = await gw.solve(def);
  assert.is((await gw.readFile(ref, '/ctx/hello.txt')).toString(), 'hello from the context\n');
  assert.is((await gw.readFile(ref, '/ctx/sub/x.txt')).toString(), 'x\n');
});

t('a failing exec is a BuildError with command, status and last log lines', async ({ env, gw }) => {
  const def = marshal(image(env.images.amd64).run({ shell: 'echo one; echo two; echo failing now >&2; exit 4', ignoreCache: true }).root(), { platform: 'linux/amd64' });
  const [run] = opDigests(def, 'exec');
  let err: unknown;
  try {
    await gw.solve(def);
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof BuildError, `a BuildError, got ${String(err)}`);
  const be = err as BuildError;
  assert.is(be.exitCode, 4);
  assert.ok(be.command?.includes('exit 4'), be.command);
  assert.is(be.vertex, run);
  assert.ok(be.logTail.includes('failing now'), be.logTail.join('|'));
  assert.ok(be.logTail.includes('two'));
  // The gateway stays usable after a failed solve.
  const ok = await gw.solve(marshal(image(env.images.amd64).run({ shell: 'echo fine > /fine' }).root(), { platform: 'linux/amd64' }));
  assert.is((await gw.readFile(ok, '/fine')).toString(), 'fine\n');
});

t('a failing RUN is reported at its werf.yaml position (LLB source map)', async ({ env, gw }) => {
  const yaml = 'project: app\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nshell:\n  install:\n  - make\n';
  const sm = new SourceMap('werf.yaml', yaml, undefined, 'yaml');
  const st = image(env.images.amd64, { location: sm.at(5, 7) }).run({
    shell: 'echo building; echo "make: *** [all] Error 2" >&2; exit 2',
    customName: 'image "app", stage install',
    ignoreCache: true,
    location: sm.at(8, 5),
  });
  const def = marshal(st.root(), { platform: 'linux/amd64' });
  for (const attempt of ['gateway', 'control'] as const) {
    let err: unknown;
    try {
      if (attempt === 'gateway') await gw.solve(def);
      else await (await env.client()).solve({ definition: def });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof BuildError, `${attempt}: ${String(err)}`);
    const be = err as BuildError;
    assert.equal(be.pos, { file: 'werf.yaml', line: 8, column: 5 }, attempt);
    const text = be.format();
    assert.match(text, /^werf\.yaml:8:5: image "app", stage install: command 'echo building; .*' exited 2\n/, text);
    assert.match(text, /make: \*\*\* \[all\] Error 2/);
  }
});

t('concurrent solves in one gateway; a concurrent failure blames its own vertex', async ({ env, gw }) => {
  const mk = (n: number) => marshal(image(env.images.amd64).run({ shell: `sleep 0.3; echo ${n} > /n${n}` }).root(), { platform: 'linux/amd64' });
  const failing = marshal(image(env.images.amd64).run({ shell: 'sleep 0.2; echo bad >&2; exit 9', ignoreCache: true }).root(), { platform: 'linux/amd64' });
  const [failRun] = opDigests(failing, 'exec');
  const [a, b, c] = await Promise.allSettled([gw.solve(mk(1)), gw.solve(mk(2)), gw.solve(failing)]);
  assert.is(a.status, 'fulfilled');
  assert.is(b.status, 'fulfilled');
  assert.is(c.status, 'rejected');
  assert.is(((c as PromiseRejectedResult).reason as BuildError).vertex, failRun);
  assert.is((await gw.readFile((a as PromiseFulfilledResult<any>).value, '/n1')).toString(), '1\n');
  assert.is((await gw.readFile((b as PromiseFulfilledResult<any>).value, '/n2')).toString(), '2\n');
});

onDockerd('exportImage: concurrent moby exports with image config in one attached session', async ({ env, session }) => {
  const client = await env.client();
  const names = [testImageName('gw-export'), testImageName('gw-export')];
  const defs = names.map((_, i) =>
    marshal(
      image(env.images.amd64)
        .file(copy(local('context'), '/hello.txt', '/hello.txt'))
        .run({ shell: `echo ${i} > /which` })
        .root(),
      { platform: 'linux/amd64' },
    ),
  );
  const res = await Promise.all(
    names.map((name, i) =>
      exportImage(client, {
        session,
        definition: defs[i],
        imageConfig: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin', `WHICH=${i}`], Cmd: ['sh'], Labels: { 'werf.io/test': String(i) } } },
        exporter: { type: 'moby', attrs: { name } },
      }),
    ),
  );
  assert.is(res.length, 2);
  for (let i = 0; i < 2; i++) {
    const insp = await env.docker.inspectImage(names[i]);
    assert.ok(insp, `image ${names[i]} exists`);
    assert.ok(insp!.Config?.Env?.includes(`WHICH=${i}`), JSON.stringify(insp!.Config));
    assert.is(insp!.Config?.Labels?.['werf.io/test'], String(i));
  }
  assert.ok(client.isAttached(session.id), 'the long-lived session stays attached');
});

onDockerd('session leases: an export attaching the session of the gateway does not close it under the gateway', async ({ env, ctxDir }) => {
  const client = await env.client();
  const session = new Session({ syncedDirs: { context: { dir: ctxDir } }, ssh: [] });
  const def = marshal(image(env.images.amd64).file(copy(local('context'), '/hello.txt', '/hello.txt')).run({ shell: 'sleep 1' }).root(), { platform: 'linux/amd64' });
  // The export attaches the session first; the gateway opens while the export runs.
  const exporting = exportImage(client, { session, definition: def, imageConfig: { architecture: 'amd64', os: 'linux', config: {} }, exporter: { type: 'moby', attrs: { name: testImageName('lease') } } });
  while (!client.isAttached(session.id)) await new Promise((r) => setTimeout(r, 10));
  const gw2 = await openGateway(client, { session });
  await exporting;
  assert.ok(client.isAttached(session.id), 'still attached for the gateway');
  const ref = await gw2.solve(marshal(scratch().file(copy(local('context'), '/sub', '/sub2')), { platform: 'linux/amd64' }));
  assert.is((await gw2.readFile(ref, '/sub2/x.txt')).toString(), 'x\n');
  await gw2.finish();
  assert.not.ok(client.isAttached(session.id), 'the last lease closed the tunnel');
});

t('finish ends the gateway build; later calls are refused', async ({ env }) => {
  const client = await env.client();
  const gw2 = await openGateway(client);
  const ref = await gw2.solve(marshal(image(env.images.amd64).run({ shell: 'echo x > /x' }).root(), { platform: 'linux/amd64' }));
  assert.ok(ref.id);
  await gw2.finish();
  let err: unknown;
  try {
    await gw2.readFile(ref, '/x');
  } catch (e) {
    err = e;
  }
  assert.is((err as any)?.code, 'GATEWAY_CLOSED');
});

t.run();
