/**
 * What integration test files use: a connected client to the test daemon, the Docker API of that
 * daemon, and the fixture image names. Under test/run.ts the daemon is already running
 * (STAPELKIT_TEST_ADDR set); a file run alone (`node --import tsx test/integration/x.test.ts`)
 * starts its own here and stops it in stop().
 *
 *   const env = await testEnv();          // in suite.before
 *   const client = await env.client();
 *   … env.images.amd64 …                  // 'stapelkit/busybox:amd64'
 *   await env.stop();                     // in suite.after
 */
import type { BuildkitClient } from '../../../src/buildkit/client';
import { connect } from '../../../src/daemon/connect';
import { DockerApi } from '../../../src/daemon/docker-api';
import { ENV, startTestDaemon, type TestDaemon } from './daemon';

export { ENV } from './daemon';

export interface TestEnv {
  /** `docker://unix:///…/docker.sock` */
  addr: string;
  /** The test daemon's docker socket path. */
  dockerSocket: string;
  docker: DockerApi;
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
  if (!process.env[ENV.addr]) {
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
    images: {
      amd64: env[ENV.busyboxAmd64] || 'stapelkit/busybox:amd64',
      arm64: env[ENV.busyboxArm64] || undefined,
      arm64Note: env[ENV.arm64Note] || undefined,
    },
    client: () => (clientP ??= connect(env[ENV.addr]!, { embedded: false })),
    stop: async () => {
      if (clientP) await (await clientP.catch(() => undefined))?.close();
      if (own) await own.stop();
    },
  };
}

/** A unique image name for a test result (`stapelkit-test/<what>:<random>`). */
export function testImageName(what: string): string {
  return `stapelkit-test/${what}:${Math.random().toString(36).slice(2, 10)}`;
}

/** Digests of a marshalled Definition's ops of one kind, in `def` order (exec, source, file, …). */
export function opDigests(def: { ops: readonly { digest: string; kind: string }[] }, kind: string): string[] {
  return def.ops.filter((o) => o.kind === kind).map((o) => o.digest);
}
