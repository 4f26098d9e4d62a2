/**
 * Hand-written codec for fsutil.types.Packet / fsutil.types.Stat (proto/fsutil/types/*.proto) and the
 * one-field BytesMessage. The DiffCopy hot path moves tens of thousands of small messages, so this avoids
 * protobufjs object conversion; field numbers are those of the .proto files (a unit test cross-checks
 * against protobufjs). Like Go, zero values are omitted.
 */

export const PACKET_STAT = 0;
export const PACKET_REQ = 1;
export const PACKET_DATA = 2;
export const PACKET_FIN = 3;
export const PACKET_ERR = 4;

export interface Stat {
  path: string;
  mode: number; // Go os.FileMode, unsigned
  uid: number;
  gid: number;
  size: bigint;
  modTime: bigint; // Unix nanoseconds
  linkname: string;
  devmajor: bigint;
  devminor: bigint;
  xattrs?: Map<string, Buffer>;
}

export interface Packet {
  type: number;
  stat?: Stat;
  id: number;
  data?: Buffer;
}

// ---------- encoding ----------

/** Writes `v` (uint32) as a varint at buf[p]; returns the position after it. */
function putVarint32(buf: Buffer, p: number, v: number): number {
  v = v >>> 0;
  while (v > 0x7f) { buf[p++] = (v & 0x7f) | 0x80; v >>>= 7; }
  buf[p++] = v;
  return p;
}

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size: number) { this.buf = Buffer.allocUnsafe(size); }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }
  byte(b: number): void { this.ensure(1); this.buf[this.pos++] = b; }
  varint32(v: number): void {
    this.ensure(5);
    this.pos = putVarint32(this.buf, this.pos, v);
  }
  /** int64/uint64 varint; negative values take ten bytes (two's complement), as in Go. */
  varint64(v: bigint): void {
    let u = BigInt.asUintN(64, v);
    this.ensure(10);
    while (u > 0x7fn) { this.buf[this.pos++] = Number(u & 0x7fn) | 0x80; u >>= 7n; }
    this.buf[this.pos++] = Number(u);
  }
  bytes(b: Uint8Array): void { this.varint32(b.length); this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  str(s: string): void {
    const n = Buffer.byteLength(s);
    this.varint32(n);
    this.ensure(n);
    this.pos += this.buf.write(s, this.pos);
  }
  result(): Buffer { return this.buf.subarray(0, this.pos); }
}

function writeStat(w: Writer, s: Stat): void {
  if (s.path) { w.byte(0x0a); w.str(s.path); }
  if (s.mode) { w.byte(0x10); w.varint32(s.mode); }
  if (s.uid) { w.byte(0x18); w.varint32(s.uid); }
  if (s.gid) { w.byte(0x20); w.varint32(s.gid); }
  if (s.size) { w.byte(0x28); w.varint64(s.size); }
  if (s.modTime) { w.byte(0x30); w.varint64(s.modTime); }
  if (s.linkname) { w.byte(0x3a); w.str(s.linkname); }
  if (s.devmajor) { w.byte(0x40); w.varint64(s.devmajor); }
  if (s.devminor) { w.byte(0x48); w.varint64(s.devminor); }
  if (s.xattrs) {
    // Go sorts map keys when marshalling deterministically; do the same for stable bytes.
    const keys = [...s.xattrs.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const k of keys) {
      const entry = new Writer(64);
      entry.byte(0x0a); entry.str(k);
      const v = s.xattrs.get(k)!;
      if (v.length) { entry.byte(0x12); entry.bytes(v); }
      w.byte(0x52); w.bytes(entry.result());
    }
  }
}

/** A STAT packet; `stat` undefined gives the empty end-of-walk STAT. */
export function encodeStatPacket(stat: Stat | undefined): Buffer {
  const w = new Writer(128);
  // type PACKET_STAT is 0 and therefore omitted.
  // Go sends Packet{Type: STAT} with a nil Stat as an empty message on the wire.
  if (stat) {
    const inner = new Writer(128);
    writeStat(inner, stat);
    w.byte(0x12); w.bytes(inner.result());
  }
  return w.result();
}

/** REQ, FIN, ERR and empty DATA packets. */
export function encodeSimplePacket(type: number, id = 0, data?: Uint8Array): Buffer {
  const w = new Writer(16 + (data ? data.length : 0));
  if (type) { w.byte(0x08); w.varint32(type); }
  if (id) { w.byte(0x18); w.varint32(id); }
  if (data && data.length) { w.byte(0x22); w.bytes(data); }
  return w.result();
}

/** Room a caller must leave in front of DATA payload bytes for encodeDataPacketInPlace. */
export const DATA_HEADER_ROOM = 16;

function varintLen(v: number): number {
  let n = 1;
  v = v >>> 0;
  while (v > 0x7f) { v >>>= 7; n++; }
  return n;
}

/**
 * Builds a DATA packet around payload bytes already placed at buf[DATA_HEADER_ROOM, DATA_HEADER_ROOM+len),
 * writing the header right before them, so file contents are never copied. Returns the packet slice.
 */
export function encodeDataPacketInPlace(buf: Buffer, id: number, len: number): Buffer {
  const headerLen = 2 + (id ? 1 + varintLen(id) : 0) + (len ? 1 + varintLen(len) : 0);
  let p = DATA_HEADER_ROOM - headerLen;
  const start = p;
  buf[p++] = 0x08; buf[p++] = PACKET_DATA;
  if (id) { buf[p++] = 0x18; p = putVarint32(buf, p, id); }
  if (len) { buf[p++] = 0x22; p = putVarint32(buf, p, len); }
  return buf.subarray(start, DATA_HEADER_ROOM + len);
}

export function encodeDataPacket(id: number, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(DATA_HEADER_ROOM + data.length);
  buf.set(data, DATA_HEADER_ROOM);
  return encodeDataPacketInPlace(buf, id, data.length);
}

/** BytesMessage{data=1}. */
export function encodeBytesMessage(data: Uint8Array): Buffer {
  const w = new Writer(8 + data.length);
  if (data.length) { w.byte(0x0a); w.bytes(data); }
  return w.result();
}

// ---------- decoding ----------

class Reader {
  pos: number;
  constructor(readonly buf: Uint8Array, start = 0, readonly end = buf.length) { this.pos = start; }
  more(): boolean { return this.pos < this.end; }
  varint32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      if (shift < 32) result |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
      if (shift > 63) throw new Error('varint too long');
    }
    return result >>> 0;
  }
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
    return BigInt.asIntN(64, result);
  }
  lenDelim(): [number, number] {
    const n = this.varint32();
    const s = this.pos;
    if (s + n > this.end) throw new Error('truncated field');
    this.pos += n;
    return [s, s + n];
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint64(); break;
      case 1: this.pos += 8; break;
      case 2: this.lenDelim(); break;
      case 5: this.pos += 4; break;
      default: throw new Error(`unsupported wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new Error('truncated field');
  }
}

const utf8 = new TextDecoder();

function decodeStatRange(buf: Uint8Array, start: number, end: number): Stat {
  const r = new Reader(buf, start, end);
  const s: Stat = { path: '', mode: 0, uid: 0, gid: 0, size: 0n, modTime: 0n, linkname: '', devmajor: 0n, devminor: 0n };
  while (r.more()) {
    const tag = r.varint32();
    const field = tag >>> 3;
    const wt = tag & 7;
    switch (field) {
      case 1: { const [a, b] = r.lenDelim(); s.path = utf8.decode(buf.subarray(a, b)); break; }
      case 2: s.mode = r.varint32(); break;
      case 3: s.uid = r.varint32(); break;
      case 4: s.gid = r.varint32(); break;
      case 5: s.size = r.varint64(); break;
      case 6: s.modTime = r.varint64(); break;
      case 7: { const [a, b] = r.lenDelim(); s.linkname = utf8.decode(buf.subarray(a, b)); break; }
      case 8: s.devmajor = r.varint64(); break;
      case 9: s.devminor = r.varint64(); break;
      case 10: {
        const [a, b] = r.lenDelim();
        const er = new Reader(buf, a, b);
        let key = '';
        let val = Buffer.alloc(0);
        while (er.more()) {
          const t = er.varint32();
          if (t >>> 3 === 1 && (t & 7) === 2) { const [x, y] = er.lenDelim(); key = utf8.decode(buf.subarray(x, y)); }
          else if (t >>> 3 === 2 && (t & 7) === 2) { const [x, y] = er.lenDelim(); val = Buffer.from(buf.subarray(x, y)); }
          else er.skip(t & 7);
        }
        (s.xattrs ??= new Map()).set(key, val);
        break;
      }
      default: r.skip(wt);
    }
  }
  return s;
}

/** Decodes a Packet; `data` is a view into `buf` (no copy). */
export function decodePacket(buf: Buffer): Packet {
  const r = new Reader(buf);
  const p: Packet = { type: 0, id: 0 };
  while (r.more()) {
    const tag = r.varint32();
    switch (tag) {
      case 0x08: p.type = r.varint32(); break;
      case 0x12: { const [a, b] = r.lenDelim(); p.stat = decodeStatRange(buf, a, b); break; }
      case 0x18: p.id = r.varint32(); break;
      case 0x22: { const [a, b] = r.lenDelim(); p.data = buf.subarray(a, b); break; }
      default: r.skip(tag & 7);
    }
  }
  return p;
}

/** BytesMessage.data as a view into `buf`. */
export function decodeBytesMessage(buf: Buffer): Buffer {
  const r = new Reader(buf);
  let data: Buffer = buf.subarray(0, 0);
  while (r.more()) {
    const tag = r.varint32();
    if (tag === 0x0a) { const [a, b] = r.lenDelim(); data = buf.subarray(a, b); }
    else r.skip(tag & 7);
  }
  return data;
}
