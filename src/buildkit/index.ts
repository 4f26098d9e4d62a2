/**
 * Stapelkit's BuildKit layer: find or start a daemon, talk to its Control API, show progress.
 *
 *   const client = await connect(opts.addr);            // --addr / BUILDKIT_HOST / DOCKER_HOST / defaults / embedded
 *   const res = await client.solve({ definition, exporter: { type: 'moby', attrs: { name } }, session, imageConfig },
 *                                  createProgress('auto'));
 */
export {
  connect,
  BuildkitClient,
  MAX_MESSAGE_SIZE,
  definitionCaps,
  definitionSourceDigests,
  definitionSourceMap,
  encodeSolveRequest,
  type ConnectOptions,
  type SolveOptions,
  type SolveResult,
  type SessionLike,
  type AttachedSession,
  type ExporterSpec,
  type CacheEntry,
  type DefinitionLike,
  type WorkerInfo,
  type UsageRecord,
  type PruneOptions,
  type DaemonCaps,
} from './client';
export { BuildError, decodeGrpcError, parseExecFailure, buildErrorFrom, type DecodedGrpcError } from './build-error';
export {
  createProgress,
  teeProgress,
  toStatusUpdate,
  ProgressCollector,
  PlainPrinter,
  TtyPrinter,
  type ProgressMode,
  type ProgressSink,
  type StatusUpdate,
  type VertexInfo,
  type VertexRecord,
} from './progress';
export {
  parseAddress,
  parseDockerHost,
  resolveAddress,
  openTransport,
  startGrpcUpgradeBridge,
  DEFAULT_BUILDKITD_SOCKET,
  DEFAULT_DOCKER_SOCKET,
  type DaemonAddress,
  type ResolvedAddress,
  type TlsFiles,
  type Transport,
} from './transport';
export { startDockerd, stopDockerdAt, removeStateDir, ensureEmbeddedDockerd, embeddedStateDir, embeddedDockerdStatus, stopEmbeddedDockerd, type EmbeddedStatus, ensureBinfmt, userStateDir, type DockerdInstance, type DockerdOptions } from './dockerd';
export { ensureBusyboxImage, busyboxTag, type BusyboxArch } from './base-images';
export { DockerApi, type ImageInspect } from './docker-api';
export { addCacheOptions, addConnectionOptions, addDaemonOptions, cacheFromFlags, connectWithFlags, progressFromFlags, type CacheFlags, type DaemonFlags } from './cli-options';
export { parseCacheSpec, prepareSessionStores, putIndexEntry, indexDigest, type PreparedStores } from './cache-options';
export { formatDaemonVersion, toBuildkitVersion, type BuildkitVersion, type DaemonVersion } from './version';
