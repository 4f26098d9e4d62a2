/**
 * Stages storages on the real dockerd: the daemon image store and a registry (Debian's
 * docker-registry on 127.0.0.1). Store, list (one call, stage tags only, labels), the same digest
 * stored concurrently — in one process and from two processes — is stored once, a failing or
 * killed build leaves no tag, and the registry's stage is usable as a base by sourceRef.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BuildError } from '../../src/buildkit/build-error';
import { image, marshal } from '../../src/llb';
import { DaemonImageStorage, NoStagesStorage, RegistryStorage, openStagesStorage, parseStageTag, stageLockPath, type StoreRequest } from '../../src/storage';
import { RegistryClient } from '../../src/registry';
import { dockerdOnly, testEnv, testRegistry, type TestEnv, type TestRegistry } from './harness';

const t = suite<{ env: TestEnv; lockDir: string; registry?: TestRegistry }>('stages storage');
const test = dockerdOnly(t, 'the daemon image store and docker push');

const ROOT = path.resolve(__dirname, '..', '..');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-locks-'));
});
t.after(async (ctx) => {
  await ctx.registry?.stop();
  await ctx.env?.stop();
  if (ctx.lockDir) fs.rmSync(ctx.lockDir, { recursive: true, force: true });
});

const randomDigest = () => crypto.randomBytes(28).toString('hex');
const uniqueRepo = (what: string) => `stapelkit-test-stages-${what}-${crypto.randomBytes(4).toString('hex')}`;

function request(env: TestEnv, digest: string, shell: string, labels: Record<string, string> = {}): StoreRequest {
  return {
    digest,
    definition: marshal(image(env.images.amd64).run({ shell }).root(), { platform: 'linux/amd64' }),
    imageConfig: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'], Labels: { 'werf-stage-digest': digest, ...labels } } },
  };
}

/** Runs storage-child.ts; resolves with its JSON lines and exit code. */
function child(args: string[], onLine?: (ev: any, proc: ChildProcess) => void): { proc: ChildProcess; done: Promise<{ code: number | null; events: any[]; stderr: string }> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'test/integration/storage-child.ts'), ...args], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: any[] = [];
  let stderr = '';
  let buf = '';
  proc.stdout!.on('data', (b: Buffer) => {
    buf += b.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        const ev = JSON.parse(line);
        events.push(ev);
        onLine?.(ev, proc);
      } catch {
        /* not ours */
      }
    }
  });
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const done = new Promise<{ code: number | null; events: any[]; stderr: string }>((resolve) => proc.on('close', (code) => resolve({ code, events, stderr })));
  return { proc, done };
}

test('daemon store: store, then list in one call with labels; non-stage tags are ignored', async ({ env, lockDir }) => {
  const client = await env.client();
  const repo = uniqueRepo('daemon');
  const storage = new DaemonImageStorage({ client, docker: env.docker, repo, lockDir });
  assert.is((await storage.list()).size, 0);
  const d = randomDigest();
  const t0 = Date.now();
  const s = await storage.store(request(env, d, `echo ${d} > /stage`, { 'stapelkit.test/x': '1' }));
  assert.is(s.digest, d);
  assert.ok(s.createdMs >= t0 && s.createdMs <= Date.now());
  assert.is(s.imageName, `${repo}:${d}-${s.createdMs}`);
  assert.ok(s.imageId?.startsWith('sha256:'), String(s.imageId));
  assert.is(storage.sourceRef(s), s.imageName);
  const insp = await env.docker.inspectImage(s.imageName);
  assert.is(insp?.Id, s.imageId);
  assert.is(insp?.Config?.Labels?.['stapelkit.test/x'], '1');
  // Tags that are not stages: a custom tag, a rejected stage, a short digest.
  await env.docker.tagImage(s.imageName, repo, 'latest');
  await env.docker.tagImage(s.imageName, repo, `${randomDigest()}-123-rejected`);
  await env.docker.tagImage(s.imageName, repo, `abc-123`);
  const listed = await storage.list();
  assert.equal([...listed.keys()], [d]);
  const [st] = listed.get(d)!;
  assert.is(st.imageName, s.imageName);
  assert.is(st.createdMs, s.createdMs);
  assert.is(st.labels['stapelkit.test/x'], '1');
  assert.is(st.labels['werf-stage-digest'], d);
  // The stored stage is a base image by its tag.
  const r = await env.docker.run(storage.sourceRef(st), ['cat', '/stage']);
  assert.is(r.stdout.trim(), d);
});

test('daemon store: the same digest stored concurrently in one process is stored once', async ({ env, lockDir }) => {
  const client = await env.client();
  const storage = new DaemonImageStorage({ client, docker: env.docker, repo: uniqueRepo('conc'), lockDir });
  const d = randomDigest();
  const [a, b] = await Promise.all([storage.store(request(env, d, 'echo a > /who')), storage.store(request(env, d, 'echo b > /who'))]);
  assert.is(a.imageName, b.imageName);
  assert.is((await storage.list()).get(d)?.length, 1);
});

test('daemon store: two processes storing one digest serialise; one tag', async ({ env, lockDir }) => {
  const repo = uniqueRepo('procs');
  const d = randomDigest();
  const runs = [0, 1].map((i) => child(['daemon', repo, lockDir, d, `sleep 1; echo ${i} > /who`, env.images.amd64]));
  const results = await Promise.all(runs.map((r) => r.done));
  for (const r of results) assert.is(r.code, 0, r.stderr);
  const names = results.map((r) => r.events.find((e) => e.event === 'stored')?.imageName);
  assert.is(names[0], names[1]);
  const storage = new DaemonImageStorage({ client: await env.client(), docker: env.docker, repo, lockDir });
  assert.is((await storage.list()).get(d)?.length, 1);
});

test('daemon store: a failing build and a killed build leave no tag; the lock of a dead process is taken over', async ({ env, lockDir }) => {
  const client = await env.client();
  const repo = uniqueRepo('fail');
  const storage = new DaemonImageStorage({ client, docker: env.docker, repo, lockDir });
  const d = randomDigest();
  let err: unknown;
  try {
    await storage.store(request(env, d, 'echo nope >&2; exit 5'));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof BuildError, String(err));
  assert.is((await storage.list()).size, 0);

  // A process killed in the middle of its stage's build.
  const k = child(['daemon', repo, lockDir, d, 'sleep 30; echo late > /late', env.images.amd64], (ev, proc) => {
    if (ev.event === 'storing') setTimeout(() => proc.kill('SIGKILL'), 2500);
  });
  const killed = await k.done;
  assert.is(killed.code, null, 'killed');
  assert.ok(fs.existsSync(stageLockPath(lockDir, repo, d)), 'the dead process left its lock file');
  await new Promise((r) => setTimeout(r, 1000));
  assert.is((await storage.list()).size, 0, 'no tag for the unfinished stage');
  const s = await storage.store(request(env, d, 'echo done > /done'));
  assert.ok(parseStageTag(s.imageName.slice(repo.length + 1)));
  assert.is((await storage.list()).get(d)?.length, 1);
});

test('registry store: store (moby export + push), list via the tags list, labels from the config blob, usable as a base', async (ctx) => {
  const { env, lockDir } = ctx;
  ctx.registry ??= await testRegistry();
  const client = await env.client();
  const repo = `${ctx.registry.host}/${uniqueRepo('reg')}`;
  const storage = openStagesStorage({ client, project: 'unused', repo, lockDir });
  assert.instance(storage, RegistryStorage);
  assert.is((await storage.list()).size, 0, 'a repository that does not exist yet has no stages');
  const d = randomDigest();
  const s = await storage.store(request(env, d, `echo ${d} > /stage`, { 'stapelkit.test/r': 'yes' }));
  assert.is(s.imageName, `${repo}:${d}-${s.createdMs}`);
  assert.ok(s.manifestDigest?.startsWith('sha256:'), String(s.manifestDigest));
  // Non-stage tags in the registry are ignored.
  const reg = new RegistryClient(ctx.registry.host);
  const path_ = repo.slice(ctx.registry.host.length + 1);
  const m = await reg.getManifest(path_, `${d}-${s.createdMs}`);
  await reg.putManifest(path_, 'latest', m.bytes, m.mediaType);
  const listed = await storage.list();
  assert.equal([...listed.keys()], [d]);
  const [st] = listed.get(d)!;
  assert.equal(st.labels, {}, 'the tags list has no labels');
  const full = await storage.loadLabels!(st);
  assert.is(full.labels['stapelkit.test/r'], 'yes');
  assert.is(full.labels['werf-stage-digest'], d);
  assert.is(full.manifestDigest, s.manifestDigest);
  // Another build starting from the stored stage (the daemon resolves the tag).
  const from = marshal(image(storage.sourceRef(st)).run({ shell: 'cat /stage > /copied' }).root(), { platform: 'linux/amd64' });
  const out = await client.solve({ definition: from, exporter: { type: 'moby', attrs: { name: `${repo}:from-stage` } } });
  assert.ok(out.exporterResponse['containerimage.digest']);
  const r = await env.docker.run(`${repo}:from-stage`, ['cat', '/copied']);
  assert.is(r.stdout.trim(), d);
});

test('registry store: concurrent stores of one digest push once; a failing build pushes nothing', async (ctx) => {
  const { env, lockDir } = ctx;
  ctx.registry ??= await testRegistry();
  const client = await env.client();
  const repo = `${ctx.registry.host}/${uniqueRepo('regc')}`;
  const storage = new RegistryStorage({ client, repo, lockDir, docker: env.docker });
  const d = randomDigest();
  const [a, b] = await Promise.all([storage.store(request(env, d, 'echo a > /who')), storage.store(request(env, d, 'echo b > /who'))]);
  assert.is(a.imageName, b.imageName);
  const reg = new RegistryClient(ctx.registry.host);
  const tags = await reg.listTags(repo.slice(ctx.registry.host.length + 1));
  assert.equal(tags, [`${d}-${a.createdMs}`]);
  const bad = randomDigest();
  let err: unknown;
  try {
    await storage.store(request(env, bad, 'exit 3'));
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof BuildError, String(err));
  assert.not.ok((await storage.list()).has(bad));
});

t('openStagesStorage: dockerd without --repo is the daemon store; the "none" storage stores nothing', async ({ env, lockDir }) => {
  const client = await env.client();
  const s = openStagesStorage({ client, project: 'stapelkit-test-project', lockDir });
  if (client.address.kind === 'dockerd' && client.address.net === 'unix') {
    assert.instance(s, DaemonImageStorage);
    assert.is(s.repo, 'stapelkit-test-project');
  } else assert.instance(s, NoStagesStorage);
  const none = new NoStagesStorage();
  assert.is(none.persistent, false);
  assert.is((await none.list()).size, 0);
  assert.throws(() => new DaemonImageStorage({ client, docker: env.docker, repo: 'Bad:Repo', lockDir }), /invalid stages repo/);
});

t.run();
