/**
 * Marshalling a State into a pb.Definition, as Go's `State.Marshal` does: depth-first post-order
 * walk from the result (inputs before consumers), ops deduplicated by digest, then a terminal op
 * `{inputs:[result]}` last. Metadata is keyed by op digest and lists the caps each op needs; the
 * terminal op's metadata carries `constraints`, `platform` and the `meta.*` caps any op uses.
 */
import { messageType, decodeMessage } from '../proto';
import { randomBytes } from 'node:crypto';
import { Cap, checkCaps } from './caps';
import { digestOf, encodeDefinitionSorted, encodeOp, sortKeysBytewise, type ProtoWriter } from './encoder';
import type { PbInput, PbOpMetadata } from './pb';
import { defaultPlatform, parsePlatform, type PlatformLike } from './platform';
import type { State } from './state';
import type { MarshalContext, MarshaledVertex, OpKind, OpMetadata, Output, Vertex } from './vertex';
import { SourceMapCollector, type PbSource } from './sourcemap';

export interface MarshalOptions {
  /** Platform of ops that name none (default: linux/<host arch>, like Go's platforms.DefaultSpec). */
  platform?: PlatformLike;
  /**
   * The daemon's LLB caps. When given, exec ops rely on the daemon's default PATH only if it has
   * `exec.meta.setsdefaultpath` (else PATH is written), and the Definition is checked with
   * checkCaps: a missing cap throws StapelkitError LLB_CAP_MISSING before anything is solved.
   */
  caps?: Iterable<string>;
  /** Daemon name for cap errors, e.g. `BuildKit v0.8`. */
  daemon?: string;
  /** `local.unique` for local sources without a session or own id (default: random per marshal). */
  localUniqueId?: string;
}

export interface DefinitionOp {
  digest: string;
  bytes: Buffer;
  kind: OpKind | 'terminal';
  /** Step name: custom name or BuildKit's default (identifier, argv, `mkdir /x`…). */
  name: string;
  caps: string[];
}

/** A marshalled LLB graph, ready for SolveRequest.Definition or `buildctl build` stdin. */
export class Definition {
  constructor(
    /** Ops in `def` order; the terminal op (if any) is last. */
    readonly ops: readonly DefinitionOp[],
    /** OpMetadata per op digest. */
    readonly metadata: ReadonlyMap<string, OpMetadata>,
    /** The result: output `index` of op `digest`; undefined for scratch (no ops). */
    readonly head: PbInput | undefined,
    /** Source map (`Definition.Source`): where ops came from; undefined when no op has a location. */
    readonly source?: PbSource,
  ) {}

  /** Digest of the op producing the result (undefined for scratch). */
  get digest(): string | undefined {
    return this.head?.digest;
  }

  /** Digest of the terminal op (the last element of `def`). */
  get terminalDigest(): string | undefined {
    return this.head ? this.ops[this.ops.length - 1].digest : undefined;
  }

  /** Marshalled ops (`Definition.def`). */
  get def(): Buffer[] {
    return this.ops.map((o) => o.bytes);
  }

  /** The union of caps all ops need, sorted. */
  caps(): string[] {
    return [...new Set(this.ops.flatMap((o) => o.caps))].sort();
  }

  /** The op whose digest is `digest`. */
  op(digest: string): DefinitionOp | undefined {
    return this.ops.find((o) => o.digest === digest);
  }

  /** pb.OpMetadata objects (proto field names, keys sorted) per op digest. */
  pbMetadata(): Record<string, PbOpMetadata> {
    const out: Record<string, PbOpMetadata> = {};
    for (const dgst of [...this.metadata.keys()].sort()) out[dgst] = toPbMetadata(this.metadata.get(dgst) as OpMetadata);
    return out;
  }

  /** Encoded pb.Definition (exactly what `buildctl build` reads on stdin). Empty for scratch. */
  toBytes(): Buffer {
    const keys = sortKeysBytewise([...this.metadata.keys()]);
    return encodeDefinitionSorted(this.def, keys, (w, k) => writeMetadataOf(w, this.metadata.get(k) as OpMetadata), this.source);
  }

  /**
   * A plain object for protobufjs (`pb.Definition` inside a SolveRequest). Note: an empty Definition
   * must still be sent as a present message (`{def: []}` encodes as `12 00`) — an absent one means
   * a client-side gateway build.
   */
  toObject(): { def: Buffer[]; metadata: Record<string, PbOpMetadata>; Source?: unknown } {
    const out: { def: Buffer[]; metadata: Record<string, PbOpMetadata>; Source?: unknown } = { def: this.def, metadata: this.pbMetadata() };
    if (this.source) out.Source = sourceToObject(this.source);
    return out;
  }
}

function sourceToObject(s: PbSource): unknown {
  return {
    locations: s.locations,
    infos: s.infos.map((i) => ({
      filename: i.filename,
      ...(i.data ? { data: i.data } : {}),
      ...(i.definition ? { definition: i.definition.toObject() } : {}),
      ...(i.language ? { language: i.language } : {}),
    })),
  };
}

function toPbMetadata(m: OpMetadata): PbOpMetadata {
  const out: PbOpMetadata = {};
  if (m.ignoreCache) out.ignore_cache = true;
  if (m.description && Object.keys(m.description).length) {
    out.description = {};
    for (const k of Object.keys(m.description).sort()) out.description[k] = m.description[k];
  }
  if (m.exportCache !== undefined) out.export_cache = { Value: m.exportCache };
  if (m.caps.length) {
    out.caps = {};
    for (const c of [...m.caps].sort()) out.caps[c] = true;
  }
  if (m.progressGroup) out.progress_group = { ...m.progressGroup };
  return out;
}

/**
 * `keys` deduplicated in Go's map order. Caps lists and description keys are nearly always sorted
 * ASCII already (strictly ascending ASCII is bytewise order): then they are used as they are.
 */
function inGoOrder(keys: readonly string[], ownUniqueArray = false): readonly string[] {
  let sorted = true;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    for (let j = 0; j < k.length; j++) if (k.charCodeAt(j) > 0x7f) return sortKeysBytewise([...new Set(keys)]);
    if (i > 0 && !(keys[i - 1] < k)) sorted = false;
  }
  // ASCII: UTF-16 order is byte order.
  if (sorted) return keys;
  // Object.keys' fresh array of distinct keys can be sorted in place.
  return ownUniqueArray ? (keys as string[]).sort() : [...new Set(keys)].sort();
}

/**
 * writeOpMetadata(w, toPbMetadata(m)) without the intermediate objects: toBytes writes one per op.
 * Same fields, same order, same sorted maps.
 */
function writeMetadataOf(w: ProtoWriter, m: OpMetadata): void {
  if (m.ignoreCache) w.bool(1, true);
  const d = m.description;
  if (d) {
    const keys = Object.keys(d);
    if (keys.length) w.sortedStringMap(2, inGoOrder(keys, true), (k) => d[k]);
  }
  if (m.exportCache !== undefined) {
    const at = w.openLen(4);
    w.bool(1, m.exportCache);
    w.closeLen(at);
  }
  if (m.caps.length) {
    for (const c of inGoOrder(m.caps)) {
      const at = w.openLen(5);
      w.string(1, c, true);
      w.bool(2, true, true);
      w.closeLen(at);
    }
  }
  if (m.progressGroup) {
    const p = m.progressGroup;
    const at = w.openLen(6);
    w.string(1, p.id).string(2, p.name).bool(3, p.weak);
    w.closeLen(at);
  }
}

function mergeMetadata(a: OpMetadata | undefined, b: OpMetadata): OpMetadata {
  if (!a) return { ...b, caps: [...b.caps] };
  const out: OpMetadata = { ...a, caps: [...new Set([...a.caps, ...b.caps])].sort() };
  if (b.ignoreCache) out.ignoreCache = true;
  if (b.description) out.description = { ...(a.description ?? {}), ...b.description };
  if (b.exportCache !== undefined) out.exportCache = b.exportCache;
  if (b.progressGroup) out.progressGroup = b.progressGroup;
  return out;
}

/** Go's identity.NewID-like random id (lower-case base36). */
function randomId(): string {
  return BigInt('0x' + randomBytes(16).toString('hex')).toString(36).padStart(25, '0');
}

/** Marshal the graph behind `state` (Go's State.Marshal). */
export function marshal(state: State, opts: MarshalOptions = {}): Definition {
  const caps = opts.caps ? new Set(opts.caps) : undefined;
  const memo = new Map<Vertex, MarshaledVertex>();
  const ops: DefinitionOp[] = [];
  const byDigest = new Map<string, DefinitionOp>();
  const metadata = new Map<string, OpMetadata>();
  const sources = new SourceMapCollector();

  const visit = (v: Vertex): MarshaledVertex => {
    const done = memo.get(v);
    if (done) return done;
    for (const inp of v.inputs()) visit(inp.vertex);
    const m = v.marshal(ctx);
    memo.set(v, m);
    metadata.set(m.digest, mergeMetadata(metadata.get(m.digest), m.metadata));
    // Like Go, every vertex adds its locations, also when an equal op was seen before.
    sources.add(m.digest, m.sourceLocations);
    const existing = byDigest.get(m.digest);
    if (existing) existing.caps = (metadata.get(m.digest) as OpMetadata).caps;
    else {
      const op: DefinitionOp = { digest: m.digest, bytes: m.bytes, kind: m.kind, name: m.name, caps: m.metadata.caps };
      byDigest.set(m.digest, op);
      ops.push(op);
    }
    return m;
  };
  const ctx: MarshalContext = {
    platform: opts.platform !== undefined ? parsePlatform(opts.platform) : defaultPlatform(),
    caps,
    localUniqueId: opts.localUniqueId || randomId(),
    input: (o: Output) => ({ digest: visit(o.vertex).digest, index: o.index }),
  };

  const out = state.output;
  if (!out) return new Definition([], new Map(), undefined);
  const head = ctx.input(out);

  const terminalBytes = encodeOp({ inputs: [head] });
  const terminalDigest = digestOf(terminalBytes);
  const termCaps = new Set<string>([Cap.Constraints, Cap.Platform]);
  for (const m of metadata.values()) {
    if (m.ignoreCache) termCaps.add(Cap.MetaIgnoreCache);
    if (m.description) termCaps.add(Cap.MetaDescription);
    if (m.exportCache !== undefined) termCaps.add(Cap.MetaExportCache);
  }
  const termMeta: OpMetadata = { caps: [...termCaps].sort() };
  metadata.set(terminalDigest, mergeMetadata(metadata.get(terminalDigest), termMeta));
  ops.push({ digest: terminalDigest, bytes: terminalBytes, kind: 'terminal', name: 'result', caps: termMeta.caps });

  const def = new Definition(ops, metadata, head, sources.toPb());
  if (caps) checkCaps(def, caps, { daemon: opts.daemon });
  return def;
}

// ---- decoding (tests, inspection, tools) -------------------------------------------------------

/** A pb.Op as protobufjs decodes it (proto field names; int64 as numbers when exact, else decimal strings; absent fields absent). */
export type DecodedOp = Record<string, any>;

export interface DecodedDefinition {
  /** Ops in `def` order with their digests. */
  ops: { digest: string; bytes: Buffer; op: DecodedOp }[];
  /** pb.OpMetadata per digest, as decoded. */
  metadata: Record<string, Record<string, any>>;
}

export function decodeOp(bytes: Uint8Array): DecodedOp {
  return decodeMessage(messageType('pb.Op'), bytes);
}

export function decodeDefinition(bytes: Uint8Array): DecodedDefinition {
  const d = decodeMessage<{ def?: Uint8Array[]; metadata?: Record<string, Record<string, any>> }>(messageType('pb.Definition'), bytes);
  const ops = (d.def ?? []).map((b) => {
    const buf = Buffer.from(b);
    return { digest: digestOf(buf), bytes: buf, op: decodeOp(buf) };
  });
  return { ops, metadata: d.metadata ?? {} };
}
