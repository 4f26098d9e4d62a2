/**
 * A private container registry for tests: Debian's `docker-registry` (distribution v2, installed by
 * scripts/install-deps.sh) with its own config file — 127.0.0.1, a port the kernel picks, storage in
 * a temp dir, no auth unless a test asks for htpasswd or token auth — stopped by pid. Never the
 * system service, never /etc/docker/registry. `STAPELKIT_TEST_REGISTRY=host:port` names an
 * existing registry instead (testRegistry() then starts nothing).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { busyboxTarball } from '../../../src/daemon/base-images';
import { userStateDir } from '../../../src/daemon/dockerd';
import { pushDockerArchive } from '../../../src/registry/archive';
import { RegistryClient } from '../../../src/registry/client';
import { MediaType } from '../../../src/registry/media-types';

export const REGISTRY_ENV = 'STAPELKIT_TEST_REGISTRY';

const START_TIMEOUT_MS = 30_000;

export type RegistryAuthConfig =
  /** Basic auth against an htpasswd file (bcrypt entries only, as distribution requires). */
  | { htpasswd: { realm: string; path: string } }
  /** Bearer tokens from `realm`, JWTs signed by a cert in `rootcertbundle`. */
  | { token: { realm: string; service: string; issuer: string; rootcertbundle: string } };

export interface StartRegistryOptions {
  auth?: RegistryAuthConfig;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT` — what goes in front of an image name. */
  host: string;
  /** `http://127.0.0.1:PORT` */
  url: string;
  /** The registry's pid, or undefined for an existing registry named by STAPELKIT_TEST_REGISTRY. */
  pid?: number;
  /** Stops the process this harness started (a no-op for an existing registry) and removes its data. */
  stop(): Promise<void>;
}

/** The registry binary, or an error saying how to get it. */
export function registryBinary(): string {
  const r = spawnSync('sh', ['-c', 'command -v docker-registry'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  if (r.status !== 0 || !bin) {
    throw new Error("docker-registry not found on PATH (Debian package docker-registry; run 'make setup' / scripts/install-deps.sh)");
  }
  return bin;
}

/** Waits until GET /v2/ answers 200 (or 401 when auth is on). */
async function waitForV2(url: string, deadline: number, exited: () => string | undefined): Promise<void> {
  let last = '';
  while (Date.now() < deadline) {
    const why = exited();
    if (why) throw new Error(why);
    try {
      const res = await fetch(`${url}/v2/`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`registry at ${url} did not answer /v2/ in ${START_TIMEOUT_MS} ms (${last})`);
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const bin = registryBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-registry-'));
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'info', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: path.join(dir, 'data') },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    // Port 0: the kernel picks a free port and the registry logs "listening on 127.0.0.1:N".
    http: { addr: '127.0.0.1:0', secret: 'stapelkit-test', headers: { 'X-Content-Type-Options': ['nosniff'] } },
  };
  if (opts.auth) config.auth = opts.auth;
  const configPath = path.join(dir, 'config.yml');
  fs.writeFileSync(configPath, stringify(config));

  // REGISTRY_* variables override the config file: keep the caller's out.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('REGISTRY_')) env[k] = v;
  const logPath = path.join(dir, 'registry.log');
  const logFd = fs.openSync(logPath, 'a');
  const child = spawn(bin, ['serve', configPath], { env, stdio: ['ignore', logFd, logFd], detached: false });
  fs.closeSync(logFd);
  let exitNote: string | undefined;
  child.on('exit', (code, signal) => {
    exitNote = `docker-registry exited (${signal ?? `code ${code}`}): ${fs.readFileSync(logPath, 'utf8').trim().split('\n').slice(-3).join(' | ')}`;
  });
  child.on('error', (e) => {
    exitNote = `docker-registry failed to start: ${e.message}`;
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      process.kill(child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid && child.exitCode === null && process.kill(child.pid, 'SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let host = '';
    while (!host) {
      if (exitNote) throw new Error(exitNote);
      if (Date.now() > deadline) throw new Error(`docker-registry did not report its address in ${START_TIMEOUT_MS} ms`);
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(fs.readFileSync(logPath, 'utf8'));
      if (m) host = m[1];
      else await new Promise((r) => setTimeout(r, 50));
    }
    const url = `http://${host}`;
    await waitForV2(url, deadline, () => exitNote);
    return { host, url, pid: child.pid, stop };
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
}

/** The registry named by STAPELKIT_TEST_REGISTRY (checked to answer /v2/), or a fresh private one. */
export async function testRegistry(): Promise<TestRegistry> {
  const existing = process.env[REGISTRY_ENV];
  if (existing) {
    // `host:port` is plain http (a test registry); write `https://host` for one that speaks TLS.
    const host = existing.replace(/^https?:\/\//, '').replace(/\/+$/, '');
    const url = existing.startsWith('https://') ? `https://${host}` : `http://${host}`;
    await waitForV2(url, Date.now() + 5000, () => undefined);
    return { host, url, stop: async () => undefined };
  }
  return startRegistry();
}

/**
 * The busybox fixtures for amd64 and arm64 pushed to `reg` as one Docker manifest list (dockerd's
 * own store holds one architecture per tag): the multi-arch base multi-platform tests build from.
 * Returns its reference `<host>/<repo>:<tag>`.
 */
export async function pushMultiArchBusybox(reg: TestRegistry, repo = 'stapelkit-test/busybox', tag = 'multi'): Promise<string> {
  const client = new RegistryClient(reg.host);
  const cacheDir = path.join(userStateDir(), 'cache');
  const manifests = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const pushed = await pushDockerArchive(client, repo, arch, await busyboxTarball(arch, cacheDir));
    const head = await client.headManifest(repo, pushed.digest);
    manifests.push({ mediaType: MediaType.dockerManifest, digest: pushed.digest, size: head!.size, platform: { os: 'linux', architecture: arch } });
  }
  await client.putManifest(repo, tag, { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests } as never);
  return `${reg.host}/${repo}:${tag}`;
}
