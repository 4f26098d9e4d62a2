/**
 * The integration-test daemon. By default a private dockerd (its own state dir, socket, bridge,
 * containerd) with the busybox fixture images loaded. With `STAPELKIT_TEST_ADDR` set, the daemon
 * named there (unix://, tcp:// with STAPELKIT_TEST_TLS* files, docker://…) is used as it is. A
 * daemon without an image store (any buildkitd, or the private dockerd with
 * STAPELKIT_TEST_NO_IMAGE_STORE=1 standing in for one) gets its base images from a registry: the
 * harness starts Debian's docker-registry (or uses STAPELKIT_TEST_REGISTRY) and pushes the busybox
 * fixtures there with src/registry. test/run.ts prepares one daemon for all integration files and
 * passes `env` to each; a file run alone prepares its own through harness/index.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { busyboxTarball, ensureBusyboxImage, type BusyboxArch } from '../../../src/daemon/base-images';
import { DockerApi } from '../../../src/daemon/docker-api';
import { ensureBinfmt, removeStateDir, startDockerd, stopDockerdAt, userStateDir } from '../../../src/daemon/dockerd';
import { parseAddress } from '../../../src/buildkit/transport';
import { RegistryClient, pushDockerArchive } from '../../../src/registry';
import { testRegistry, type TestRegistry } from './registry';

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

/** Environment variables a test process reads (set by startTestDaemon, or by the user for an existing daemon). */
export const ENV = {
  addr: 'STAPELKIT_TEST_ADDR', // docker://unix:///…/docker.sock, unix:///…/buildkitd.sock, tcp://host:port
  tlsCa: 'STAPELKIT_TEST_TLSCACERT', // with a tcp:// addr: the --tlscacert, --tlscert, --tlskey, --tlsservername files/name
  tlsCert: 'STAPELKIT_TEST_TLSCERT',
  tlsKey: 'STAPELKIT_TEST_TLSKEY',
  tlsServerName: 'STAPELKIT_TEST_TLSSERVERNAME',
  noImageStore: 'STAPELKIT_TEST_NO_IMAGE_STORE', // '1': treat the dockerd as a daemon without an image store
  registry: 'STAPELKIT_TEST_REGISTRY', // host:port of an existing registry for the base images
  dockerSocket: 'STAPELKIT_TEST_DOCKER_SOCKET', // /…/docker.sock, '' when the daemon is no dockerd
  busyboxAmd64: 'STAPELKIT_TEST_BUSYBOX_AMD64', // stapelkit/busybox:amd64 or 127.0.0.1:N/stapelkit/busybox:amd64
  busyboxArm64: 'STAPELKIT_TEST_BUSYBOX_ARM64', // …:arm64, or '' when arm64 is unavailable
  arm64Note: 'STAPELKIT_TEST_ARM64_NOTE', // why arm64 is unavailable
  prepared: 'STAPELKIT_TEST_PREPARED', // '1' once the fixtures above are in place
} as const;

/** What the test daemon offers beyond BuildKit's Control API, known before any test runs. */
export interface DaemonTraits {
  /** A dockerd whose Docker API, image store and moby exporter the tests may use. */
  dockerd: boolean;
  /** Why not, for skip messages. */
  reason: string;
}

export function daemonTraits(env: NodeJS.ProcessEnv = process.env): DaemonTraits {
  const addr = env[ENV.addr];
  if (addr) {
    const a = parseAddress(addr);
    if (a.kind !== 'dockerd') return { dockerd: false, reason: `the test daemon ${addr} is a buildkitd` };
    if (a.net !== 'unix') return { dockerd: false, reason: `the test harness reaches the Docker API only over a unix socket, not ${addr}` };
  }
  if (env[ENV.noImageStore] === '1') return { dockerd: false, reason: `${ENV.noImageStore}=1: running as for a daemon without an image store` };
  return { dockerd: true, reason: '' };
}

const log = (s: string) => process.stderr.write(`[test daemon] ${s}\n`);

/** The busybox fixtures pushed to a registry: `<host>/stapelkit/busybox:<arch>`. */
async function pushFixtures(reg: TestRegistry, arches: BusyboxArch[], cacheDir: string): Promise<Map<BusyboxArch, string>> {
  const client = new RegistryClient(reg.host, { insecure: reg.url.startsWith('http:'), credentials: null });
  const out = new Map<BusyboxArch, string>();
  for (const arch of arches) {
    const t = Date.now();
    const pushed = await pushDockerArchive(client, 'stapelkit/busybox', arch, await busyboxTarball(arch, cacheDir));
    const ref = `${reg.host}/stapelkit/busybox:${arch}`;
    log(`${ref} (${pushed.digest.slice(0, 19)}…) pushed after ${Date.now() - t} ms`);
    out.set(arch, ref);
  }
  return out;
}

/** Base images for the daemon: loaded into dockerd's image store, or pushed to a registry. */
async function prepareFixtures(docker: DockerApi | undefined, traits: DaemonTraits): Promise<{ env: Record<string, string>; stop(): Promise<void> }> {
  const cacheDir = path.join(userStateDir(), 'cache');
  const binfmt = ensureBinfmt();
  let note = binfmt.arm64 ? '' : (binfmt.note ?? 'qemu-aarch64 binfmt handler not enabled');
  const images = new Map<BusyboxArch, string>();
  let reg: TestRegistry | undefined;
  if (traits.dockerd && docker) {
    const t1 = Date.now();
    images.set('amd64', await ensureBusyboxImage(docker, 'amd64', cacheDir));
    log(`${images.get('amd64')} ready after ${Date.now() - t1} ms`);
    if (binfmt.arm64) {
      const t2 = Date.now();
      try {
        images.set('arm64', await ensureBusyboxImage(docker, 'arm64', cacheDir));
        log(`${images.get('arm64')} ready after ${Date.now() - t2} ms`);
      } catch (e) {
        note = `arm64 busybox image unavailable: ${(e as Error).message}`;
      }
    }
  } else {
    log(`no image store (${traits.reason}): base images come from a registry`);
    reg = await testRegistry();
    log(`registry ${reg.host}${reg.pid ? ` (docker-registry pid ${reg.pid})` : ' (STAPELKIT_TEST_REGISTRY)'}`);
    try {
      for (const [arch, ref] of await pushFixtures(reg, ['amd64'], cacheDir)) images.set(arch, ref);
      if (binfmt.arm64) {
        try {
          for (const [arch, ref] of await pushFixtures(reg, ['arm64'], cacheDir)) images.set(arch, ref);
        } catch (e) {
          note = `arm64 busybox image unavailable: ${(e as Error).message}`;
        }
      }
    } catch (e) {
      await reg.stop().catch(() => undefined);
      throw e;
    }
  }
  if (note) log(note);
  return {
    env: {
      [ENV.busyboxAmd64]: images.get('amd64')!,
      [ENV.busyboxArm64]: images.get('arm64') ?? '',
      [ENV.arm64Note]: note,
      [ENV.prepared]: '1',
      ...(reg ? { [ENV.registry]: reg.host } : {}),
    },
    stop: async () => {
      await reg?.stop();
    },
  };
}

/** The daemon named by STAPELKIT_TEST_ADDR, with fixtures prepared for it; nothing is started but a registry. */
async function useExistingDaemon(addr: string): Promise<TestDaemon> {
  const traits = daemonTraits();
  const a = parseAddress(addr);
  const dockerSocket = a.kind === 'dockerd' && a.net === 'unix' ? a.path : '';
  log(`using the daemon at ${addr}`);
  const fixtures = await prepareFixtures(dockerSocket && traits.dockerd ? new DockerApi(dockerSocket) : undefined, traits);
  return {
    env: { [ENV.addr]: addr, [ENV.dockerSocket]: traits.dockerd ? dockerSocket : '', ...fixtures.env },
    stop: fixtures.stop,
  };
}

export async function startTestDaemon(): Promise<TestDaemon> {
  const existing = process.env[ENV.addr];
  if (existing) return useExistingDaemon(existing);
  await sweepStale().catch(() => undefined);
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  const t0 = Date.now();
  const inst = await startDockerd({ stateDir });
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
    const traits = daemonTraits();
    const fixtures = await prepareFixtures(inst.docker, traits);
    log(`ready in ${Date.now() - t0} ms`);
    return {
      env: {
        [ENV.addr]: inst.addr,
        [ENV.dockerSocket]: traits.dockerd ? inst.socketPath : '',
        ...fixtures.env,
      },
      stop: async () => {
        forget();
        await fixtures.stop().catch(() => undefined);
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
