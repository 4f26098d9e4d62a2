/**
 * Secrets and ssh of a werf.yaml Dockerfile image through the frontend image on the real dockerd:
 * werf.yaml `secrets:` (env/src forms, ids by werf's rules) and `ssh:` are asked from the docker
 * CLI's session (`docker build --secret id=…,src=…`, `--ssh default=<agent>`), read by the
 * Dockerfile's `RUN --mount=type=secret|ssh`; only derived facts (length, sha256, the agent's key
 * comment) reach the image; the values are in no layer, config, history or build output. A
 * `value:` secret and a declared secret the client does not serve fail at their werf.yaml position.
 * And a Stapel image's user stages with the frontend's `ssh` option (`--build-arg STAPELKIT_SSH=1`):
 * the client's agent answers the install stage; without `--ssh` the build fails positioned.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { frontendImage, projectDir, dockerBuildWerf } from './frontend-helpers';
import { daemonTraits, dockerdOnly, testEnv, testImageName, type TestEnv } from './harness';
import { startSshAgent } from './session-helpers';

const PROBE_SRC = path.resolve(__dirname, '../fixtures/ssh-agent-probe/probe.c');

interface Ctx {
  env: TestEnv;
  image: string;
  tmp: string;
  cleanups: (() => void)[];
  agent?: ChildProcess;
  sock: string;
  keyComment: string;
  probe: Buffer;
}
const t = suite<Ctx>('frontend dockerfile secrets and ssh');
const dockerd = dockerdOnly(t, 'the frontend image is docker-loaded and docker build runs it');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.cleanups = [];
  if (!daemonTraits().dockerd) return;
  ctx.image = await frontendImage(ctx.env.docker);
  // Outside every project dir: a secret file in the context would be sent as context.
  ctx.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-fesec-'));
  const probe = path.join(ctx.tmp, 'ssh-agent-probe');
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', probe, PROBE_SRC], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc -static failed: ${cc.stderr}`);
  ctx.probe = fs.readFileSync(probe);
  ({ sock: ctx.sock, agent: ctx.agent, keyComment: ctx.keyComment } = await startSshAgent(ctx.tmp, `stapelkit-fe-key-${process.pid}`));
});
t.after(async (ctx) => {
  ctx.agent?.kill();
  for (const c of ctx.cleanups ?? []) c();
  if (ctx.tmp) fs.rmSync(ctx.tmp, { recursive: true, force: true });
  await ctx.env?.stop();
});

const sha256 = (b: string | Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const random = (n: number) => crypto.randomBytes(n).toString('base64url').slice(0, n);

function project(ctx: Ctx, files: Record<string, string>, binary: Record<string, Buffer> = {}): string {
  const p = projectDir({ '.dockerignore': '.docker-config\n', ...files });
  ctx.cleanups.push(p.cleanup);
  for (const [f, b] of Object.entries(binary)) fs.writeFileSync(path.join(p.dir, f), b, { mode: 0o755 });
  return p.dir;
}

/** A secret file of the client (outside the context). */
function secretFile(ctx: Ctx, name: string, value: string): string {
  const f = path.join(ctx.tmp, name);
  fs.writeFileSync(f, value, { mode: 0o600 });
  return f;
}

async function sh(env: TestEnv, image: string, script: string): Promise<string> {
  const r = await env.docker.run(image, ['sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`${script} in ${image}: ${r.stderr}`);
  return r.stdout;
}

const GITERMINISM = 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [API_TOKEN]\n    allowFiles: [/home/ci/deploy.key]\n    allowValueIds: [inline]\n';

/** werf.yaml with one Dockerfile image `df` and its `secrets:`/`ssh:` lines. */
const werfYaml = (frontend: string, extra: string) => `# syntax=${frontend}
project: fesec
configVersion: 1
---
image: df
dockerfile: Dockerfile
${extra}`;

dockerd('docker build --target <Dockerfile image> --secret --ssh: werf.yaml env/src secrets by their werf ids and ssh: default reach the RUN mounts; values nowhere in the image or output', async (ctx) => {
  const env = ctx.env;
  const token = `tok-${random(29)}`; // 33 bytes
  const deployKey = `-----KEY ${random(40)}-----\n`;
  const dir = project(
    ctx,
    {
      'werf.yaml': werfYaml(ctx.image, 'secrets:\n- env: API_TOKEN\n- src: /home/ci/deploy.key\nssh: default\n'),
      'werf-giterminism.yaml': GITERMINISM,
      Dockerfile: `FROM ${env.images.amd64}
COPY ssh-agent-probe /usr/local/bin/ssh-agent-probe
ARG NONCE
RUN --mount=type=secret,id=API_TOKEN --mount=type=secret,id=deploy.key,target=/etc/deploy.key \\
    echo "$NONCE" > /nonce && wc -c < /run/secrets/API_TOKEN | tr -d ' ' > /token-len && sha256sum /etc/deploy.key | cut -d' ' -f1 > /key-sha
RUN --mount=type=ssh ssh-agent-probe > /ssh-keys && echo "$SSH_AUTH_SOCK" > /ssh-sock
`,
    },
    { 'ssh-agent-probe': ctx.probe },
  );
  const name = testImageName('frontend-df-secrets');
  const nonce = random(12); // secret values are not in BuildKit's cache key: a new nonce runs the RUNs again
  const r = await dockerBuildWerf(env.dockerSocket, dir, [
    '-t', name, '--target', 'df', '--build-arg', `NONCE=${nonce}`,
    // werf's ids: an env secret is named by its variable, a src secret by the file's base name.
    '--secret', `id=API_TOKEN,src=${secretFile(ctx, 'token', token)}`,
    '--secret', `id=deploy.key,src=${secretFile(ctx, 'deploy', deployKey)}`,
    '--ssh', `default=${ctx.sock}`,
  ]);
  assert.is(r.code, 0, r.out);
  assert.is(await sh(env, name, 'cat /nonce /token-len /key-sha'), `${nonce}\n${token.length}\n${sha256(deployKey)}\n`, 'both secrets were readable in the RUN');
  const keys = await sh(env, name, 'cat /ssh-keys /ssh-sock');
  assert.match(keys, /^keys: 1$/m);
  assert.match(keys, new RegExp(`^comment: ${ctx.keyComment}$`, 'm'), 'the client agent answered the RUN');
  assert.is(await sh(env, name, 'ls /run/secrets 2>/dev/null | wc -l; test -e /etc/deploy.key && echo key-present || echo no-key'), '0\nno-key\n', 'no secret mount left a file');
  const saved = await env.docker.call(`/images/${encodeURIComponent(name)}/get`);
  assert.ok(saved.body.length > 100_000, 'the saved image (layers, config, history) was read');
  for (const v of [token, deployKey.trim()]) {
    assert.not.ok(saved.body.includes(Buffer.from(v)), 'the secret value is in no layer, config or history');
    assert.not.ok(r.out.includes(v), 'nor in the build output');
  }
  await env.docker.removeImage(name);
});

dockerd('docker build --target <Dockerfile image>: a value: secret is refused at its werf.yaml position, its value never printed', async (ctx) => {
  const value = `inline-${random(24)}`;
  const dir = project(ctx, {
    'werf.yaml': werfYaml(ctx.image, `secrets:\n- id: inline\n  value: ${value}\n`),
    'werf-giterminism.yaml': GITERMINISM,
    Dockerfile: `FROM ${ctx.env.images.amd64}\nRUN --mount=type=secret,id=inline wc -c < /run/secrets/inline > /len\n`,
  });
  const r = await dockerBuildWerf(ctx.env.dockerSocket, dir, ['--target', 'df', '--secret', `id=inline,src=${secretFile(ctx, 'inline', 'from-client')}`]);
  assert.is.not(r.code, 0, r.out);
  assert.match(r.out, /werf\.yaml:8:3: .*secret "inline".*value/, r.out);
  assert.not.ok(r.out.includes(value), 'the value is not printed');
});

dockerd('docker build --target <Dockerfile image>: a werf.yaml secret the client does not serve fails at its werf.yaml position with the --secret to give', async (ctx) => {
  const dir = project(ctx, {
    'werf.yaml': werfYaml(ctx.image, 'secrets:\n- env: API_TOKEN\n'),
    'werf-giterminism.yaml': GITERMINISM,
    Dockerfile: `FROM ${ctx.env.images.amd64}\nARG NONCE\nRUN --mount=type=secret,id=API_TOKEN echo "$NONCE" > /n; wc -c < /run/secrets/API_TOKEN > /len || true\n`,
  });
  const r = await dockerBuildWerf(ctx.env.dockerSocket, dir, ['--target', 'df', '--build-arg', `NONCE=${random(12)}`]);
  assert.is.not(r.code, 0, r.out);
  assert.match(r.out, /werf\.yaml:8:3: .*secret "API_TOKEN".*--secret id=API_TOKEN/, r.out);
});

dockerd('docker build --target <Dockerfile image>: werf.yaml ssh: default without docker build --ssh fails at the werf.yaml position with the --ssh to give', async (ctx) => {
  const dir = project(ctx, {
    'werf.yaml': werfYaml(ctx.image, 'ssh: default\n'),
    Dockerfile: `FROM ${ctx.env.images.amd64}\nARG NONCE\nRUN --mount=type=ssh echo "$NONCE $SSH_AUTH_SOCK" > /sock\n`,
  });
  const r = await dockerBuildWerf(ctx.env.dockerSocket, dir, ['--target', 'df', '--build-arg', `NONCE=${random(12)}`]);
  assert.is.not(r.code, 0, r.out);
  assert.match(r.out, /werf\.yaml:5:1: .*ssh "default".*--ssh default/, r.out);
});

dockerd('docker build a Stapel image with --build-arg STAPELKIT_SSH=1 --ssh: user stages reach the client agent; without --ssh a positioned error', async (ctx) => {
  const stapel = (frontend: string) => `# syntax=${frontend}
project: fessh
configVersion: 1
---
image: app
from: ${ctx.env.images.amd64}
git:
- add: /tools
  to: /tools
  # Without .git the context's files reach install only through its stageDependencies.
  stageDependencies:
    install: ['*']
shell:
  install:
  - echo "$NONCE" > /nonce
  - /tools/ssh-agent-probe > /ssh-keys
`;
  const dir = project(ctx, { 'werf.yaml': stapel(ctx.image), 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  goTemplateRendering:\n    allowEnvVariables: [NONCE]\n', 'tools/.keep': '' });
  fs.writeFileSync(path.join(dir, 'tools', 'ssh-agent-probe'), ctx.probe, { mode: 0o755 });
  // The NONCE build arg is in the template env only through werf.yaml: keep the stage's input new each run.
  fs.writeFileSync(path.join(dir, 'werf.yaml'), stapel(ctx.image).replace('echo "$NONCE"', `echo ${random(12)}`));
  const name = testImageName('frontend-stapel-ssh');
  const r = await dockerBuildWerf(ctx.env.dockerSocket, dir, ['-t', name, '--build-arg', 'STAPELKIT_SSH=1', '--ssh', `default=${ctx.sock}`]);
  assert.is(r.code, 0, r.out);
  const keys = await sh(ctx.env, name, 'cat /ssh-keys');
  assert.match(keys, /^keys: 1$/m);
  assert.match(keys, new RegExp(`^comment: ${ctx.keyComment}$`, 'm'), 'the install stage talked to the client agent');
  const cfg = await ctx.env.docker.inspectImage(name);
  assert.not.ok(cfg?.Config?.Env?.some((e) => e.startsWith('SSH_AUTH_SOCK=')), 'no agent socket left in the image config');
  await ctx.env.docker.removeImage(name);

  fs.writeFileSync(path.join(dir, 'werf.yaml'), stapel(ctx.image).replace('echo "$NONCE"', `echo ${random(12)}`));
  const bad = await dockerBuildWerf(ctx.env.dockerSocket, dir, ['--build-arg', 'STAPELKIT_SSH=1']);
  assert.is.not(bad.code, 0, bad.out);
  assert.match(bad.out, /werf\.yaml:5:1: image "app": the `ssh` option mounts the client's ssh agent, but the client forwarded none.*--ssh default/s, bad.out);
});

t.run();
