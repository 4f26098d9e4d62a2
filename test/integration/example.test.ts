/**
 * `stapelkit example` through the real CLI against the test daemon: the image's config and files,
 * .dockerignore honoured, a cached rebuild, and the cache mount surviving between builds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dockerdOnly, testEnv, testImageName, type TestEnv } from './harness';
import { copyExample, runCli, stepOutcomes, type CliResult } from './cli-run';

const COPY_STEP = '[example 2/3] COPY . /app';
const RUN_STEP_PREFIX = '[example 3/3] RUN';
const ARCH = process.arch === 'arm64' ? 'arm64' : 'amd64';
const UNAME_M = ARCH === 'arm64' ? 'aarch64' : 'x86_64';

interface Ctx {
  env: TestEnv;
  dir: string;
  tag: string;
  first?: CliResult;
}

const t = suite<Ctx>('stapelkit example');
const dockerd = dockerdOnly(t, 'the example exports with moby and runs the image through the Docker API');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.dir = copyExample();
  // Listed in the example's .dockerignore: must never reach the image.
  fs.writeFileSync(path.join(ctx.dir, 'secret.tmp'), 'do not ship\n');
  ctx.tag = testImageName('example');
});
t.after(async (ctx) => {
  await ctx.env?.docker.removeImage(ctx.tag).catch(() => undefined);
  if (ctx.dir) fs.rmSync(ctx.dir, { recursive: true, force: true });
  await ctx.env?.stop();
});

function example(ctx: Ctx): Promise<CliResult> {
  return runCli(['example', '--dir', ctx.dir, '--tag', ctx.tag, '--addr', ctx.env.addr, '--progress', 'plain']);
}

function runStep(outcomes: Map<string, string>): string | undefined {
  return [...outcomes].find(([name]) => name.startsWith(RUN_STEP_PREFIX))?.[1];
}

/** The N of "build #N" in the container's output. */
function buildNumber(stdout: string): number {
  const m = new RegExp(`^hello from build #(\\d+) of the example on ${UNAME_M} at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$`, 'm').exec(stdout);
  assert.ok(m, `unexpected output of the image:\n${stdout}`);
  return Number(m![1]);
}

dockerd('builds the image: config, files, .dockerignore, and runs it once', async (ctx) => {
  const r = (ctx.first = await example(ctx));
  assert.is(r.code, 0, r.stderr);
  process.stderr.write(`[example] first build through the CLI: ${r.ms} ms\n`);
  const idLine = /^image (\S+) (sha256:[0-9a-f]{64})$/m.exec(r.stdout);
  assert.ok(idLine, r.stdout);
  assert.is(idLine![1], ctx.tag);
  buildNumber(r.stdout);

  const img = await ctx.env.docker.inspectImage(ctx.tag);
  assert.ok(img, 'image exists under its tag');
  assert.is(img!.Id, idLine![2], 'printed id is the image id');
  assert.is(img!.Architecture, ARCH);
  assert.is(img!.Config?.WorkingDir, '/app');
  assert.equal(img!.Config?.Cmd, ['/app/hello.sh']);
  assert.is(img!.Config?.Labels?.['dev.stapelkit.example'], 'hello');
  assert.ok(img!.Config?.Env?.includes('STAPELKIT_EXAMPLE=hello'), String(img!.Config?.Env));
  assert.ok(img!.Config?.Env?.some((e) => e.startsWith('PATH=')), 'PATH kept from the base');
  assert.is(img!.RootFS?.Layers?.length, 3, 'base layer + COPY + RUN');

  const files = await ctx.env.docker.run(ctx.tag, ['sh', '-c', 'stat -c "%a %n" /app/hello.sh; cat /app/site/index.html; ls -A /app; pwd']);
  assert.is(files.exitCode, 0, files.stderr);
  const lines = files.stdout.split('\n');
  assert.is(lines[0], '755 /app/hello.sh');
  assert.ok(files.stdout.includes(fs.readFileSync(path.join(ctx.dir, 'site', 'index.html'), 'utf8')), 'site/index.html copied verbatim');
  assert.ok(lines.includes('stamp.txt') && lines.includes('hello.sh') && lines.includes('site') && lines.includes('README.md'), files.stdout);
  assert.not.ok(lines.includes('secret.tmp'), 'secret.tmp is excluded by .dockerignore');
  assert.is(lines.filter(Boolean).pop(), '/app', 'WorkingDir applies to containers');
});

dockerd('--debug names the daemon that answered and its BuildKit version', async (ctx) => {
  const r = await runCli(['--debug', 'example', '--dir', ctx.dir, '--tag', ctx.tag, '--addr', ctx.env.addr, '--progress', 'quiet', '--no-run']);
  assert.is(r.code, 0, r.stderr);
  const line = /^debug: daemon (\S+) \(from flag\): BuildKit (.*)$/m.exec(r.stderr);
  assert.ok(line, r.stderr);
  assert.is(line![1], ctx.env.addr);
  assert.match(line![2], /^(in dockerd \d+\.\d+\S* \(the daemon reports no BuildKit version|v\d+\.\d+)/);
});

dockerd('a second run takes the copy and the RUN from cache', async (ctx) => {
  assert.ok(ctx.first && ctx.first.code === 0, 'first build must have succeeded');
  const r = await example(ctx);
  assert.is(r.code, 0, r.stderr);
  process.stderr.write(`[example] cached rebuild through the CLI: ${r.ms} ms\n`);
  const outcomes = stepOutcomes(r.stderr);
  assert.is(outcomes.get(COPY_STEP), 'CACHED', r.stderr);
  assert.is(runStep(outcomes), 'CACHED', r.stderr);
  assert.is(buildNumber(r.stdout), buildNumber(ctx.first!.stdout), 'the stamp comes from the cached RUN');
  // The first build really ran the steps.
  const firstOutcomes = stepOutcomes(ctx.first!.stderr);
  assert.is(firstOutcomes.get(COPY_STEP), 'DONE', ctx.first!.stderr);
  assert.is(runStep(firstOutcomes), 'DONE', ctx.first!.stderr);
});

dockerd('a changed file reruns the steps; the cache mount keeps its contents between builds', async (ctx) => {
  const before = buildNumber(ctx.first!.stdout);
  fs.appendFileSync(path.join(ctx.dir, 'site', 'index.html'), '<p>changed</p>\n');
  fs.writeFileSync(path.join(ctx.dir, 'secret.tmp'), 'changed secret: must not matter\n');
  const r = await example(ctx);
  assert.is(r.code, 0, r.stderr);
  const outcomes = stepOutcomes(r.stderr);
  assert.is(outcomes.get(COPY_STEP), 'DONE', r.stderr);
  assert.is(runStep(outcomes), 'DONE', r.stderr);
  assert.is(buildNumber(r.stdout), before + 1, 'the RUN read the count the previous build left in the cache mount');
  const html = await ctx.env.docker.run(ctx.tag, ['cat', '/app/site/index.html']);
  assert.match(html.stdout, /<p>changed<\/p>/);
});

dockerd('an excluded file alone does not invalidate the cache', async (ctx) => {
  fs.writeFileSync(path.join(ctx.dir, 'secret.tmp'), `changed again ${Date.now()}\n`);
  const r = await example(ctx);
  assert.is(r.code, 0, r.stderr);
  const outcomes = stepOutcomes(r.stderr);
  assert.is(outcomes.get(COPY_STEP), 'CACHED', r.stderr);
  assert.is(runStep(outcomes), 'CACHED', r.stderr);
});

t.run();
