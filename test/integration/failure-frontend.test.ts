/**
 * Solve through a frontend (BuildKit's built-in dockerfile.v0) with the context and Dockerfile sent
 * over the session: the image config lands in the image, and a failing RUN is reported by its step
 * name, command, exit status and last log lines.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildError } from '../../src/buildkit/build-error';
import { Session } from '../../src/session';
import { dockerdOnly, testEnv, testImageName, type TestEnv } from './harness';

const t = suite<{ env: TestEnv; dirs: string[] }>('dockerfile.v0 frontend');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.dirs = [];
});
t.after(async (ctx) => {
  for (const d of ctx.dirs) fs.rmSync(d, { recursive: true, force: true });
  await ctx.env?.stop();
});

function project(ctx: { dirs: string[] }, dockerfile: string, files: Record<string, string> = {}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-df-'));
  ctx.dirs.push(d);
  fs.writeFileSync(path.join(d, 'Dockerfile'), dockerfile);
  for (const [f, c] of Object.entries(files)) fs.writeFileSync(path.join(d, f), c);
  return d;
}

dockerdOnly(t, 'moby exporter, docker inspect/run')('a Dockerfile build: context over the session, config in the image', async (ctx) => {
  const client = await ctx.env.client();
  const dir = project(ctx, `FROM ${ctx.env.images.amd64}\nENV GREETING=hello\nWORKDIR /app\nCOPY hello.txt .\nRUN cat hello.txt > copied.txt\nCMD ["cat", "/app/copied.txt"]\n`, { 'hello.txt': 'from the context\n' });
  const session = new Session({ syncedDirs: { context: { dir }, dockerfile: { dir } } });
  const name = testImageName('dockerfile');
  try {
    await client.solve({ frontend: 'dockerfile.v0', frontendAttrs: { filename: 'Dockerfile' }, session, exporter: { type: 'moby', attrs: { name } } });
  } finally {
    await session.close();
  }
  const info = await ctx.env.docker.inspectImage(name);
  assert.ok(info, 'image exported');
  assert.ok(info!.Config?.Env?.includes('GREETING=hello'), JSON.stringify(info!.Config?.Env));
  assert.is(info!.Config?.WorkingDir, '/app');
  assert.equal(info!.Config?.Cmd, ['cat', '/app/copied.txt']);
  const out = await ctx.env.docker.run(name, []);
  assert.is(out.stdout, 'from the context\n');
  await ctx.env.docker.removeImage(name);
});

t('a failing RUN in a Dockerfile names the step, the command and its last log lines', async (ctx) => {
  const client = await ctx.env.client();
  const dir = project(ctx, `FROM ${ctx.env.images.amd64}\nRUN echo fine\nRUN echo "checking $((6*7))" && echo broken >&2 && exit 5\n`);
  const session = new Session({ syncedDirs: { context: { dir }, dockerfile: { dir } } });
  let err: unknown;
  try {
    await client.solve({ frontend: 'dockerfile.v0', frontendAttrs: { filename: 'Dockerfile', 'build-arg:BUST': String(Date.now()) }, session });
  } catch (e) {
    err = e;
  } finally {
    await session.close();
  }
  assert.instance(err, BuildError);
  const be = err as BuildError;
  assert.is(be.exitCode, 5);
  assert.match(be.command ?? '', /exit 5/);
  assert.ok(be.logTail.includes('checking 42'), be.logTail.join('|'));
  assert.ok(be.logTail.includes('broken'));
  // The step is named by its vertex (the Dockerfile frontend calls it `[3/3] RUN …`); dockerd 20.10
  // sends no errdefs.Source details, newer daemons may add a file position in front.
  assert.match(be.vertexName ?? '', /^\[3\/3\] RUN echo/);
  assert.match(be.format(), /\[3\/3\] RUN .*' exited 5/);
});

t.run();
