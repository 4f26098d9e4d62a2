/**
 * Stapelkit's LLB layer: build BuildKit LLB graphs with an immutable State API modelled on Go's
 * client/llb, marshal them to byte-identical pb.Definition bytes (Go client/llb v0.11.6), and
 * refuse features the daemon's caps lack. Knows nothing about werf.
 */
export { State, scratch, type NetworkMode, type SecurityModeName, type ImageConfig } from './state';
export { image, local, git, http, type ImageOptions, type LocalOptions, type GitOptions, type HTTPOptions, type ResolveMode } from './source';
export {
  ExecState,
  DEFAULT_PATH_ENV,
  type RunOptions,
  type MountSpec,
  type BindMount,
  type CacheMount,
  type TmpfsMount,
  type SecretMount,
  type SSHMount,
  type CacheSharing,
  type ProxyEnv,
} from './exec';
export { FileAction, mkdir, mkfile, rm, copy, type Owner, type UserSpec, type Timestamp, type MkdirOptions, type MkfileOptions, type RmOptions, type CopyOptions } from './fileop';
export { merge, diff } from './mergediff';
export { SourceMap, SourceMapCollector, type SourceLocation, type SourceRange, type SourcePosition, type PbSource } from './sourcemap';
export { marshal, decodeOp, decodeDefinition, Definition, type MarshalOptions, type DefinitionOp, type DecodedDefinition, type DecodedOp } from './definition';
export { Cap, BUILDKIT_V08_LLB_CAPS, checkCaps, missingCaps, capFeature, type CheckCapsOptions } from './caps';
export { parsePlatform, formatPlatform, defaultPlatform, normalizePlatform, type Platform, type PlatformLike } from './platform';
export { normalizeImageRef, parseImageReference, formatImageReference, type ImageReference } from './reference';
export { encodeOp, digestOf } from './encoder';
export { EnvList } from './env';
export type { OpOptions, OpMetadata, ProgressGroup } from './vertex';
export type { PbOp, PbPlatform, PbOpMetadata } from './pb';
