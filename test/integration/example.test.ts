/**
 * The example werf project (examples/hello) through the real CLI against the test daemon: the
 * first build builds every stage, the image runs and prints the greeting, a rebuild takes every
 * stage from storage, and editing a greeting (install's stageDependencies) re-runs install, whose
 * build_dir mount has kept its counter.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { dockerdOnly, testEnv, type TestEnv } from './harness';
import { commitExample, copyExample, removeExample, runCli } from './cli-run';
import { build } from './werf-project';

interface Ctx {
  env: TestEnv;
  dir: string;
  cliEnv: NodeJS.ProcessEnv;
}

const t = suite<Ctx>('example werf project');
const dockerd = dockerdOnly(t, "the example image is inspected and run through the Docker API");

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.dir = copyExample();
  ctx.cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
  // The first build must build every stage: stages an earlier run stored on a reused test daemon
  // (the from stages have no git input) would come from storage.
  if (ctx.env.docker) {
    for (const img of await ctx.env.docker.listImages('stapelkit-example')) {
      for (const tag of img.RepoTags ?? []) await ctx.env.docker.untagImage(tag);
    }
  }
});
t.after(async (ctx) => {
  if (ctx.dir) removeExample(ctx.dir);
  await ctx.env?.stop();
});

dockerd('build, run, no-op rebuild, a greeting edit re-runs install with the build_dir cache kept', async (ctx) => {
  const args = ['--addr', ctx.env.addr];
  const first = await build(ctx.dir, args, { env: ctx.cliEnv });
  assert.equal(first.built, ['builder/from', 'builder/gitArchive', 'builder/install', 'hello/from', 'hello/gitArchive', 'hello/dependenciesAfterInstall', 'hello/setup', 'hello/imageSpec']);
  assert.match(first.stdout, /^image hello: stapelkit-example:[0-9a-f]{56}-\d+$/m);
  const img = first.report.Images.hello.DockerImageName;
  const inspect = await ctx.env.docker.inspectImage(img);
  assert.equal(inspect?.Config?.Cmd, ['/app/hello.sh']);
  assert.is(inspect?.Config?.WorkingDir, '/app');
  assert.is(inspect?.Config?.Labels?.['org.opencontainers.image.title'], 'stapelkit-example hello');
  assert.not.ok(inspect?.Config?.Env?.some((e: string) => e.startsWith('WERF_COMMIT')), 'commit env never in the image');

  const run = await runCli(['run', '--dir', ctx.dir, 'hello', ...args], { env: ctx.cliEnv });
  assert.is(run.code, 0, run.stderr);
  assert.match(run.stdout, /^hello from stapelkit:\nHello, werf users\.\nYour stages are now BuildKit LLB\.\nassembled in build 1 on \S+\n$/);

  const second = await build(ctx.dir, args, { env: ctx.cliEnv });
  assert.equal(second.built, []);
  assert.is(second.report.Images.hello.DockerImageName, img);

  fs.writeFileSync(path.join(ctx.dir, 'greetings', '03-more.txt'), 'One more line.\n');
  commitExample(ctx.dir);
  const third = await build(ctx.dir, args, { env: ctx.cliEnv });
  assert.equal(third.built, ['builder/install', 'hello/dependenciesAfterInstall', 'hello/setup', 'hello/imageSpec']);
  const out = await ctx.env.docker.run(third.report.Images.hello.DockerImageName, []);
  assert.match(out.stdout, /One more line\.\nassembled in build 2 on /);
});

t.run();
