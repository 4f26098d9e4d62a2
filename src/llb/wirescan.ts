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

/** Every field of `buf` in wire order (fixed32/fixed64 are skipped over, groups refused). */
export function* wireFields(buf: Uint8Array): Generator<WireField> {
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
    if (wire === 0) yield { field, wire, varint: varint() };
    else if (wire === 2) {
      const len = varint();
      if (pos + len > buf.length) throw malformed('length past the end');
      yield { field, wire, varint: 0, bytes: buf.subarray(pos, pos + len) };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw malformed(`wire type ${wire}`);
    if (pos > buf.length) throw malformed('fixed field past the end');
  }
}

/** The last occurrence of string field `field` (protobuf: the last one wins), or undefined. */
export function wireString(buf: Uint8Array, field: number): string | undefined {
  let out: string | undefined;
  for (const f of wireFields(buf)) if (f.field === field && f.bytes) out = Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.length).toString('utf8');
  return out;
}
