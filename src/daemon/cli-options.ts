/**
 * The daemon flags every command that talks to BuildKit shares, so `build`, `stages`, … spell them
 * the same way (names as buildctl's): --addr, --tlscacert, --tlscert, --tlskey, --tlsservername,
 * --progress; and the cache flags in buildx syntax: --cache-from, --cache-to.
 */
import { Option, type Command } from 'commander';
import { StapelkitError } from '../errors';
import type { BuildkitClient } from '../buildkit/client';
import { createProgress, type ProgressMode, type ProgressSink } from '../buildkit/progress';
import { formatDaemonVersion } from '../buildkit/version';
import { parseCacheSpec, type CacheEntry } from '../buildkit/cache-options';

export interface DaemonFlags {
  addr?: string;
  tlscacert?: string;
  tlscert?: string;
  tlskey?: string;
  tlsservername?: string;
  progress?: string;
  /** The global --debug: after connecting, say which daemon and BuildKit version answered. */
  debug?: boolean;
}

const PROGRESS_MODES: ProgressMode[] = ['auto', 'plain', 'tty', 'quiet'];

/** --addr and the TLS flags (no --progress): for commands that only talk to the daemon. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--addr <address>', 'BuildKit daemon: unix:///path, tcp://host:port, docker://[unix:///path] (default: BUILDKIT_HOST, DOCKER_HOST, the usual sockets, else a private dockerd)'))
    .addOption(new Option('--tlscacert <file>', 'CA certificate for tcp:// daemons'))
    .addOption(new Option('--tlscert <file>', 'client certificate for tcp:// daemons'))
    .addOption(new Option('--tlskey <file>', 'client key for tcp:// daemons'))
    .addOption(new Option('--tlsservername <name>', 'server name to verify instead of the address host'));
}

export function addDaemonOptions(cmd: Command): Command {
  return addConnectionOptions(cmd).addOption(new Option('--progress <mode>', 'progress output').choices(PROGRESS_MODES).default('auto'));
}

export interface CacheFlags {
  cacheFrom?: string[];
  cacheTo?: string[];
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** `--cache-from` / `--cache-to` (repeatable, buildx syntax: `type=local,src=DIR`, `type=registry,ref=R`, `type=inline`, or a bare reference). */
export function addCacheOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--cache-from <spec>', 'import build cache: type=registry,ref=REF | type=local,src=DIR[,tag=T] | REF (repeatable)').argParser(collect))
    .addOption(new Option('--cache-to <spec>', 'export build cache: type=inline | type=registry,ref=REF[,mode=max] | type=local,dest=DIR[,mode=max] (repeatable)').argParser(collect));
}

/** The solve's cacheImports/cacheExports from the flags (each value checked, errors name the flag). */
export function cacheFromFlags(flags: CacheFlags): { cacheImports: CacheEntry[]; cacheExports: CacheEntry[] } {
  return {
    cacheImports: (flags.cacheFrom ?? []).map((v) => parseCacheSpec('--cache-from', v)),
    cacheExports: (flags.cacheTo ?? []).map((v) => parseCacheSpec('--cache-to', v)),
  };
}

let debugAll = false;
/** The CLI's --debug/--log-debug: every connectWithFlags then names the daemon and its BuildKit version. */
export function setDebugDaemon(on: boolean): void {
  debugAll = on;
}

/** Connects as the flags say (see resolveAddress for the order when --addr is absent). */
/** `embedded: false`: a daemon that is there already, else NO_DAEMON (no private dockerd is started). */
export async function connectWithFlags(flags: DaemonFlags, opts: { env?: NodeJS.ProcessEnv; say?: (line: string) => void; embedded?: boolean } = {}): Promise<BuildkitClient> {
  const tls = flags.tlscacert || flags.tlscert || flags.tlskey ? { ca: flags.tlscacert, cert: flags.tlscert, key: flags.tlskey, serverName: flags.tlsservername } : undefined;
  // Loaded on first connect: commands that never dial a daemon (compile, offline) skip grpc-js.
  const { connect } = require('./connect') as typeof import('./connect');
  const client = await connect(flags.addr, { tls, env: opts.env, say: opts.say, embedded: opts.embedded });
  if (flags.debug ?? debugAll) {
    const say = opts.say ?? ((l: string) => process.stderr.write(`${l}\n`));
    try {
      say(`debug: daemon ${client.address.text} (from ${client.source}): ${formatDaemonVersion(await client.daemonVersion())}`);
    } catch (e) {
      say(`debug: daemon ${client.address.text} (from ${client.source}): version unknown: ${(e as Error).message}`);
    }
  }
  return client;
}

export function progressFromFlags(flags: DaemonFlags, out: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr): ProgressSink {
  const mode = (flags.progress ?? 'auto') as ProgressMode;
  if (!PROGRESS_MODES.includes(mode)) throw new StapelkitError('BAD_FLAG', `--progress must be one of ${PROGRESS_MODES.join(', ')}, got "${flags.progress}"`);
  return createProgress(mode, out as never);
}
