/**
 * Plain TypeScript shapes of the `pb` messages (proto/ops.proto) that the op encoder writes.
 * Property names equal the proto field names (as protobufjs with keepCase decodes them).
 *
 * Presence rules follow Go's generated structs: a sub-message property that is an object (even `{}`)
 * is written; `undefined` is not. Scalars equal to their proto3 zero value are never written, except
 * members of a oneof (`UserOpt.byID`), which are written whenever they are present.
 */

export enum NetMode {
  UNSET = 0,
  HOST = 1,
  NONE = 2,
}

export enum SecurityMode {
  SANDBOX = 0,
  INSECURE = 1,
}

export enum MountType {
  BIND = 0,
  SECRET = 1,
  SSH = 2,
  CACHE = 3,
  TMPFS = 4,
}

export enum CacheSharingOpt {
  SHARED = 0,
  PRIVATE = 1,
  LOCKED = 2,
}

/** Index constants of solver/pb/const.go. */
export const EMPTY_INPUT = -1;
export const SKIP_OUTPUT = -1;

export interface PbPlatform {
  Architecture?: string;
  OS?: string;
  Variant?: string;
  OSVersion?: string;
  OSFeatures?: string[];
}

export interface PbInput {
  digest: string;
  index: number;
}

export interface PbHostIP {
  Host: string;
  IP: string;
}

export interface PbProxyEnv {
  http_proxy?: string;
  https_proxy?: string;
  ftp_proxy?: string;
  no_proxy?: string;
  all_proxy?: string;
}

export interface PbMeta {
  args: string[];
  env: string[];
  cwd?: string;
  user?: string;
  proxy_env?: PbProxyEnv;
  extraHosts?: PbHostIP[];
  hostname?: string;
  removeMountStubsRecursive?: boolean;
}

/** SecretOpt and SSHOpt: the same fields under the same numbers. */
export interface PbSocketOpt {
  ID?: string;
  uid?: number;
  gid?: number;
  mode?: number;
  optional?: boolean;
}

export interface PbMount {
  input?: number;
  selector?: string;
  dest?: string;
  output?: number;
  readonly?: boolean;
  mountType?: MountType;
  TmpfsOpt?: { size?: number };
  cacheOpt?: { ID?: string; sharing?: CacheSharingOpt };
  secretOpt?: PbSocketOpt;
  SSHOpt?: PbSocketOpt;
}

export interface PbExecOp {
  meta: PbMeta;
  mounts: PbMount[];
  network?: NetMode;
  security?: SecurityMode;
}

export interface PbSourceOp {
  identifier: string;
  attrs: Record<string, string>;
}

export interface PbNamedUserOpt {
  name: string;
  input: number;
}

/** Exactly one of byName / byID (a oneof). */
export interface PbUserOpt {
  byName?: PbNamedUserOpt;
  byID?: number;
}

export interface PbChownOpt {
  user?: PbUserOpt;
  group?: PbUserOpt;
}

export interface PbFileActionCopy {
  src: string;
  dest: string;
  owner?: PbChownOpt;
  mode?: number;
  followSymlink?: boolean;
  dirCopyContents?: boolean;
  attemptUnpackDockerCompatibility?: boolean;
  createDestPath?: boolean;
  allowWildcard?: boolean;
  allowEmptyWildcard?: boolean;
  /** UnixNano; bigint so that nanosecond timestamps stay exact. */
  timestamp?: bigint | number;
  include_patterns?: string[];
  exclude_patterns?: string[];
  alwaysReplaceExistingDestPaths?: boolean;
}

export interface PbFileActionMkFile {
  path: string;
  mode?: number;
  data?: Uint8Array;
  owner?: PbChownOpt;
  timestamp?: bigint | number;
}

export interface PbFileActionMkDir {
  path: string;
  mode?: number;
  makeParents?: boolean;
  owner?: PbChownOpt;
  timestamp?: bigint | number;
}

export interface PbFileActionRm {
  path: string;
  allowNotFound?: boolean;
  allowWildcard?: boolean;
}

/** Exactly one of copy / mkfile / mkdir / rm (a oneof). */
export interface PbFileAction {
  input?: number;
  secondaryInput?: number;
  output?: number;
  copy?: PbFileActionCopy;
  mkfile?: PbFileActionMkFile;
  mkdir?: PbFileActionMkDir;
  rm?: PbFileActionRm;
}

export interface PbFileOp {
  actions: PbFileAction[];
}

export interface PbMergeOp {
  inputs: { input?: number }[];
}

export interface PbDiffOp {
  lower?: { input?: number };
  upper?: { input?: number };
}

/** Exactly one of exec / source / file / merge / diff, or none (the terminal op). */
export interface PbOp {
  inputs?: PbInput[];
  exec?: PbExecOp;
  source?: PbSourceOp;
  file?: PbFileOp;
  merge?: PbMergeOp;
  diff?: PbDiffOp;
  platform?: PbPlatform;
  constraints?: { filter?: string[] };
}

export interface PbProgressGroup {
  id?: string;
  name?: string;
  weak?: boolean;
}

export interface PbOpMetadata {
  ignore_cache?: boolean;
  description?: Record<string, string>;
  export_cache?: { Value?: boolean };
  caps?: Record<string, boolean>;
  progress_group?: PbProgressGroup;
}
