/**
 * What integration test files use: a connected client to the test daemon, the Docker API of that
 * daemon (when it is a dockerd), and the fixture image names. Under test/run.ts the daemon is
 * already prepared (STAPELKIT_TEST_PREPARED set); a file run alone
 * (`node --import tsx test/integration/x.test.ts`) prepares its own here and stops it in stop().
 *
 *   const env = await testEnv();          // in suite.before
 *   const client = await env.client();
 *   … busyboxRef('amd64') …               // 'stapelkit/busybox:amd64' or '127.0.0.1:N/stapelkit/busybox:amd64'
 *   await env.stop();                     // in suite.after
 *
 * Tests that need dockerd (Docker API, moby exporter, image store) register through
 * `dockerdOnly(t, why)`: on any other daemon they are skipped with the reason printed.
 */
import type { Callback, Test } from 'uvu';
import type { BuildkitClient } from '../../../src/buildkit/client';
import { connect } from '../../../src/daemon/connect';
import { DockerApi } from '../../../src/daemon/docker-api';
import type { TlsFiles } from '../../../src/buildkit/transport';
import type { OciImageConfig } from '../../../src/build/gateway';
import { parseImageReference } from '../../../src/llb/reference';
import { RegistryClient } from '../../../src/registry';
import { ENV, daemonTraits, startTestDaemon, type TestDaemon } from './daemon';

export { ENV, daemonTraits } from './daemon';
export { startRegistry, testRegistry, type TestRegistry } from './registry';

/**
 * The base image every test builds on, by the reference this daemon can pull: the tag in
 * dockerd's image store, or the registry reference the harness pushed it to. '' for arm64 when
 * arm64 cannot run here.
 */
export function busyboxRef(arch: 'amd64' | 'arm64'): string {
  if (arch === 'arm64') return process.env[ENV.busyboxArm64] ?? '';
  return process.env[ENV.busyboxAmd64] || 'stapelkit/busybox:amd64';
}

/** The TLS files of the test daemon's tcp:// address (STAPELKIT_TEST_TLS*), if any. */
export function testTls(env: NodeJS.ProcessEnv = process.env): TlsFiles | undefined {
  const tls: TlsFiles = {};
  if (env[ENV.tlsCa]) tls.ca = env[ENV.tlsCa];
  if (env[ENV.tlsCert]) tls.cert = env[ENV.tlsCert];
  if (env[ENV.tlsKey]) tls.key = env[ENV.tlsKey];
  if (env[ENV.tlsServerName]) tls.serverName = env[ENV.tlsServerName];
  return Object.keys(tls).length ? tls : undefined;
}

/**
 * `t` for tests that need dockerd itself: on a daemon without Docker API / image store / moby
 * exporter they are registered as skipped and the reason is printed once per test.
 */
export function dockerdOnly<T>(t: Test<T>, needs: string): (name: string, fn: Callback<T>) => void {
  const traits = daemonTraits();
  if (traits.dockerd) return (name, fn) => t(name, fn);
  return (name, fn) => {
    console.log(`skip: ${name} — needs dockerd (${needs}); ${traits.reason}`);
    t.skip(name, fn);
  };
}

export interface TestEnv {
  /** `docker://unix:///…/docker.sock` */
  addr: string;
  /** The test daemon's docker socket path ('' when the daemon is not used as a dockerd). */
  dockerSocket: string;
  /** Its Docker API: only for tests registered with dockerdOnly(). */
  docker: DockerApi;
  /** True when the daemon is a dockerd the tests may use as such (see daemonTraits()). */
  dockerd: boolean;
  images: {
    /** `stapelkit/busybox:amd64` */
    amd64: string;
    /** `stapelkit/busybox:arm64`, or undefined when arm64 cannot run here (see arm64Note). */
    arm64?: string;
    arm64Note?: string;
  };
  /** One client per TestEnv, connected on first use. */
  client(): Promise<BuildkitClient>;
  /** Closes the client and, if this process started the daemon, stops it. */
  stop(): Promise<void>;
}

export async function testEnv(): Promise<TestEnv> {
  let own: TestDaemon | undefined;
  if (process.env[ENV.prepared] !== '1') {
    own = await startTestDaemon();
    // Child processes (e.g. the CLI) started by the test see the same daemon.
    Object.assign(process.env, own.env);
  }
  const env = process.env;
  const dockerSocket = env[ENV.dockerSocket] ?? '';
  let clientP: Promise<BuildkitClient> | undefined;
  return {
    addr: env[ENV.addr]!,
    dockerSocket,
    docker: new DockerApi(dockerSocket),
    dockerd: daemonTraits().dockerd,
    images: {
      amd64: busyboxRef('amd64'),
      arm64: busyboxRef('arm64') || undefined,
      arm64Note: env[ENV.arm64Note] || undefined,
    },
    client: () => (clientP ??= connect(env[ENV.addr]!, { embedded: false, tls: testTls() })),
    stop: async () => {
      if (clientP) await (await clientP.catch(() => undefined))?.close();
      if (own) await own.stop();
    },
  };
}

/**
 * The image config of the base image, from where the daemon gets it: dockerd's image store, or
 * the registry the fixtures were pushed to (read with our registry client).
 */
export async function baseImageConfig(env: TestEnv, arch: 'amd64' | 'arm64' = 'amd64'): Promise<OciImageConfig> {
  const ref = busyboxRef(arch);
  if (env.dockerd) {
    const i = await env.docker.inspectImage(ref);
    if (!i) throw new Error(`fixture image ${ref} missing from the image store`);
    return { architecture: i.Architecture, os: i.Os, config: { ...i.Config } as OciImageConfig['config'] };
  }
  const r = parseImageReference(ref);
  const c = new RegistryClient(r.domain, { credentials: null });
  return (await c.getImageConfig(r.path, r.digest ?? r.tag!, { os: 'linux', architecture: arch })).config;
}

/** A unique image name for a test result (`stapelkit-test/<what>:<random>`). */
export function testImageName(what: string): string {
  return `stapelkit-test/${what}:${Math.random().toString(36).slice(2, 10)}`;
}

/** Digests of a marshalled Definition's ops of one kind, in `def` order (exec, source, file, …). */
export function opDigests(def: { ops: readonly { digest: string; kind: string }[] }, kind: string): string[] {
  return def.ops.filter((o) => o.kind === kind).map((o) => o.digest);
}
