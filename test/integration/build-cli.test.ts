/**
 * `stapelkit build` and `stapelkit stages` as a user meets them: `--explain` names the changed input,
 * `stages` lists digests and whether they are stored without building, `--add-custom-tag`, an
 * unreachable registry, dockerd over tcp://, a build whose daemon dies mid-build (clear error, no tag for the unfinished
 * stage, the next build reuses every finished one).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { dockerdOnly, testEnv, type TestEnv } from './harness';
import { build, werfProject } from './werf-project';
import { runCli } from './cli-run';
import { spawnSync } from 'node:child_process';
import { startDockerd, stopDockerdAt } from '../../src/daemon/dockerd';
import { DockerApi } from '../../src/daemon/docker-api';

const t = suite('build and stages CLI');
const dockerd = dockerdOnly(t, "stapelkit build stores into and inspects dockerd's image store");
let env: TestEnv;
let cliEnv: NodeJS.ProcessEnv;
let seq = 0;
const uniq = (what: string) => `${what}-${process.pid}-${++seq}`;

t.before(async () => {
  env = await testEnv();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
});
t.after(async () => {
  await env.stop();
});

const yaml = (project: string, install: string, bb: string) => `project: ${project}\nconfigVersion: 1\n---\nimage: app\nfrom: ${bb}\nshell:\n  beforeInstall:\n  - echo one > /one\n  install:\n  - ${install}\n`;

function stageTags(docker: DockerApi, repo: string): Promise<string[]> {
  return docker.json<any[]>(`/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: [repo] }))}`).then((l) => l.flatMap((i) => i.RepoTags ?? []).filter((t: string) => /:[0-9a-f]{56}-\d+$/.test(t)));
}

dockerd('--explain names the changed digest input; stages lists digests and what is stored without building', async () => {
  const name = uniq('explain');
  const p = werfProject({ 'werf.yaml': yaml(name, 'echo a > /a', env.images.amd64) });
  await build(p, ['--addr', env.addr], { env: cliEnv });
  p.write({ 'werf.yaml': yaml(name, 'echo b > /a', env.images.amd64) });
  p.commit();
  const stages = await runCli(['stages', '--dir', p.dir, '--addr', env.addr], { env: cliEnv });
  assert.is(stages.code, 0, stages.stderr);
  assert.match(stages.stdout, /stage from\s+[0-9a-f]{12}  from storage/);
  assert.match(stages.stdout, /stage beforeInstall\s+[0-9a-f]{12}  from storage/);
  assert.match(stages.stdout, /stage install\s+[0-9a-f]{12}  not stored/);
  assert.is((await stageTags(env.docker, name)).length, 3, 'stages built nothing');
  const r = await build(p, ['--addr', env.addr, '--explain'], { env: cliEnv });
  assert.equal(r.built, ['app/install']);
  assert.match(r.stdout, /stage install .* built in/);
  assert.match(r.stdout, /^\s+install\[0\]: "echo a > \/a" → "echo b > \/a"$/m);
  p.remove();
});

dockerd('--add-custom-tag tags the final image in the stages repository', async () => {
  const name = uniq('tag');
  const p = werfProject({ 'werf.yaml': yaml(name, 'true', env.images.amd64) });
  const r = await build(p, ['--addr', env.addr, '--add-custom-tag', '%image%-latest'], { env: cliEnv });
  assert.match(r.stdout, new RegExp(`^image app: tagged ${name}:app-latest$`, 'm'));
  const a = await env.docker.inspectImage(`${name}:app-latest`);
  const b = await env.docker.inspectImage(r.report.Images.app.DockerImageName);
  assert.is(a?.Id, b?.Id);
  p.remove();
});

t('an unreachable --repo registry: one clear error, non-zero exit', async () => {
  const p = werfProject({ 'werf.yaml': yaml(uniq('noreg'), 'true', env.images.amd64) });
  const r = await build(p, ['--addr', env.addr, '--repo', '127.0.0.1:1/nothing/here'], { env: cliEnv, expectFail: true });
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^error: .*127\.0\.0\.1:1/m);
  assert.not.match(r.stderr, /^\s+at /m);
  p.remove();
});

dockerd('dockerd over tcp:// (docker://tcp://host:port): its image store is the stages storage, as over the unix socket', async () => {
  // A plain tcp listener in front of the test daemon's socket: the Docker API and the /grpc upgrade over tcp.
  const server = net.createServer((c) => {
    const u = net.connect(env.docker.socketPath);
    c.pipe(u).pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = `docker://tcp://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const name = uniq('tcp');
  const p = werfProject({ 'werf.yaml': yaml(name, 'echo a > /a', env.images.amd64) });
  try {
    const r = await build(p, ['--addr', addr], { env: cliEnv });
    assert.not.match(r.stderr, /no image store/);
    assert.ok(r.built.includes('app/install'), r.built.join(', '));
    assert.is((await stageTags(env.docker, name)).length, 3, 'every stage stored in the image store');
    const again = await build(p, ['--addr', addr], { env: cliEnv });
    assert.equal(again.built, []);
    assert.match(again.stdout, /stage install .*from storage/);
  } finally {
    server.close();
    p.remove();
  }
});

dockerd('the daemon dies mid-build: clear error, no tag for the unfinished stage; the next build reuses the finished ones', async () => {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-dying-'));
  let d = await startDockerd({ stateDir });
  const name = uniq('dying');
  const p = werfProject({ 'werf.yaml': yaml(name, 'sleep 20; echo done > /a', env.images.amd64) });
  const stateEnv = { ...cliEnv, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
  const running = build(p, ['--addr', d.addr], { env: stateEnv, expectFail: true });
  const docker = new DockerApi(d.socketPath);
  // Wait until from and beforeInstall are stored, then kill the daemon during install's sleep.
  const until = Date.now() + 120_000;
  while ((await stageTags(docker, name).catch(() => [])).length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 300));
  await new Promise((r) => setTimeout(r, 1500));
  process.kill(d.pid, 'SIGKILL');
  const r = await running;
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /^error: /m);
  assert.not.match(r.stderr, /^\s+at /m, 'no stack trace');
  await d.stop().catch(() => undefined);
  // dockerd was SIGKILLed: its containerd may linger; clean up by the state dir, then start again.
  await stopDockerdAt(stateDir).catch(() => undefined);
  for (let i = 0; ; i++) {
    try {
      d = await startDockerd({ stateDir });
      break;
    } catch (e) {
      if (i >= 2) throw e;
      spawnSync('pkill', ['-KILL', '-f', `${stateDir}/exec/containerd`]);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    const tags = await stageTags(new DockerApi(d.socketPath), name);
    assert.is(tags.length, 2, `only from and beforeInstall stored: ${tags.join(', ')}`);
    p.write({ 'werf.yaml': yaml(name, 'echo done > /a', env.images.amd64) });
    p.commit();
    const again = await build(p, ['--addr', d.addr], { env: stateEnv });
    assert.equal(again.built, ['app/install']);
  } finally {
    await d.stop().catch(() => undefined);
    fs.rmSync(stateDir, { recursive: true, force: true });
    p.remove();
  }
});

t.run();
