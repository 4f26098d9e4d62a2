/**
 * Finding the daemon to talk to: --addr, BUILDKIT_HOST, DOCKER_HOST, the usual sockets, else
 * Stapelkit's own private dockerd (started or reused). Then `connect()` opens the Control client.
 */
import * as fs from 'node:fs';
import { StapelkitError } from '../errors';
import { connectTo, type BuildkitClient } from '../buildkit/client';
import { DEFAULT_BUILDKITD_SOCKET, DEFAULT_DOCKER_SOCKET, namedAddress, parseAddress, socketAnswers, type ResolvedAddress, type TlsFiles } from '../buildkit/transport';
import { DockerApi } from './docker-api';
import { ensureEmbeddedDockerd } from './dockerd';

/**
 * Picks the daemon address: `addr` (the --addr flag), then BUILDKIT_HOST, then DOCKER_HOST, then a
 * daemon answering at /run/buildkit/buildkitd.sock or /var/run/docker.sock, and finally — unless
 * `embedded` is false — Stapelkit's own private dockerd (started or reused, see dockerd.ts).
 */
export async function resolveAddress(
  opts: {
    addr?: string;
    tls?: TlsFiles;
    env?: NodeJS.ProcessEnv;
    embedded?: boolean;
    say?: (line: string) => void;
    /** Override the default socket locations (tests). */
    defaultSockets?: { buildkitd: string; docker: string };
  } = {},
): Promise<ResolvedAddress> {
  const env = opts.env ?? process.env;
  const bkSock = opts.defaultSockets?.buildkitd ?? DEFAULT_BUILDKITD_SOCKET;
  const dockerSock = opts.defaultSockets?.docker ?? DEFAULT_DOCKER_SOCKET;
  const named = namedAddress(opts.addr, env, opts.tls);
  if (named) return named;
  if (await socketAnswers(bkSock)) return { address: parseAddress(`unix://${bkSock}`), source: 'default' };
  if (fs.existsSync(dockerSock) && (await new DockerApi(dockerSock).ping(2000))) {
    return { address: parseAddress(`docker://unix://${dockerSock}`), source: 'default' };
  }
  if (opts.embedded === false) {
    throw new StapelkitError('NO_DAEMON', `no BuildKit daemon found (looked at --addr, BUILDKIT_HOST, DOCKER_HOST, ${bkSock}, ${dockerSock})`);
  }
  const inst = await ensureEmbeddedDockerd(opts.say, env);
  return { address: parseAddress(inst.addr), source: 'embedded' };
}

export interface ConnectOptions {
  tls?: TlsFiles;
  env?: NodeJS.ProcessEnv;
  /** Start/reuse Stapelkit's private dockerd when no daemon is found (default true). */
  embedded?: boolean;
  /** Where the "started a private dockerd" line goes (default stderr). */
  say?: (line: string) => void;
}

/**
 * Connects to the daemon at `addr` (or the one resolveAddress() finds: BUILDKIT_HOST, DOCKER_HOST,
 * the default sockets, else Stapelkit's own dockerd) and checks that it answers.
 */
export async function connect(addr?: string, opts: ConnectOptions = {}): Promise<BuildkitClient> {
  const resolved = await resolveAddress({ addr, tls: opts.tls, env: opts.env, embedded: opts.embedded, say: opts.say });
  return connectTo(resolved.address, resolved.source);
}
