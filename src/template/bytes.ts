/**
 * Go strings are byte strings; the engine holds them as JS strings in a "surrogate-escape" form:
 * every valid UTF-8 sequence is the character it encodes (so text costs nothing extra and JS string
 * functions work on it), and every byte that is not part of a valid sequence (Go's utf8.DecodeRune
 * rules) is one lone low surrogate U+DC80+(byte-0x80). Valid UTF-8 never decodes to a lone
 * surrogate, so the mapping is one-to-one: equal bytes ⇔ equal JS strings, provided strings are
 * kept normalized (goNormalize after joining pieces that may split a multi-byte sequence).
 *
 * Byte-wise operations (len, index, slicing, hashes, base64, %x, %q) go through goBytes; rune-wise
 * ones see an escaped byte as U+FFFD, as Go's `range` over a string does (goRunes).
 */
import { isUtf8 } from 'node:buffer';

/** A lone escape unit (with the `u` flag a surrogate pair is one code point and never matches). */
const RAW = /[\uDC80-\uDCFF]/u;
const RAW_G = /[\uDC80-\uDCFF]/gu;
const RAW_RUNS = /([\uDC80-\uDCFF]+)/u;

/** Does the string hold bytes that are not valid UTF-8? */
export function hasRawBytes(s: string): boolean {
  return RAW.test(s);
}

/** The bytes of a Go string value. */
export function goBytes(s: string): Buffer {
  if (!RAW.test(s)) return Buffer.from(s, 'utf8');
  const parts = s.split(RAW_RUNS); // odd indexes: runs of escaped bytes
  const bufs: Buffer[] = [];
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (i % 2 === 0) {
      if (p !== '') bufs.push(Buffer.from(p, 'utf8'));
    } else {
      const b = Buffer.allocUnsafe(p.length);
      for (let j = 0; j < p.length; j++) b[j] = p.charCodeAt(j) - 0xdc00;
      bufs.push(b);
    }
  }
  return Buffer.concat(bufs);
}

/** Length in bytes of the valid UTF-8 sequence starting at b[i], or 0 when b[i] starts none. */
function seqLen(b: Uint8Array, i: number): number {
  const c = b[i];
  const n = b.length;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => k < n && b[k] >= lo && b[k] <= hi;
  if (c < 0x80) return 1;
  if (c < 0xc2) return 0;
  if (c < 0xe0) return cont(i + 1) ? 2 : 0;
  if (c < 0xf0) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c < 0xf5) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

/** A Go string value from bytes. */
export function goString(b: Uint8Array): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (isUtf8(buf)) return buf.toString('utf8');
  const out: string[] = [];
  let start = 0; // start of the current valid run
  let i = 0;
  while (i < buf.length) {
    const l = seqLen(buf, i);
    if (l > 0) {
      i += l;
      continue;
    }
    if (start < i) out.push(buf.toString('utf8', start, i));
    out.push(String.fromCharCode(0xdc00 + buf[i]));
    i++;
    start = i;
  }
  if (start < buf.length) out.push(buf.toString('utf8', start));
  return out.join('');
}

/** The canonical form of a string made by joining Go strings (escaped bytes may now form UTF-8). */
export function goNormalize(s: string): string {
  return RAW.test(s) ? goString(goBytes(s)) : s;
}

/** len(s) in Go: bytes. */
export function goByteLength(s: string): number {
  return RAW.test(s) ? goBytes(s).length : Buffer.byteLength(s, 'utf8');
}

/** The string as Go's `range`/strings.Map sees it: each invalid byte is U+FFFD. */
export function goRunes(s: string): string {
  return RAW.test(s) ? s.replace(RAW_G, '\uFFFD') : s;
}

/** s[start:end] in Go (byte offsets; the caller checks bounds). */
export function goSlice(s: string, start: number, end?: number): string {
  return goString(goBytes(s).subarray(start, end));
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function invalidUtf8Offset(s: string): number {
  const m = RAW.exec(s);
  if (!m) return -1;
  return Buffer.byteLength(s.slice(0, m.index), 'utf8'); // everything before it is valid text
}
