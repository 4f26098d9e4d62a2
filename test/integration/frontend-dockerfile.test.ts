/**
 * Dockerfile images of werf.yaml through the frontend image on the real dockerd (`# syntax=` +
 * Debian's `docker build -f werf.yaml --target <image> .`): a multi-stage Dockerfile under
 * `context:` FROM a Stapel image of the project (a dependency's ImageName), COPY from the context
 * honouring its .dockerignore, werf.yaml `args` and `--build-arg`, `target:`, a RUN writing files,
 * ENV/LABEL/CMD in the result; a Stapel image importing from it. `stapelkit build` of the same
 * committed project yields the same files.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frontendImage, dockerBuildWerf } from './frontend-helpers';
import { daemonTraits, dockerdOnly, testEnv, testImageName, type TestEnv } from './harness';
import { build, werfProject, type WerfProject } from './werf-project';


const t = suite<{ env: TestEnv; image: string; project?: WerfProject }>('frontend dockerfile images');
const dockerd = dockerdOnly(t, 'the frontend image is docker-loaded and docker build runs it');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  if (!daemonTraits().dockerd) return;
  ctx.image = await frontendImage(ctx.env.docker);
});
t.after(async (ctx) => {
  ctx.project?.remove();
  await ctx.env?.stop();
});

function files(frontend: string, bb: string): Record<string, string> {
  return {
    'werf.yaml': `# syntax=${frontend}
project: fedf
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
`,
    '.dockerignore': '.docker-config\n',
    'app/Dockerfile': `ARG BASE_NAME
FROM \${BASE_NAME} AS builder
ARG GREETING
ARG EXTRA=default-extra
COPY src/ /out/
RUN echo "$GREETING" > /greeting && cat /out/a.txt /base/data > /combined && echo "$EXTRA" > /extra
FROM builder AS final
ENV APP_MODE=production
LABEL org.example.role=df
RUN echo final > /final
CMD ["cat", "/final"]
FROM builder AS other
RUN echo other > /other
`,
    'app/.dockerignore': 'src/ignored.txt\n',
    'app/src/a.txt': 'a1\n',
    'app/src/ignored.txt': 'ignored\n',
  };
}

function dockerBuild(env: TestEnv, dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return dockerBuildWerf(env.dockerSocket, dir, args);
}

async function sh(env: TestEnv, image: string, script: string): Promise<string> {
  const r = await env.docker.run(image, ['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${script} in ${image}: ${r.stderr}`);
  return r.stdout;
}

/** Every file the Dockerfile wrote or copied, with its checksum. */
const FILES = 'cd / && find out base greeting combined final -type f | sort | xargs md5sum; test -e /other && echo other-present; test -e /out/ignored.txt && echo ignored-present; true';

dockerd('docker build --target <Dockerfile image>: multi-stage, COPY from context, ARG, RUN, ENV/LABEL/CMD; a Stapel importer; the same files as stapelkit build', async (ctx) => {
  const env = ctx.env;
  const p = (ctx.project = werfProject(files(ctx.image, env.images.amd64)));
  const cli = await build(p, ['--addr', env.addr], { env: { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) } });
  const cliDf = cli.report.Images.df.DockerImageName as string;

  const name = testImageName('frontend-df');
  const r = await dockerBuild(env, p.dir, ['-t', name, '--target', 'df', '--build-arg', 'EXTRA=from-cli']);
  assert.is(r.code, 0, r.out);
  assert.is(await sh(env, name, 'cat /greeting /combined /final /extra'), 'hello\na1\nbase-data\nfinal\nfrom-cli\n', 'args, COPY, FROM the Stapel dependency, target, --build-arg');
  assert.is(await sh(env, name, 'test -e /other && echo yes || echo no; test -e /out/ignored.txt && echo yes || echo no'), 'no\nno\n', 'target: final; app/.dockerignore');
  const cfg = (await env.docker.inspectImage(name))!.Config!;
  assert.ok(cfg.Env?.includes('APP_MODE=production'), JSON.stringify(cfg.Env));
  assert.is(cfg.Labels?.['org.example.role'], 'df');
  assert.equal(cfg.Cmd, ['cat', '/final']);
  const run = await env.docker.run(name, []);
  assert.is(run.stdout, 'final\n', 'CMD from the Dockerfile');

  // The same files as `stapelkit build` of the committed project (EXTRA aside: only the frontend got it).
  const listing = await sh(env, name, FILES);
  assert.match(listing, /out\/a\.txt/);
  assert.is(listing, await sh(env, cliDf, FILES));
  assert.is(await sh(env, cliDf, 'cat /extra'), 'default-extra\n');

  // A Stapel image importing from the Dockerfile image, through the frontend.
  const consumer = testImageName('frontend-df-consumer');
  const rc = await dockerBuild(env, p.dir, ['-t', consumer, '--target', 'consumer']);
  assert.is(rc.code, 0, rc.out);
  assert.is(await sh(env, consumer, 'cat /listing'), 'a.txt\n');
  assert.is(await sh(env, consumer, 'cat /listing'), await sh(env, cli.report.Images.consumer.DockerImageName, 'cat /listing'));
  await env.docker.removeImage(name);
  await env.docker.removeImage(consumer);
});

t.run();
