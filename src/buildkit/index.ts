/**
 * Stapelkit's BuildKit layer: the Control API, the session tunnel, the client-side gateway, progress.
 * Finding or starting a daemon is src/daemon (connect(), dockerd, the Docker API, base images).
 *
 *   const client = await connect(opts.addr);            // src/daemon: --addr / BUILDKIT_HOST / DOCKER_HOST / defaults / embedded
 *   const res = await client.solve({ definition, exporter: { type: 'moby', attrs: { name } }, session, imageConfig },
 *                                  createProgress('auto'));
 */
export {
  connectTo,
  BuildkitClient,
  MAX_MESSAGE_SIZE,
  definitionCaps,
  definitionSourceDigests,
  definitionSourceMap,
  encodeSolveRequest,
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
  openTransport,
  startGrpcUpgradeBridge,
  DEFAULT_BUILDKITD_SOCKET,
  DEFAULT_DOCKER_SOCKET,
  type DaemonAddress,
  type ResolvedAddress,
  type TlsFiles,
  type Transport,
} from './transport';
export { openGateway, ControlGateway, definitionOpDigests, type OpenGatewayOptions } from './gateway-client';
export { exportImage, type ExportRequest, type ExportResult } from './export';
export { formatDaemonVersion, toBuildkitVersion, type BuildkitVersion, type DaemonVersion } from './version';
export { parseCacheSpec, prepareSessionStores, putIndexEntry, indexDigest, type PreparedStores } from './cache-options';
