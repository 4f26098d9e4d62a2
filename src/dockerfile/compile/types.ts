/** Shared types of the Dockerfile compiler: options, results, per-stage dispatch state. */
import type { OciImageConfig } from '../../build/gateway';
import type { Platform, State } from '../../llb';
import type { Stage } from '../instructions';
import type { Range } from '../parser/parser';
import type { ShellLex } from '../parser/shell';

export interface ResolvedBase {
  /** Manifest digest to pin (`sha256:…`); when absent the reference is used as written. */
  digest?: string;
  config: OciImageConfig;
  /**
   * The image's filesystem as a graph to build on instead of an image source (werf: a dependency
   * image built in the same run); `digest` is ignored then.
   */
  state?: State;
}

/** Resolve a base image's config for a platform (the lead wires Gateway.resolveImageConfig). */
export type ImageResolver = (ref: string, platform: Platform) => Promise<ResolvedBase>;

export interface CompileOptions {
  /** Dockerfile name for messages and locations (default `Dockerfile`). */
  file?: string;
  /** Target stage name (default: the last stage). */
  target?: string;
  buildArgs?: Record<string, string>;
  /** Platform of the result (default: the build platform). */
  platform?: Platform | string;
  /** Platform the build runs on (default: linux/<host arch>). */
  buildPlatform?: Platform | string;
  /**
   * The build context: a State, or a function making one from the `.dockerignore` exclude patterns
   * (so the context source carries them, as BuildKit's does).
   */
  context: State | ((opts: { excludePatterns: string[] }) => State);
  /** Contents of the context's `.dockerignore` (Docker's pattern rules). */
  dockerignore?: string;
  /** Name of the .dockerignore for messages (default `.dockerignore`). */
  dockerignoreFile?: string;
  resolveImage: ImageResolver;
  /** The daemon's LLB caps: features they lack are lowered (COPY --link) or refused. Default: all. */
  caps?: ReadonlySet<string>;
  /** Extra hosts for RUN (`host` → IP). */
  extraHosts?: { host: string; ip: string }[];
  /** Network mode forced on every RUN without --network (`none`, `host`). */
  network?: 'sandbox' | 'host' | 'none';
  /** Labels added to the final image config. */
  labels?: Record<string, string>;
  /** Prefix RUN/COPY names with the platform (default: only when it differs from the build platform). */
  prefixPlatform?: boolean;
  /** Namespace for RUN cache mount ids (BUILDKIT_CACHE_MOUNT_NS). */
  cacheMountNamespace?: string;
  /**
   * Secret ids whose `--mount=type=secret` is required whatever the Dockerfile says (werf.yaml
   * `secrets:`: werf refuses a build that cannot serve them, so a missing one must not read as empty).
   */
  requiredSecrets?: ReadonlySet<string>;
  /** The same for `--mount=type=ssh` ids (`default` when the mount names none): werf.yaml `ssh:`. */
  requiredSsh?: ReadonlySet<string>;
}

export interface StepInfo {
  /** The op's custom name, `[stage-0 2/5] RUN echo hi`. */
  name: string;
  stage: string;
  /** Lines of the instruction in the Dockerfile. */
  range: Range;
  kind: string;
  /** The Dockerfile (as named in CompileOptions.file). */
  file: string;
  /** The instruction as written (continuations joined). */
  text: string;
}

export interface CompileResult {
  state: State;
  imageConfig: OciImageConfig;
  /** Platform of the result. */
  platform: Platform;
  /** One per op-producing instruction, in dispatch order. */
  steps: StepInfo[];
  /** Stages built (reachable from the target), by name, in dispatch order. */
  stages: string[];
  /** Build args given but not used by any reachable stage. */
  unusedBuildArgs: string[];
  warnings: string[];
}

export interface DispatchState {
  stage: Stage;
  /** `AS` name or `stage-<i>`. */
  name: string;
  state: State;
  image: OciImageConfig & { config: NonNullable<OciImageConfig['config']> };
  platform: Platform;
  /** ARGs declared in the stage (in order), with their values. */
  buildArgs: { key: string; value?: string }[];
  cmdSet: boolean;
  cmdIndex: number;
  cmdTotal: number;
  deps: Set<DispatchState>;
  base?: DispatchState;
  /** For image-based stages: the reference after ARG expansion. */
  baseRef?: string;
  scratch: boolean;
  dispatched: boolean;
  /** Synthetic stage for `COPY --from=<image>` / `--mount from=<image>`. */
  imageOnly?: boolean;
}

export interface DispatchContext {
  opts: CompileOptions;
  /** Definition.Source for every op an instruction makes. */
  sourceMap: import('../../llb').SourceMap;
  file: string;
  shlex: ShellLex;
  escape: string;
  context: State;
  targetPlatform: Platform;
  buildPlatform: Platform;
  caps?: ReadonlySet<string>;
  /** Global ARGs + platform args, for FROM / --from expansion and stage ARG defaults. */
  metaArgs: { key: string; value?: string }[];
  steps: StepInfo[];
  usedBuildArgs: Set<string>;
  warnings: string[];
  /** Stage lookup for --from / mount from. */
  stageFor(from: string, at: import('../parser/parser').Node, pos?: import('../parser/parser').Pos): DispatchState;
}
