/**
 * The integration-test daemon: a private dockerd (its own state dir, socket, bridge, containerd)
 * with the busybox fixture images loaded. test/run.ts starts one for all integration files and
 * passes `env` to each; a file run alone starts its own through harness/index.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBusyboxImage } from '../../../src/daemon/base-images';
import { ensureBinfmt, removeStateDir, startDockerd, stopDockerdAt, userStateDir } from '../../../src/daemon/dockerd';

const PREFIX = 'skt-';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * Test daemons whose runner was killed leave their state dir (and maybe a bridge) behind: clean up
 * those whose dockerd is gone. Only dirs that look like ours (daemon.json inside) are touched.
 */
async function sweepStale(): Promise<void> {
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    if (!fs.existsSync(path.join(dir, 'daemon.json'))) continue;
    const pidFile = path.join(dir, 'docker.pid');
    const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : 0;
    if (pid && pidAlive(pid)) continue;
    if (!pid && Date.now() - fs.statSync(dir).mtimeMs < 10 * 60_000) continue; // maybe still starting
    await stopDockerdAt(dir).catch(() => undefined);
    removeStateDir(dir);
  }
}

export interface TestDaemon {
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Environment variables a test process reads (all set by startTestDaemon). */
export const ENV = {
  addr: 'STAPELKIT_TEST_ADDR', // docker://unix:///…/docker.sock
  dockerSocket: 'STAPELKIT_TEST_DOCKER_SOCKET', // /…/docker.sock
  busyboxAmd64: 'STAPELKIT_TEST_BUSYBOX_AMD64', // stapelkit/busybox:amd64
  busyboxArm64: 'STAPELKIT_TEST_BUSYBOX_ARM64', // stapelkit/busybox:arm64, or '' when arm64 is unavailable
  arm64Note: 'STAPELKIT_TEST_ARM64_NOTE', // why arm64 is unavailable
} as const;

export async function startTestDaemon(): Promise<TestDaemon> {
  await sweepStale().catch(() => undefined);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  const t0 = Date.now();
  const inst = await startDockerd({ stateDir });
  const log = (s: string) => process.stderr.write(`[test daemon] ${s}\n`);
  // Ctrl-C or a kill of the test process: stop the daemon first, then die of the same signal.
  const onSignal = (sig: NodeJS.Signals) => {
    void inst.stop().finally(() => {
      removeStateDir(stateDir);
      process.kill(process.pid, sig);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const forget = () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  log(`dockerd pid ${inst.pid} at ${inst.socketPath} (bridge ${inst.bridge}) answered after ${inst.startMs} ms`);
  try {
    const cacheDir = path.join(userStateDir(), 'cache');
    const t1 = Date.now();
    const amd64 = await ensureBusyboxImage(inst.docker, 'amd64', cacheDir);
    log(`${amd64} ready after ${Date.now() - t1} ms`);
    let arm64 = '';
    let note = '';
    const binfmt = ensureBinfmt();
    if (!binfmt.arm64) note = binfmt.note ?? 'qemu-aarch64 binfmt handler not enabled';
    else {
      const t2 = Date.now();
      try {
        arm64 = await ensureBusyboxImage(inst.docker, 'arm64', cacheDir);
        log(`${arm64} ready after ${Date.now() - t2} ms`);
      } catch (e) {
        note = `arm64 busybox image unavailable: ${(e as Error).message}`;
      }
    }
    if (note) log(note);
    log(`ready in ${Date.now() - t0} ms`);
    return {
      env: {
        [ENV.addr]: inst.addr,
        [ENV.dockerSocket]: inst.socketPath,
        [ENV.busyboxAmd64]: amd64,
        [ENV.busyboxArm64]: arm64,
        [ENV.arm64Note]: note,
      },
      stop: async () => {
        forget();
        await inst.stop();
        removeStateDir(stateDir);
      },
    };
  } catch (e) {
    forget();
    await inst.stop().catch(() => undefined);
    removeStateDir(stateDir);
    throw e;
  }
}
