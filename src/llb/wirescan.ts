/**
 * A minimal protobuf wire-format walker: the fields of one message, without a schema. Used where a
 * few fields of our own op bytes are read on the compile path (loading the protobufjs schema costs
 * more than the whole read).
 */
import { StapelkitError } from '../errors';

export interface WireField {
  field: number;
  wire: number;
  /** Varint value (wire type 0); numbers above 2^53 lose precision, which the callers never read. */
  varint: number;
  /** Payload of a length-delimited field (wire type 2). */
  bytes?: Uint8Array;
}

function malformed(what: string): StapelkitError {
  return new StapelkitError('LLB_INVALID', `malformed protobuf bytes: ${what}`);
}

/**
 * Calls `visit` for every field of `buf` in wire order (fixed32/fixed64 are skipped over, groups
 * refused): wireFields without a generator and an object per field, for the compile path's scans.
 */
export function forEachWireField(buf: Uint8Array, visit: (field: number, wire: number, varint: number, bytes: Uint8Array | undefined) => void): void {
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let k = 0; k < 10; k++) {
      if (pos >= buf.length) throw malformed('truncated varint');
      const b = buf[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 0x80;
    }
    throw malformed('varint longer than 10 bytes');
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) visit(field, wire, varint(), undefined);
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw malformed('length past the end');
      const start = pos;
      pos += len;
      visit(field, wire, 0, buf.subarray(start, start + len));
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw malformed(`wire type ${wire}`);
    if (pos > buf.length) throw malformed('fixed field past the end');
  }
}

/**
 * Every field of `buf` in wire order (fixed32/fixed64 are skipped over, groups refused). The whole
 * buffer is scanned before the first field is yielded: malformed bytes throw on the first `next()`.
 */
export function* wireFields(buf: Uint8Array): Generator<WireField> {
  const fields: WireField[] = [];
  forEachWireField(buf, (field, wire, varint, bytes) => fields.push(bytes ? { field, wire, varint, bytes } : { field, wire, varint }));
  yield* fields;
}

/** The last occurrence of string field `field` (protobuf: the last one wins), or undefined. */
export function wireString(buf: Uint8Array, field: number): string | undefined {
  let last: Uint8Array | undefined;
  forEachWireField(buf, (f, _wire, _v, bytes) => {
    if (f === field && bytes) last = bytes;
  });
  return last === undefined ? undefined : Buffer.from(last.buffer, last.byteOffset, last.length).toString('utf8');
}
