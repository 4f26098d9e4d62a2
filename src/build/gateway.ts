/**
 * The build spine's view of a BuildKit daemon: the few calls the driver needs, whoever runs it.
 *
 * Two implementations share every line of compile and driver code:
 *  - `stapelkit build`: a client-side gateway build over the Control API inside our own session
 *    (src/buildkit/…; one Control.Solve whose LLBBridge calls carry `buildkit-controlapi-buildid`);
 *  - the frontend image: BuildKit's LLBBridge over the container's stdin/stdout (src/frontend/).
 *
 * Refs are opaque handles valid until the gateway is closed. Nothing here knows about werf.
 */
import type { Definition } from '../llb';
import type { Platform } from '../llb/platform';

export interface GatewayCaps {
  /** LLB caps the daemon enables (`source.image`, `file.copy.includeexcludepatterns`, …). */
  llb: Set<string>;
  /** Frontend API caps (`solve.base`, `readdir`, `statfile`, `resolveimage`, …). */
  frontend: Set<string>;
  /** Platforms the workers can run, normalised (`linux/amd64`, `linux/arm64`, …). */
  platforms: Platform[];
  /** What kind of daemon this is, as far as the gateway can tell: 'dockerd' (BuildKit in dockerd), 'buildkitd' or 'unknown'. */
  daemon: 'dockerd' | 'buildkitd' | 'unknown';
  /** BuildKit version when known (`v0.8.3`, `v0.11.6`), else undefined. */
  version?: string;
}

/** OCI image config as the registry / exporter sees it (only the fields the spine reads are typed). */
export interface OciImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: {
    User?: string;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    ExposedPorts?: Record<string, object> | null;
    Volumes?: Record<string, object> | null;
    StopSignal?: string;
    Healthcheck?: { Test?: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; Retries?: number } | null;
    Shell?: string[] | null;
    OnBuild?: string[] | null;
    [k: string]: unknown;
  };
  rootfs?: { type: string; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
  [k: string]: unknown;
}

export interface ResolvedImage {
  /** The reference as resolved (`docker.io/library/alpine:3.19`). */
  ref: string;
  /** Manifest digest (`sha256:…`) pinned for this build. */
  digest: string;
  config: OciImageConfig;
}

export interface ResolveImageOptions {
  platform?: Platform;
  /** 'default' (registry unless local), 'pull' (always the registry), 'local' (the daemon's store only). */
  resolveMode?: 'default' | 'pull' | 'local';
}

/** File info as BuildKit's fsutil Stat (mode in Go's os.FileMode bits). */
export interface GatewayStat {
  path: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  modTime: bigint | number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
}

export interface SolveRefOptions {
  /** Evaluate the graph now (errors surface here), not lazily at first read/return. Default true. */
  evaluate?: boolean;
  /** Names shown in progress and errors; keyed by op digest. Optional. */
  label?: string;
}

/** A solved result: the handle for readFile/readDir/stat and for returning/exporting. */
export interface GatewayRef {
  readonly id: string;
}

/** What the gateway hands back as the build's result (frontend) or exports (client). */
export interface GatewayResult {
  /** One ref, or one per platform (`linux/amd64` → ref) for a multi-platform result. */
  refs: GatewayRef | Record<string, GatewayRef>;
  /** `containerimage.config` per ref (same keying as refs). */
  imageConfig?: OciImageConfig | Record<string, OciImageConfig>;
  /** Extra result metadata (`image.name`, …). */
  metadata?: Record<string, Buffer>;
}

export interface Gateway {
  caps(): Promise<GatewayCaps>;
  resolveImageConfig(ref: string, opts?: ResolveImageOptions): Promise<ResolvedImage>;
  /** Solve `definition` (with its source maps) to a ref; a failing step becomes a BuildError. */
  solve(definition: Definition, opts?: SolveRefOptions): Promise<GatewayRef>;
  readFile(ref: GatewayRef, path: string, range?: { offset: number; length: number }): Promise<Buffer>;
  readDir(ref: GatewayRef, path: string, includePattern?: string): Promise<GatewayStat[]>;
  stat(ref: GatewayRef, path: string): Promise<GatewayStat>;
  /**
   * The end of the build. Frontend: LLBBridge.Return. Client: finishes the gateway build (results
   * are exported by the StagesStorage / exporters, not here). Called once.
   */
  finish(result?: GatewayResult, error?: Error): Promise<void>;
}
