/**
 * Deterministic protobuf writer for pb.Op and its sub-messages, byte-compatible with Go's
 * deterministic marshal (gogo stable_marshaler / MarshalOptions{Deterministic:true}):
 * fields in field-number order, proto3 zero scalars omitted, oneof members written even when zero,
 * negative ints as 10-byte two's-complement varints, map entries sorted bytewise by UTF-8 key with
 * both key and value written, present sub-messages written even when empty.
 *
 * Op bytes are hashed into the op digest, so nothing here may depend on object key order.
 * Definition and OpMetadata are not hashed but are written here too (sorted maps), which keeps the
 * llb layer free of the protobufjs loader on the hot path.
 */
import { hexDigest } from '../util/digest';
import type {
  PbChownOpt,
  PbExecOp,
  PbFileAction,
  PbFileOp,
  PbInput,
  PbMeta,
  PbMount,
  PbOp,
  PbOpMetadata,
  PbPlatform,
  PbSocketOpt,
  PbSourceOp,
  PbUserOpt,
} from './pb';
import type { PbSource } from './sourcemap';

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const MASK64 = (1n << 64n) - 1n;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Collects the bytes of one message into a single growable buffer. A sub-message is written in
 * place right after its tag and then shifted right by the size of its length varint, so nesting
 * costs one memmove per level instead of a child buffer and a concat.
 */
export class ProtoWriter {
  private buf: Buffer = Buffer.allocUnsafe(256);
  private pos = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Non-negative integer below 2^53 as a varint (the hot path: tags, lengths, small fields). */
  private uvarint(value: number): void {
    this.reserve(10);
    const b = this.buf;
    let v = value;
    while (v >= 0x80) {
      b[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    b[this.pos++] = v;
  }

  /**
   * A negative integer (down to -2^53) as its 64-bit two's complement, 10 bytes, from two 32-bit
   * halves: file ops carry several -1s each, and the BigInt loop cost ~30 BigInt allocations per one.
   */
  private negVarint(value: number): void {
    this.reserve(10);
    const b = this.buf;
    let lo = value >>> 0; // ToUint32: value mod 2^32
    let hi = Math.floor(value / 4294967296) >>> 0;
    while (hi !== 0) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo >= 0x80) {
      b[this.pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    b[this.pos++] = lo;
  }

  private bigVarint(value: bigint): void {
    let v = value & MASK64; // negative numbers become their 64-bit two's complement (10 bytes)
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.uvarint(field * 8 + wire);
  }

  /** int32/int64/uint32/uint64/enum field; omitted when zero unless `always` (oneof member). */
  int(field: number, value: number | bigint | undefined, always = false): this {
    if (value === undefined) return this;
    // A bigint in the safe range (timestamps, usually -1n) takes the number path: same bytes.
    const num = typeof value === 'number' ? value : value >= -MAX_SAFE_BIG && value <= MAX_SAFE_BIG ? Number(value) : undefined;
    if (num !== undefined) {
      const v = Math.trunc(num);
      if (v === 0 && !always) return this;
      this.tag(field, WIRE_VARINT);
      if (v >= 0 && v <= Number.MAX_SAFE_INTEGER) this.uvarint(v);
      else if (v < 0 && v >= -Number.MAX_SAFE_INTEGER) this.negVarint(v);
      else this.bigVarint(BigInt(v));
      return this;
    }
    value = value as bigint;
    if (value === 0n && !always) return this;
    this.tag(field, WIRE_VARINT);
    this.bigVarint(value);
    return this;
  }

  bool(field: number, value: boolean | undefined, always = false): this {
    if (!value && !always) return this;
    this.tag(field, WIRE_VARINT);
    this.uvarint(value ? 1 : 0);
    return this;
  }

  string(field: number, value: string | undefined, always = false): this {
    if (value === undefined || (value === '' && !always)) return this;
    const len = Buffer.byteLength(value, 'utf8');
    this.tag(field, WIRE_LEN);
    this.uvarint(len);
    this.reserve(len);
    this.pos += this.buf.write(value, this.pos, len, 'utf8');
    return this;
  }

  bytes(field: number, value: Uint8Array | undefined, always = false): this {
    if (value === undefined || (value.length === 0 && !always)) return this;
    this.tag(field, WIRE_LEN);
    this.uvarint(value.length);
    this.reserve(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** Repeated string: one field per element (never packed). */
  strings(field: number, values: readonly string[] | undefined): this {
    if (values) for (const v of values) this.string(field, v, true);
    return this;
  }

  /**
   * Starts a length-delimited field: its tag and a one-byte length placeholder (most sub-messages
   * are shorter than 128 bytes, so closeLen rarely has to move anything). Returns the placeholder's position.
   */
  openLen(field: number): number {
    this.tag(field, WIRE_LEN);
    this.reserve(1);
    return this.pos++;
  }

  /** Ends the field openLen started: writes its length, shifting the body right when it needs more than one byte. */
  closeLen(at: number): void {
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    let prefix = 1;
    for (let v = len; v >= 0x80; v = Math.floor(v / 0x80)) prefix++;
    this.reserve(prefix - 1);
    this.buf.copyWithin(at + prefix, at + 1, this.pos);
    this.pos = at;
    this.uvarint(len);
    this.pos = at + prefix + len;
  }

  /** A sub-message; written (possibly empty) whenever `value` is not undefined. */
  message<T>(field: number, value: T | undefined, write: (w: ProtoWriter, v: T) => void): this {
    if (value === undefined) return this;
    const at = this.openLen(field);
    write(this, value);
    this.closeLen(at);
    return this;
  }

  messages<T>(field: number, values: readonly T[] | undefined, write: (w: ProtoWriter, v: T) => void): this {
    if (values) for (const v of values) this.message(field, v, write);
    return this;
  }

  /** map<string, V>: entries sorted bytewise by UTF-8 key; key (1) and value (2) always written. */
  map<V>(field: number, entries: Record<string, V> | undefined, writeValue: (w: ProtoWriter, fieldNo: number, v: V) => void): this {
    if (!entries) return this;
    for (const key of sortKeysBytewise(Object.keys(entries))) {
      const v = entries[key];
      if (v === undefined) continue; // as message(): an absent value writes no entry
      const at = this.openLen(field);
      this.string(1, key, true);
      writeValue(this, 2, v);
      this.closeLen(at);
    }
    return this;
  }

  /** map<string, string> from keys already in Go's order (bytewise sorted). */
  sortedStringMap(field: number, keys: readonly string[], valueOf: (key: string) => string | undefined): this {
    for (const key of keys) {
      const v = valueOf(key);
      if (v === undefined) continue;
      const at = this.openLen(field);
      this.string(1, key, true);
      this.string(2, v, true);
      this.closeLen(at);
    }
    return this;
  }

  /** The message bytes, in a buffer of their own (the writer's scratch space is not kept alive). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

/** Go sorts map keys as byte strings; JS `<` compares UTF-16 code units, which agree on ASCII only. */
export function sortKeysBytewise(keys: string[]): string[] {
  if (keys.every((k) => ASCII.test(k))) return [...keys].sort();
  return keys
    .map((k) => [k, Buffer.from(k, 'utf8')] as const)
    .sort((a, b) => Buffer.compare(a[1], b[1]))
    .map(([k]) => k);
}

const ASCII = /^[\x00-\x7f]*$/;

export function digestOf(bytes: Uint8Array): string {
  return 'sha256:' + hexDigest('sha256', bytes);
}

// ---- pb.Op ---------------------------------------------------------------------------------------

function writePlatform(w: ProtoWriter, p: PbPlatform): void {
  w.string(1, p.Architecture).string(2, p.OS).string(3, p.Variant).string(4, p.OSVersion).strings(5, p.OSFeatures);
}

function writeInput(w: ProtoWriter, i: PbInput): void {
  w.string(1, i.digest).int(2, i.index);
}

function writeMeta(w: ProtoWriter, m: PbMeta): void {
  w.strings(1, m.args).strings(2, m.env).string(3, m.cwd).string(4, m.user);
  w.message(5, m.proxy_env, (pw, p) => {
    pw.string(1, p.http_proxy).string(2, p.https_proxy).string(3, p.ftp_proxy).string(4, p.no_proxy).string(5, p.all_proxy);
  });
  w.messages(6, m.extraHosts, (hw, h) => hw.string(1, h.Host).string(2, h.IP));
  w.string(7, m.hostname);
  w.bool(11, m.removeMountStubsRecursive);
}

function writeSocketOpt(w: ProtoWriter, s: PbSocketOpt): void {
  w.string(1, s.ID).int(2, s.uid).int(3, s.gid).int(4, s.mode).bool(5, s.optional);
}

function writeMount(w: ProtoWriter, m: PbMount): void {
  w.int(1, m.input).string(2, m.selector).string(3, m.dest).int(4, m.output).bool(5, m.readonly).int(6, m.mountType);
  w.message(19, m.TmpfsOpt, (tw, t) => tw.int(1, t.size));
  w.message(20, m.cacheOpt, (cw, c) => cw.string(1, c.ID).int(2, c.sharing));
  w.message(21, m.secretOpt, writeSocketOpt);
  w.message(22, m.SSHOpt, writeSocketOpt);
}

function writeExec(w: ProtoWriter, e: PbExecOp): void {
  w.message(1, e.meta, writeMeta);
  w.messages(2, e.mounts, writeMount);
  w.int(3, e.network).int(4, e.security);
}

function writeSource(w: ProtoWriter, s: PbSourceOp): void {
  w.string(1, s.identifier);
  w.map(2, s.attrs, (mw, f, v) => mw.string(f, v, true));
}

function writeUserOpt(w: ProtoWriter, u: PbUserOpt): void {
  if (u.byName !== undefined) w.message(1, u.byName, (nw, n) => nw.string(1, n.name).int(2, n.input));
  else if (u.byID !== undefined) w.int(2, u.byID, true); // oneof member: written even when 0 (root)
}

function writeChown(w: ProtoWriter, c: PbChownOpt): void {
  w.message(1, c.user, writeUserOpt).message(2, c.group, writeUserOpt);
}

function writeFileAction(w: ProtoWriter, a: PbFileAction): void {
  w.int(1, a.input).int(2, a.secondaryInput).int(3, a.output);
  if (a.copy) {
    w.message(4, a.copy, (cw, c) => {
      cw.string(1, c.src).string(2, c.dest).message(3, c.owner, writeChown).int(4, c.mode);
      cw.bool(5, c.followSymlink).bool(6, c.dirCopyContents).bool(7, c.attemptUnpackDockerCompatibility);
      cw.bool(8, c.createDestPath).bool(9, c.allowWildcard).bool(10, c.allowEmptyWildcard).int(11, c.timestamp);
      cw.strings(12, c.include_patterns).strings(13, c.exclude_patterns).bool(14, c.alwaysReplaceExistingDestPaths);
    });
  } else if (a.mkfile) {
    w.message(5, a.mkfile, (fw, f) => {
      fw.string(1, f.path).int(2, f.mode).bytes(3, f.data).message(4, f.owner, writeChown).int(5, f.timestamp);
    });
  } else if (a.mkdir) {
    w.message(6, a.mkdir, (dw, d) => {
      dw.string(1, d.path).int(2, d.mode).bool(3, d.makeParents).message(4, d.owner, writeChown).int(5, d.timestamp);
    });
  } else if (a.rm) {
    w.message(7, a.rm, (rw, r) => rw.string(1, r.path).bool(2, r.allowNotFound).bool(3, r.allowWildcard));
  }
}

function writeFile(w: ProtoWriter, f: PbFileOp): void {
  w.messages(2, f.actions, writeFileAction); // field 1 is unused in BuildKit
}

/** The exact bytes Go's client/llb (v0.11.6) produces for this op. */
export function encodeOp(op: PbOp): Buffer {
  const w = new ProtoWriter();
  w.messages(1, op.inputs, writeInput);
  if (op.exec) w.message(2, op.exec, writeExec);
  else if (op.source) w.message(3, op.source, writeSource);
  else if (op.file) w.message(4, op.file, writeFile);
  else if (op.merge) w.message(6, op.merge, (mw, m) => mw.messages(1, m.inputs, (iw, i) => iw.int(1, i.input)));
  else if (op.diff) {
    w.message(7, op.diff, (dw, d) => {
      dw.message(1, d.lower, (iw, i) => iw.int(1, i.input)).message(2, d.upper, (iw, i) => iw.int(1, i.input));
    });
  }
  w.message(10, op.platform, writePlatform);
  w.message(11, op.constraints, (cw, c) => cw.strings(1, c.filter));
  return w.finish();
}

// ---- pb.OpMetadata / pb.Definition (not hashed) ----------------------------------------------------

export function writeOpMetadata(w: ProtoWriter, m: PbOpMetadata): void {
  w.bool(1, m.ignore_cache);
  w.map(2, m.description, (mw, f, v) => mw.string(f, v, true));
  w.message(4, m.export_cache, (ew, e) => ew.bool(1, e.Value));
  w.map(5, m.caps, (mw, f, v) => mw.bool(f, v, true));
  w.message(6, m.progress_group, (pw, p) => pw.string(1, p.id).string(2, p.name).bool(3, p.weak));
}

type Pos = { line: number; character: number };

function writePosition(w: ProtoWriter, p: Pos): void {
  w.int(1, p.line).int(2, p.character);
}

function writeLocation(w: ProtoWriter, l: { sourceIndex: number; ranges: { start: Pos; end: Pos }[] }): void {
  w.int(1, l.sourceIndex);
  // Range.start/end are non-nullable in BuildKit's gogo proto: always written.
  w.messages(2, l.ranges, (rw, r) => rw.message(1, r.start, writePosition).message(2, r.end, writePosition));
}

function writeSourceInfo(w: ProtoWriter, i: PbSource['infos'][number]): void {
  w.string(1, i.filename);
  w.bytes(2, i.data);
  if (i.definition) w.bytes(3, i.definition.toBytes(), true);
  w.string(4, i.language);
}

/** pb.Source: `locations` map sorted by op digest, `infos` in collection order. */
export function writeSourceMap(w: ProtoWriter, s: PbSource): void {
  w.map(1, s.locations, (mw, f, v) => mw.message(f, v, (lw, locs) => lw.messages(1, locs.locations, writeLocation)));
  w.messages(2, s.infos, writeSourceInfo);
}

export function encodeDefinition(def: readonly Uint8Array[], metadata: Record<string, PbOpMetadata>, source?: PbSource): Buffer {
  const keys = sortKeysBytewise(Object.keys(metadata)).filter((k) => metadata[k] !== undefined);
  return encodeDefinitionSorted(def, keys, (w, k) => writeOpMetadata(w, metadata[k]), source);
}

/**
 * encodeDefinition for metadata already keyed in Go's map order (`keys`, bytewise sorted): no
 * intermediate record of every op's metadata, no second sort of thousands of digests. `writeMetadata`
 * writes the pb.OpMetadata fields of `key` (as writeOpMetadata does).
 */
export function encodeDefinitionSorted(def: readonly Uint8Array[], keys: readonly string[], writeMetadata: (w: ProtoWriter, key: string) => void, source?: PbSource): Buffer {
  const w = new ProtoWriter();
  for (const dt of def) w.bytes(1, dt, true);
  for (const key of keys) {
    const entry = w.openLen(2);
    w.string(1, key, true);
    const value = w.openLen(2);
    writeMetadata(w, key);
    w.closeLen(value);
    w.closeLen(entry);
  }
  w.message(3, source, writeSourceMap);
  return w.finish();
}
