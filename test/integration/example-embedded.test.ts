/**
 * What the README promises for `make example` on a fresh machine: with no address given and no
 * daemon found, `stapelkit build` starts its own dockerd under $XDG_STATE_HOME/stapelkit, builds
 * the example there (`stapelkit run` runs it), reuses that daemon next time, and `stapelkit daemon stop` stops it.
 * Runs in a temporary XDG_STATE_HOME beside the harness daemon.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { removeStateDir, stopDockerdAt } from '../../src/daemon/dockerd';
import { DEFAULT_BUILDKITD_SOCKET, DEFAULT_DOCKER_SOCKET } from '../../src/buildkit/transport';
import { copyExample, removeExample, runCli } from './cli-run';

interface Ctx {
  home: string;
  dir: string;
  env: NodeJS.ProcessEnv;
  stateDir: string;
}

const t = suite<Ctx>('example on the embedded default daemon');

t.before((ctx) => {
  ctx.home = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-xdg-'));
  ctx.stateDir = path.join(ctx.home, 'stapelkit', 'dockerd');
  ctx.dir = copyExample();
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: ctx.home };
  delete env.BUILDKIT_HOST;
  delete env.DOCKER_HOST;
  ctx.env = env;
});
t.after(async (ctx) => {
  // Whatever the tests left: never leave a daemon or bridge behind.
  await stopDockerdAt(ctx.stateDir).catch(() => undefined);
  removeStateDir(ctx.stateDir);
  fs.rmSync(ctx.home, { recursive: true, force: true });
  removeExample(ctx.dir);
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};
const bridgeExists = (name: string) => spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;

t('no address: starts its own dockerd, builds, runs; reuses it; daemon stop stops it', async ({ env, dir, stateDir }) => {
  // A machine-wide daemon at the default sockets would be picked instead of the embedded one.
  for (const s of [DEFAULT_BUILDKITD_SOCKET, DEFAULT_DOCKER_SOCKET]) {
    assert.not.ok(fs.existsSync(s), `${s} exists on this machine: the embedded default cannot be tested here`);
  }
  const before = await runCli(['daemon', 'status'], { env });
  assert.is(before.code, 0, before.stderr);
  assert.match(before.stdout, /^embedded dockerd: not running$/m);
  assert.match(before.stdout, new RegExp(`^state dir: ${stateDir}$`, 'm'));

  const first = await runCli(['build', '--dir', dir, '--progress', 'plain'], { env });
  assert.is(first.code, 0, first.stderr);
  const sock = path.join(stateDir, 'docker.sock');
  assert.match(first.stderr, new RegExp(`started a private dockerd at unix://${sock}`));
  assert.match(first.stdout, /^image hello: stapelkit-example:[0-9a-f]{56}-\d+$/m);
  const ran = await runCli(['run', '--dir', dir, 'hello'], { env });
  assert.is(ran.code, 0, ran.stderr);
  assert.match(ran.stdout, /^assembled in build 1 on \S+$/m, 'a fresh daemon has a fresh build_dir cache');
  process.stderr.write(`[example-embedded] first build on a fresh embedded daemon (start + base image + build): ${first.ms} ms, run ${ran.ms} ms\n`);

  const status = await runCli(['daemon', 'status'], { env });
  const pidMatch = /^embedded dockerd: running \(pid (\d+)\)$/m.exec(status.stdout);
  assert.ok(pidMatch, status.stdout);
  const pid = Number(pidMatch![1]);
  assert.is(fs.readFileSync(path.join(stateDir, 'docker.pid'), 'utf8').trim(), String(pid));
  // The running daemon's BuildKit: dockerd 20.10's v0.8 has no Control.Info, so its engine version is shown.
  assert.match(status.stdout, /^buildkit: BuildKit (in dockerd \S+|v\d+\.\d+\S*)/m);
  assert.match(status.stdout, /^worker: moby \(linux\/amd64/m);
  assert.match(status.stdout, new RegExp(`^socket: unix://${sock}$`, 'm'));
  const bridge = /^bridge: (\S+)$/m.exec(status.stdout)?.[1];
  assert.ok(bridge && bridgeExists(bridge), status.stdout);

  const second = await runCli(['build', '--dir', dir, '--progress', 'plain'], { env });
  assert.is(second.code, 0, second.stderr);
  assert.not.match(second.stderr, /started a private dockerd/, 'the running daemon is reused');
  assert.not.match(second.stdout, /built in/, 'every stage from storage');
  assert.match(second.stdout, /stage imageSpec\s+[0-9a-f]{12}  from storage/);
  process.stderr.write(`[example-embedded] no-op rebuild on the embedded daemon: ${second.ms} ms\n`);
  assert.ok(alive(pid), 'same daemon still running');

  const stop = await runCli(['daemon', 'stop'], { env });
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`^embedded dockerd stopped \\(pid ${pid}\\)$`, 'm'));
  assert.not.ok(alive(pid), 'dockerd is gone');
  assert.not.ok(bridgeExists(bridge!), `bridge ${bridge} removed`);
  assert.not.ok(fs.existsSync(sock), 'socket removed');

  const after = await runCli(['daemon', 'status'], { env });
  assert.match(after.stdout, /^embedded dockerd: not running$/m);
  assert.not.match(after.stdout, /^bridge:/m);
  const again = await runCli(['daemon', 'stop'], { env });
  assert.is(again.code, 0);
  assert.match(again.stdout, /was not running/);
});

t('daemon start starts it once; stop --purge removes the state dir', async ({ env, stateDir }) => {
  const start = await runCli(['daemon', 'start'], { env });
  assert.is(start.code, 0, start.stderr);
  assert.match(start.stderr, /started a private dockerd/);
  const pid = Number(/^embedded dockerd: running \(pid (\d+)\)$/m.exec(start.stdout)?.[1]);
  assert.ok(pid > 0 && alive(pid), start.stdout);
  const again = await runCli(['daemon', 'start'], { env });
  assert.not.match(again.stderr, /started a private dockerd/);
  assert.match(again.stdout, new RegExp(`^embedded dockerd: running \\(pid ${pid}\\)$`, 'm'));
  const stop = await runCli(['daemon', 'stop', '--purge'], { env });
  assert.is(stop.code, 0, stop.stderr);
  assert.match(stop.stdout, new RegExp(`stopped \\(pid ${pid}\\)`));
  assert.not.ok(alive(pid));
  assert.not.ok(fs.existsSync(stateDir), 'state dir removed');
});

t.run();
