/**
 * The embedded default: with no --addr, BUILDKIT_HOST or DOCKER_HOST and nothing at the default
 * sockets, Stapelkit starts its own dockerd under the per-user state dir, says so once, and reuses
 * it next time. Runs beside the harness daemon, so it also shows two private instances coexist.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildkitClient } from '../../src/buildkit/client';
import { DockerApi } from '../../src/daemon/docker-api';
import { removeStateDir, stopDockerdAt } from '../../src/daemon/dockerd';
import { openTransport } from '../../src/buildkit/transport';
import { resolveAddress } from '../../src/daemon/connect';
import { dockerdOnly, testEnv, type TestEnv } from './harness';

const t = suite<{ env: TestEnv; home: string }>('embedded default daemon');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.home = fs.mkdtempSync(path.join(os.tmpdir(), 'skh-'));
});
t.after(async (ctx) => {
  const stateDir = path.join(ctx.home, 'stapelkit', 'dockerd');
  await stopDockerdAt(stateDir).catch(() => undefined);
  removeStateDir(stateDir);
  fs.rmSync(ctx.home, { recursive: true, force: true });
  await ctx.env?.stop();
});

t('starts a private dockerd once, says so, and reuses it', async ({ env, home }) => {
  const userEnv = { XDG_STATE_HOME: home, PATH: process.env.PATH };
  const nowhere = { buildkitd: path.join(home, 'no-buildkitd.sock'), docker: path.join(home, 'no-docker.sock') };
  const said: string[] = [];
  const first = await resolveAddress({ env: userEnv, defaultSockets: nowhere, say: (l) => said.push(l) });
  assert.is(first.source, 'embedded');
  const sock = path.join(home, 'stapelkit', 'dockerd', 'docker.sock');
  assert.equal(first.address, { kind: 'dockerd', net: 'unix', path: sock, text: `docker://unix://${sock}` });
  assert.is(said.length, 1);
  assert.match(said[0], /started a private dockerd at unix:\/\/.*docker\.sock/);
  const pid = fs.readFileSync(path.join(home, 'stapelkit', 'dockerd', 'docker.pid'), 'utf8').trim();

  const client = new BuildkitClient(await openTransport(first.address), first.source);
  try {
    const workers = await client.listWorkers();
    assert.is(workers[0].id, 'moby');
  } finally {
    await client.close();
  }

  const second = await resolveAddress({ env: userEnv, defaultSockets: nowhere, say: (l) => said.push(l) });
  assert.equal(second.address, first.address);
  assert.is(said.length, 1, 'nothing said when reusing');
  assert.is(fs.readFileSync(path.join(home, 'stapelkit', 'dockerd', 'docker.pid'), 'utf8').trim(), pid, 'same daemon');

  // The harness daemon is still fine beside it.
  if (env.dockerd) assert.ok(await env.docker.ping());
  else assert.ok((await (await env.client()).listWorkers()).length > 0);
  assert.ok(await new DockerApi(sock).ping());
});

dockerdOnly(t, 'the harness dockerd socket as DOCKER_HOST')('precedence: flag, BUILDKIT_HOST, DOCKER_HOST, then the default sockets', async ({ env, home }) => {
  const nowhere = { buildkitd: path.join(home, 'none.sock'), docker: path.join(home, 'none2.sock') };
  const all = { BUILDKIT_HOST: 'tcp://127.0.0.1:1234', DOCKER_HOST: `unix://${env.dockerSocket}` };
  assert.is((await resolveAddress({ addr: 'unix:///x.sock', env: all, defaultSockets: nowhere })).source, 'flag');
  assert.is((await resolveAddress({ env: all, defaultSockets: nowhere })).source, 'BUILDKIT_HOST');
  const d = await resolveAddress({ env: { DOCKER_HOST: all.DOCKER_HOST }, defaultSockets: nowhere });
  assert.is(d.source, 'DOCKER_HOST');
  assert.is(d.address.kind, 'dockerd');
  // A docker socket that answers at the default place wins over the embedded daemon.
  const def = await resolveAddress({ env: {}, defaultSockets: { buildkitd: nowhere.buildkitd, docker: env.dockerSocket } });
  assert.is(def.source, 'default');
  assert.is(def.address.text, `docker://unix://${env.dockerSocket}`);
  const none = await resolveAddress({ env: {}, defaultSockets: nowhere, embedded: false }).catch((e) => e);
  assert.is(none.code, 'NO_DAEMON');
});

t.run();
