/**
 * werf's hash helpers (common-go `util.Sha256Hash` / `util.Sha3_224Hash`): the arguments joined
 * with ":::" and hashed, lowercase hex. Zero arguments hash the empty string, so `H256()` is
 * e3b0c442… — werf feeds that to the next stage even for git-less images.
 */
import { createHash } from 'node:crypto';

export const HASH_SEPARATOR = ':::';

export function sha256Hash(...args: string[]): string {
  return createHash('sha256').update(args.join(HASH_SEPARATOR), 'utf8').digest('hex');
}

export function sha3_224Hash(...args: string[]): string {
  return createHash('sha3-224').update(args.join(HASH_SEPARATOR), 'utf8').digest('hex');
}

/** Go's fmt.Sprint of a bool. */
export function goBool(b: boolean | undefined): string {
  return b ? 'true' : 'false';
}

/** Go's sort.Strings: bytewise order of the UTF-8 encodings. */
export function goSortStrings(values: readonly string[]): string[] {
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** werf's mapToSortedArgs: k1, v1, k2, v2, … with keys in Go sort order. */
export function mapToSortedArgs(map: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const k of goSortStrings(Object.keys(map))) out.push(k, map[k]);
  return out;
}

/**
 * Go's strconv.Quote (what `%q` prints for a string): a double-quoted literal with Go escapes;
 * printable runes stay as they are, others become \xNN / \uNNNN / \UNNNNNNNN.
 */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd'; // lone surrogate: Go sees invalid UTF-8
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp < 0x7f || isPrintable(ch)) out += ch;
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + '"';
}

/** Approximates Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and U+0020. */
function isPrintable(ch: string): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}
