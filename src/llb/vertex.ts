/**
 * The graph core: a Vertex is one op (source, exec, file, merge, diff); an Output is one of its
 * results. Vertices are immutable; their bytes depend on the marshal context (default platform,
 * daemon caps, local unique id), so they are marshalled per `marshal()` call and memoised there.
 *
 * Per-op options (custom name, progress group, ignore cache, export cache, platform, worker
 * constraints) become `OpConstraints`, merged into the op bytes (platform, constraints) and its
 * OpMetadata exactly like Go's `MarshalConstraints`.
 */
import { StapelkitError } from '../errors';
import { digestOf, encodeOp } from './encoder';
import type { PbInput, PbOp } from './pb';
import { parsePlatform, platformToPb, type Platform, type PlatformLike } from './platform';
import type { SourceLocation } from './sourcemap';

export type OpKind = 'source' | 'exec' | 'file' | 'merge' | 'diff';

export interface Output {
  readonly vertex: Vertex;
  /** Output index of the vertex (Input.index on consumers). */
  readonly index: number;
}

export interface ProgressGroup {
  id: string;
  name?: string;
  weak?: boolean;
}

/** Options every op constructor accepts. */
export interface OpOptions {
  /** Shown as the step name in progress (`description["llb.customname"]`). */
  customName?: string;
  /** Free-form description entries (not hashed). */
  description?: Record<string, string>;
  progressGroup?: ProgressGroup;
  /** Never take this op from cache. */
  ignoreCache?: boolean;
  /** Force (true) or prevent (false) exporting this op's result to the cache. */
  exportCache?: boolean;
  /** Platform of this op (overrides the state's and the marshal default). */
  platform?: PlatformLike;
  /** containerd-style worker filters. */
  workerConstraints?: string[];
  /** Where in a source file this op comes from (`sm.location(ranges)`); goes to Definition.Source, not the op bytes. */
  location?: SourceLocation | readonly SourceLocation[];
}

/** Our view of pb.OpMetadata (caps as a sorted list). */
export interface OpMetadata {
  ignoreCache?: boolean;
  description?: Record<string, string>;
  exportCache?: boolean;
  progressGroup?: ProgressGroup;
  caps: string[];
}

export interface OpConstraints {
  platform?: Platform;
  workerConstraints: string[];
  metadata: Omit<OpMetadata, 'caps'>;
  /** Source locations (not hashed). */
  sourceLocations?: readonly SourceLocation[];
}

/** LLB_INVALID: the caller asked for a graph that cannot be built. */
export function invalid(msg: string): StapelkitError {
  return new StapelkitError('LLB_INVALID', msg);
}

export function opConstraints(opts: OpOptions = {}): OpConstraints {
  const description: Record<string, string> = { ...(opts.description ?? {}) };
  if (opts.customName !== undefined) description['llb.customname'] = opts.customName;
  const metadata: Omit<OpMetadata, 'caps'> = {};
  if (opts.ignoreCache) metadata.ignoreCache = true;
  if (Object.keys(description).length > 0) metadata.description = description;
  if (opts.exportCache !== undefined) metadata.exportCache = opts.exportCache;
  if (opts.progressGroup) {
    if (!opts.progressGroup.id) throw invalid('progress group needs an id');
    metadata.progressGroup = { ...opts.progressGroup };
  }
  const out: OpConstraints = {
    platform: opts.platform !== undefined ? parsePlatform(opts.platform) : undefined,
    workerConstraints: [...(opts.workerConstraints ?? [])],
    metadata,
  };
  if (opts.location) out.sourceLocations = Array.isArray(opts.location) ? [...(opts.location as SourceLocation[])] : [opts.location as SourceLocation];
  return out;
}

export interface MarshalContext {
  /** Platform of ops that name none themselves (Go: the Marshal constraints' platform). */
  readonly platform: Platform;
  /** Daemon caps when known (Go's `llb.WithCaps`); changes how exec PATH defaults are written. */
  readonly caps?: ReadonlySet<string>;
  /** `local.unique` for local sources without a session id or their own unique id. */
  readonly localUniqueId: string;
  /** Marshal (memoised) the output's vertex and return the edge to it. */
  input(output: Output): PbInput;
}

export interface MarshaledVertex {
  digest: string;
  bytes: Buffer;
  kind: OpKind;
  /** Human step name: custom name, else BuildKit's default vertex name. */
  name: string;
  metadata: OpMetadata;
  /** Source locations of the op (collected into Definition.Source). */
  sourceLocations?: readonly SourceLocation[];
}

export interface Vertex {
  readonly kind: OpKind;
  /** Platform the op was explicitly given (states built on it inherit it). */
  readonly explicitPlatform?: Platform;
  /** Outputs this vertex consumes, in the order Go's Inputs() lists them. */
  inputs(): Output[];
  marshal(ctx: MarshalContext): MarshaledVertex;
}

/**
 * Go's MarshalConstraints + proto.Marshal: sets platform (op's own, else `fallbackPlatform`, else the
 * marshal default) and an always-present `constraints`, encodes, hashes, and builds the metadata.
 */
export function finishOp(args: {
  ctx: MarshalContext;
  constraints: OpConstraints;
  kind: OpKind;
  op: PbOp;
  caps: Iterable<string>;
  defaultName: string;
  /** Platform of the state the op was built on (exec/file); undefined for sources. */
  statePlatform?: Platform;
  /** Sources other than images carry no platform in their bytes. */
  withPlatform: boolean;
}): MarshaledVertex {
  const { ctx, constraints: c } = args;
  const op: PbOp = { ...args.op };
  if (args.withPlatform) op.platform = platformToPb(c.platform ?? args.statePlatform ?? ctx.platform);
  op.constraints = c.workerConstraints.length ? { filter: [...c.workerConstraints] } : {};
  const bytes = encodeOp(op);
  const metadata: OpMetadata = { ...c.metadata, caps: [...new Set(args.caps)].sort() };
  return {
    digest: digestOf(bytes),
    bytes,
    kind: args.kind,
    name: c.metadata.description?.['llb.customname'] ?? args.defaultName,
    metadata,
    ...(c.sourceLocations?.length ? { sourceLocations: c.sourceLocations } : {}),
  };
}

/** Go's getIndex/dedup of `Op.inputs`: equal (digest, index) pairs share one input. */
export class InputList {
  readonly inputs: PbInput[] = [];
  add(inp: PbInput): number {
    const i = this.inputs.findIndex((x) => x.digest === inp.digest && x.index === inp.index);
    if (i >= 0) return i;
    this.inputs.push(inp);
    return this.inputs.length - 1;
  }
}
