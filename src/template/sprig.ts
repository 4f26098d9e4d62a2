/**
 * Sprig v3.2.3 (`sprig.TxtFuncMap()`) as werf exposes it: strings, lists, dicts, defaults, math,
 * conversions (spf13/cast rules), encoding, hashes, regex (Go RE2 translated to JS RegExp, with
 * Go's match iteration and `$name` expansion), semver, reflection, paths, dates. Signatures are Go's,
 * so text/template's argument checks behave as in werf.
 */
import * as crypto from 'node:crypto';
import { GoError, GoFunc, GoInt, GoList, GoMap, GoStruct, GoTime, Value, goKindName, goTypeName, int } from './value';
import { goQuote, sprintf, sprintValue } from './fmt';
import { formatLayout, parseLayout, validZone, zeroTime } from './gotime';
import { compileGoRegexp, goRegexFindAll, goRegexReplaceAll, goRegexSplit, goQuoteMeta, GoRegexp } from './regexp';
import { semverCompare, semverParse } from './semver';
import { parseGoInt, underscoreOK } from './strconv';
import { cleanPath } from '../util/gopath';
import { goByteLength, goBytes, goRunes, goString, hasRawBytes } from './bytes';

const I = 'interface {}';

// ---------------- helpers ----------------

export function adler32(s: string): number {
  let a = 1;
  let b = 0;
  for (const byte of goBytes(s)) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** Sprig's strval. */
export function strval(v: Value): string {
  if (typeof v === 'string') return v;
  if (v instanceof GoTime) return sprintValue(v);
  return sprintf('%v', [v]);
}

/** Sprig's empty(): zero values, empty collections, nil. */
export function empty(v: Value): boolean {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v.length === 0;
  if (typeof v === 'boolean') return !v;
  if (typeof v === 'number') return v === 0;
  if (v instanceof GoInt) return v.v === 0n;
  if (v instanceof GoList) return v.items.length === 0;
  if (v instanceof GoMap) return v.size === 0;
  return false;
}

function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

const wrap64 = (v: bigint) => BigInt.asIntN(64, v);

/** cast.ToInt64. */
export function toInt64(v: Value): bigint {
  if (v === undefined || v === null) return 0n;
  if (v instanceof GoInt) return wrap64(v.v);
  if (typeof v === 'number') return Number.isFinite(v) ? wrap64(BigInt(Math.trunc(v))) : -(2n ** 63n);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') return parseGoInt(trimZeroDecimal(v)) ?? 0n;
  return 0n;
}

/** cast.ToFloat64. */
export function toFloat64(v: Value): number {
  if (v === undefined || v === null) return 0;
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') {
    if (v.includes('_') && !underscoreOK(v)) return 0;
    const s = v.replace(/_/g, '');
    if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) || /^[+-]?0[xX][0-9a-fA-F.]+[pP][+-]?\d+$/.test(s)) {
      const f = Number(s);
      return Number.isFinite(f) ? f : 0; // strconv.ParseFloat range error → cast returns 0
    }
    if (/^[+-]?(inf|infinity)$/i.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
    if (/^nan$/i.test(v)) return NaN;
    return 0;
  }
  return 0;
}

function listItems(v: Value, what: string): Value[] {
  if (v instanceof GoList) return v.items;
  if (v === undefined || v === null) throw new GoError('runtime error: invalid memory address or nil pointer dereference');
  throw new GoError(`${what} ${goKindName(v)}`);
}

function strslice(v: Value): GoList {
  if (v instanceof GoList) {
    if (v.elem === 'string') return v;
    return new GoList(v.items.filter((x) => x !== null && x !== undefined).map(strval), 'string');
  }
  if (v === null || v === undefined) return new GoList([], 'string');
  return new GoList([strval(v)], 'string');
}

/** reflect.DeepEqual for template values. */
export function deepEqual(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (a === undefined || a === null || b === undefined || b === null) return (a ?? null) === (b ?? null);
  if (a instanceof GoInt && b instanceof GoInt) return a.kind === b.kind && a.v === b.v;
  if (a instanceof GoList && b instanceof GoList) {
    return a.elem === b.elem && a.items.length === b.items.length && a.items.every((x, i) => deepEqual(x, b.items[i]));
  }
  if (a instanceof GoMap && b instanceof GoMap) {
    if (a.key !== b.key || a.elem !== b.elem || a.size !== b.size) return false;
    for (const [id, e] of a.m) {
      const o = b.m.get(id);
      if (!o || !deepEqual(e.v, o.v)) return false;
    }
    return true;
  }
  if (a instanceof GoTime && b instanceof GoTime) return a.ms === b.ms && a.nanos === b.nanos && a.zone === b.zone;
  return false;
}

function byteSlice(s: string, start: number, end: number): string {
  const b = goBytes(s);
  if (start < 0 || end > b.length || start > end) throw new GoError(`runtime error: slice bounds out of range [${start}:${end}]`);
  return goString(b.subarray(start, end));
}

// ---------------- goutils / xstrings ----------------

function isGoSpace(c: string): boolean {
  return /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$/.test(c);
}

function goTrimSpace(s: string): string {
  let a = 0;
  const chars = [...s];
  let b = chars.length;
  while (a < b && isGoSpace(chars[a])) a++;
  while (b > a && isGoSpace(chars[b - 1])) b--;
  return chars.slice(a, b).join('');
}

function goTrim(s: string, cutset: string): string {
  const set = new Set([...cutset]);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a])) a++;
  while (b > a && set.has(chars[b - 1])) b--;
  return chars.slice(a, b).join('');
}

/** strings.Title: uppercase letters that follow a separator. */
function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  const isSep = (c: string) => {
    if (/[A-Za-z0-9_]/.test(c)) return false;
    if (c.codePointAt(0)! < 0x80) return true;
    if (/[\p{L}\p{Nd}]/u.test(c)) return false;
    return isGoSpace(c);
  };
  for (const c of s) {
    out += isSep(prev) ? toTitleCase(c) : c;
    prev = c;
  }
  return out;
}

function toTitleCase(c: string): string {
  const special: Record<string, string> = { ǆ: 'ǅ', ǅ: 'ǅ', Ǆ: 'ǅ', ǉ: 'ǈ', Ǉ: 'ǈ', ǌ: 'ǋ', Ǌ: 'ǋ', ǳ: 'ǲ', Ǳ: 'ǲ' };
  if (special[c]) return special[c];
  const u = c.toUpperCase();
  return [...u].length === 1 ? u : c;
}

function goUpper(s: string): string {
  return [...s].map((c) => {
    const u = c.toUpperCase();
    return [...u].length === 1 ? u : c;
  }).join('');
}

function goLower(s: string): string {
  return [...s].map((c) => {
    if (c === '\u0130') return 'i'; // unicode.ToLower('İ') is plain 'i' in Go
    const l = c.toLowerCase();
    return [...l].length === 1 ? l : c;
  }).join('');
}

/** goutils.Uncapitalize: lower-case the first letter of every whitespace-separated word. */
function untitle(s: string): string {
  let out = '';
  let atStart = true;
  for (const c of s) {
    if (isGoSpace(c)) {
      atStart = true;
      out += c;
    } else {
      out += atStart ? goLower(c) : c;
      atStart = false;
    }
  }
  return out;
}

/** goutils.SwapCase: upper/title → lower, lower → title after whitespace else upper. */
function swapcase(s: string): string {
  let whitespace = true;
  let out = '';
  for (const c of s) {
    if (isUpperR(c) || /\p{Lt}/u.test(c)) {
      out += goLower(c);
      whitespace = false;
    } else if (/\p{Ll}/u.test(c)) {
      out += whitespace ? toTitleCase(c) : goUpper(c);
      whitespace = false;
    } else {
      out += c;
      whitespace = isGoSpace(c);
    }
  }
  return out;
}

// goutils works on bytes in several places: each byte becomes a rune (Latin-1), so non-ASCII text
// is garbled exactly as werf garbles it. `bin` is the string's bytes as one JS char per byte.
const bin = (s: string) => goBytes(s).toString('latin1');
const unbin = (b: string) => goString(Buffer.from(b, 'latin1'));

/** goutils.Initials (byte-wise). */
function initials(s: string): string {
  let out = '';
  let last = true;
  for (const c of bin(s)) {
    if (isGoSpace(c)) last = true;
    else if (last) {
      out += c;
      last = false;
    }
  }
  return out;
}

/** goutils.DeleteWhiteSpace (byte-wise; unchanged input is returned as is). */
function deleteWhiteSpace(s: string): string {
  const b = bin(s);
  const kept = [...b].filter((c) => !isGoSpace(c));
  return kept.length === b.length ? s : kept.join('');
}

/** goutils.Abbreviate(str, maxWidth) = AbbreviateFull(str, 0, maxWidth). */
function abbreviateFull(str: string, offset: number, maxWidth: number): string {
  return unbin(abbreviateBytes(bin(str), offset, maxWidth));
}

function abbreviateBytes(str: string, offset: number, maxWidth: number): string {
  if (str === '') return '';
  if (maxWidth < 4) return ''; // goutils returns an error and "" (Sprig ignores the error)
  if (str.length <= maxWidth) return str;
  if (offset > str.length) offset = str.length;
  if (str.length - offset < maxWidth - 3) offset = str.length - (maxWidth - 3);
  const abrevMarker = '...';
  if (offset <= 4) return str.slice(0, maxWidth - 3) + abrevMarker;
  if (maxWidth < 7) return '';
  if (offset + maxWidth - 3 < str.length) return abrevMarker + abbreviateBytes(str.slice(offset), 0, maxWidth - 3);
  return abrevMarker + str.slice(str.length - (maxWidth - 3));
}

/** goutils.WrapCustom(str, wrapLength, newLineStr, wrapLongWords). */
function wrapCustom(s: string, wrapLength: number, nl: string, wrapLongWords: boolean): string {
  return unbin(wrapCustomBytes(bin(s), wrapLength, bin(nl), wrapLongWords));
}

function wrapCustomBytes(str: string, wrapLength: number, newLineStr: string, wrapLongWords: boolean): string {
  if (str === '') return '';
  if (newLineStr === '') newLineStr = '\n';
  if (wrapLength < 1) wrapLength = 1;
  const inputLineLength = str.length;
  let offset = 0;
  let wrapped = '';
  while (inputLineLength - offset > wrapLength) {
    if (str[offset] === ' ') {
      offset++;
      continue;
    }
    const end = wrapLength + offset + 1;
    let spaceToWrapAt = str.slice(offset, end).lastIndexOf(' ') + offset;
    if (spaceToWrapAt >= offset) {
      wrapped += str.slice(offset, spaceToWrapAt) + newLineStr;
      offset = spaceToWrapAt + 1;
    } else if (wrapLongWords) {
      const e = wrapLength + offset;
      wrapped += str.slice(offset, e) + newLineStr;
      offset += wrapLength;
    } else {
      const e = wrapLength + offset;
      const idx = str.slice(e).indexOf(' ');
      spaceToWrapAt = idx + e;
      if (idx >= 0) {
        wrapped += str.slice(offset, spaceToWrapAt) + newLineStr;
        offset = spaceToWrapAt + 1;
      } else {
        wrapped += str.slice(offset);
        offset = inputLineLength;
      }
    }
  }
  wrapped += str.slice(offset);
  return wrapped;
}

// xstrings (huandu/xstrings) case conversions, ported rune for rune.
const isUpperR = (c: string) => /\p{Lu}/u.test(c);
const isLetterR = (c: string) => /\p{L}/u.test(c);
const isNumberR = (c: string) => /\p{N}/u.test(c);
const isPunctR = (c: string) => /\p{P}/u.test(c);
const isConnector = (c: string) => c === '-' || c === '_' || isGoSpace(c);
function isAlphabet(c: string): boolean {
  if (!isLetterR(c)) return false;
  const r = c.codePointAt(0)!;
  if (r < 0x3400) return true;
  if (r >= 0x4e00 && r <= 0x9fcc) return false;
  if (r >= 0x3400 && r <= 0x4d85) return false;
  if (r >= 0x20000 && r <= 0x2b81d) return false;
  return true;
}

function camelcase(s: string): string {
  const rs = [...s];
  if (rs.length === 0) return '';
  let out = '';
  let i = 0;
  let r0 = '';
  for (; i < rs.length; ) {
    r0 = rs[i++];
    if (!isConnector(r0)) {
      r0 = goUpper(r0);
      break;
    }
    out += r0;
    r0 = '';
  }
  if (i >= rs.length) return out + r0;
  let r1: string;
  for (; i < rs.length; ) {
    r1 = r0;
    r0 = rs[i++];
    if (isConnector(r0) && isConnector(r1)) {
      out += r1;
      continue;
    }
    if (isConnector(r1)) r0 = goUpper(r0);
    else {
      r0 = goLower(r0);
      out += r1;
    }
  }
  return out + r0;
}

type WordType = 'invalid' | 'number' | 'upper' | 'alpha' | 'connector' | 'punct' | 'other';

/** utf8.RuneError as xstrings sees it: U+FFFD itself or an invalid byte (see bytes.ts). */
const isRuneError = (c: string) => c === '\uFFFD' || hasRawBytes(c);

/** xstrings nextValidRune: the next rune that is not RuneError (`prev` if none) and how many runes it took. */
function nextValidRune(rs: string[], i: number, prev: string): { r: string; size: number } {
  let size = 0;
  for (; i < rs.length; i++) {
    size++;
    if (!isRuneError(rs[i])) return { r: rs[i], size };
  }
  return { r: prev, size };
}

function nextWord(rs: string[], at: number): { wt: WordType; word: string[]; next: number } {
  if (at >= rs.length) return { wt: 'invalid', word: [], next: at };
  let i = at; // start of `remaining`
  let offset = at; // end of the word
  let { r, size } = nextValidRune(rs, i, '\uFFFD');
  offset += size;
  if (isRuneError(r)) return { wt: 'invalid', word: rs.slice(at, offset), next: offset };
  let wt: WordType;
  // a run of runes satisfying `ok` after the first one
  const run = (ok: (c: string) => boolean) => {
    while (i < rs.length) {
      ({ r, size } = nextValidRune(rs, i, r));
      if (!ok(r)) break;
      offset += size;
      i += size;
    }
  };
  if (isConnector(r)) {
    wt = 'connector';
    i += size;
    run(isConnector);
  } else if (isPunctR(r)) {
    wt = 'punct';
    i += size;
    run(isPunctR);
  } else if (isUpperR(r)) {
    wt = 'upper';
    i += size;
    if (i < rs.length) {
      ({ r, size } = nextValidRune(rs, i, r));
      if (isUpperR(r)) {
        let prevSize = size;
        offset += size;
        i += size;
        while (i < rs.length) {
          ({ r, size } = nextValidRune(rs, i, r));
          if (!isUpperR(r)) break;
          prevSize = size;
          offset += size;
          i += size;
        }
        // "HTTPStatus" → "HTTP" + "Status"
        if (i < rs.length && isAlphabet(r)) {
          offset -= prevSize;
          i = offset;
        }
      } else if (isAlphabet(r)) {
        offset += size;
        i += size;
        run((c) => isAlphabet(c) && !isUpperR(c));
      }
    }
  } else if (isAlphabet(r)) {
    wt = 'alpha';
    i += size;
    run((c) => isAlphabet(c) && !isUpperR(c));
  } else if (isNumberR(r)) {
    wt = 'number';
    i += size;
    run(isNumberR);
  } else {
    wt = 'other';
    i += size;
    run((c) => !(isConnector(c) || isAlphabet(c) || isNumberR(c) || isPunctR(c)));
  }
  return { wt, word: rs.slice(at, offset), next: offset };
}

function camelCaseToLowerCaseWithSep(str: string, connector: string): string {
  const rs = [...str];
  if (rs.length === 0) return '';
  let out = '';
  const toLower = (wt: WordType, word: string[]) => {
    if (wt !== 'upper' && wt !== 'connector') {
      out += word.join('');
      return;
    }
    for (const r of goRunes(word.join(''))) out += isConnector(r) ? connector : isUpperR(r) ? goLower(r) : r;
  };
  const st = nextWord(rs, 0);
  const adv = () => Object.assign(st, nextWord(rs, st.next));
  const wt = (): WordType => st.wt;
  while (st.next < rs.length) {
    if (wt() !== 'connector') toLower(wt(), st.word);
    const prev = wt();
    const last = st.word;
    adv();
    switch (prev) {
      case 'number':
        while (wt() === 'alpha' || wt() === 'number') {
          toLower(wt(), st.word);
          adv();
        }
        if (wt() !== 'invalid' && wt() !== 'punct' && wt() !== 'connector') out += connector;
        break;
      case 'connector':
        toLower(prev, last);
        break;
      case 'punct':
        break;
      default: {
        if (wt() !== 'number') {
          if (wt() !== 'connector' && wt() !== 'punct') out += connector;
          break;
        }
        if (st.next >= rs.length) break;
        const last2 = st.word;
        adv();
        if (wt() !== 'alpha') {
          toLower('number', last2);
          if (wt() !== 'connector' && wt() !== 'punct') out += connector;
          break;
        }
        out += connector;
        toLower('number', last2);
        while (wt() === 'alpha' || wt() === 'number') {
          toLower(wt(), st.word);
          adv();
        }
        if (wt() !== 'invalid' && wt() !== 'connector' && wt() !== 'punct') out += connector;
      }
    }
  }
  toLower(wt(), st.word);
  return out;
}

// ---------------- JSON ----------------

class JsonUnsupported extends Error {}

function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c < 0x20) {
      if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch === '\t') out += '\\t';
      else out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (escapeHTML && (ch === '<' || ch === '>' || ch === '&')) out += '\\u00' + c.toString(16);
    else if (c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16);
    else if (c >= 0xdc80 && c <= 0xdcff) out += '\\ufffd'; // encoding/json: invalid UTF-8 → U+FFFD
    else out += ch;
  }
  return out + '"';
}

function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new JsonUnsupported(`json: unsupported value: ${sprintValue(f)}`);
  if (Object.is(f, -0)) return '-0';
  const abs = Math.abs(f);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    let s = f.toExponential();
    s = s.replace(/e([+-])(\d)$/, 'e$10$2');
    // Go: e-07 → e-7 cleanup
    s = s.replace(/e-0(\d)$/, 'e-$1');
    return s;
  }
  return String(f);
}

/** encoding/json Marshal (compact) or MarshalIndent(prefix "", indent). */
export function toJSON(v: Value, indent: string | null, escapeHTML = true): string {
  const enc = (x: Value, depth: number): string => {
    if (x === undefined || x === null) return 'null';
    if (typeof x === 'string') return jsonString(x, escapeHTML);
    if (typeof x === 'boolean') return x ? 'true' : 'false';
    if (typeof x === 'number') return jsonFloat(x);
    if (x instanceof GoInt) return x.v.toString();
    if (x instanceof GoTime) return jsonString(formatLayout(x, '2006-01-02T15:04:05.999999999Z07:00'), escapeHTML);
    const nl = indent === null ? '' : '\n' + indent.repeat(depth + 1);
    const nlEnd = indent === null ? '' : '\n' + indent.repeat(depth);
    const colon = indent === null ? ':' : ': ';
    if (x instanceof GoList) {
      if (x.items.length === 0) return '[]';
      return '[' + x.items.map((i) => nl + enc(i, depth + 1)).join(',') + nlEnd + ']';
    }
    if (x instanceof GoMap) {
      if (x.key !== 'string') throw new JsonUnsupported(`json: unsupported type: ${goTypeName(x)}`);
      if (x.size === 0) return '{}';
      const entries = [...x.m.values()].sort((a, b) => (Buffer.compare(goBytes(a.k as string), goBytes(b.k as string))));
      return '{' + entries.map((e) => nl + jsonString(e.k as string, escapeHTML) + colon + enc(e.v, depth + 1)).join(',') + nlEnd + '}';
    }
    if (x instanceof GoStruct) return x.opts.text !== undefined ? jsonString(x.opts.text, escapeHTML) : '{}'; // MarshalJSON of a Stringer-like value
    throw new JsonUnsupported(`json: unsupported type: ${goTypeName(x)}`);
  };
  return enc(v, 0);
}

/** encoding/json Unmarshal into interface{}: objects → map[string]interface {}, numbers → float64. */
export function fromJSON(s: string): Value {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (e) {
    throw new GoError(jsonSyntaxError(s));
  }
  const conv = (x: unknown): Value => {
    if (x === null) return null;
    if (typeof x === 'string' || typeof x === 'boolean' || typeof x === 'number') return x;
    if (Array.isArray(x)) return new GoList(x.map(conv));
    const m = new GoMap('string', I);
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) m.set(k, conv(v));
    return m;
  };
  return conv(parsed);
}

/** encoding/json's checkValid: the first syntax error, worded as Go's scanner words it. */
function jsonSyntaxError(src: string): string {
  const s = [...src];
  let i = 0;
  class Fail extends Error {}
  const quoteChar = (c: string) => (c === "'" ? "'\\''" : c === '"' ? "'\"'" : "'" + goQuote(c).slice(1, -1) + "'");
  const bad = (c: string, ctx: string): never => {
    throw new Fail(`invalid character ${quoteChar(c)} ${ctx}`);
  };
  const eof = (): never => {
    throw new Fail('unexpected end of JSON input');
  };
  const ws = () => {
    while (i < s.length && ' \t\r\n'.includes(s[i])) i++;
  };
  const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
  // An object or array after its opening bracket: comma-separated members up to `close`.
  const members = (close: string, afterMember: string, member: () => void): void => {
    i++;
    ws();
    if (i >= s.length) eof();
    if (s[i] === close) {
      i++;
      return;
    }
    for (;;) {
      member();
      ws();
      if (i >= s.length) eof();
      if (s[i] === ',') {
        i++;
        continue;
      }
      if (s[i] === close) {
        i++;
        return;
      }
      bad(s[i], afterMember);
    }
  };
  const value = (): void => {
    ws();
    if (i >= s.length) eof();
    const c = s[i];
    if (c === '{') {
      return members('}', 'after object key:value pair', () => {
        ws();
        if (i >= s.length) eof();
        if (s[i] !== '"') bad(s[i], 'looking for beginning of object key string');
        str();
        ws();
        if (i >= s.length) eof();
        if (s[i] !== ':') bad(s[i], 'after object key');
        i++;
        value();
      });
    }
    if (c === '[') return members(']', 'after array element', value);
    if (c === '"') return str();
    if (c === '-' || isDigit(c)) return num();
    for (const lit of ['true', 'false', 'null']) {
      if (c === lit[0]) {
        i++;
        for (let k = 1; k < lit.length; k++) {
          if (i >= s.length) eof();
          if (s[i] !== lit[k]) bad(s[i], `in literal ${lit} (expecting ${quoteChar(lit[k])})`);
          i++;
        }
        return;
      }
    }
    bad(c, 'looking for beginning of value');
  };
  const str = () => {
    i++; // opening quote
    for (;;) {
      if (i >= s.length) eof();
      const c = s[i];
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        i++;
        if (i >= s.length) eof();
        const e = s[i];
        if ('"\\/bfnrt'.includes(e)) {
          i++;
          continue;
        }
        if (e !== 'u') bad(e, 'in string escape code');
        i++;
        for (let k = 0; k < 4; k++) {
          if (i >= s.length) eof();
          if (!/[0-9a-fA-F]/.test(s[i])) bad(s[i], 'in \\u hexadecimal character escape');
          i++;
        }
        continue;
      }
      if (c.codePointAt(0)! < 0x20) bad(c, 'in string literal');
      i++;
    }
  };
  const num = () => {
    if (s[i] === '-') {
      i++;
      if (i >= s.length) eof();
      if (!isDigit(s[i])) bad(s[i], 'in numeric literal');
    }
    if (s[i] === '0') i++;
    else while (isDigit(s[i])) i++;
    if (s[i] === '.') {
      i++;
      if (i >= s.length) eof();
      if (!isDigit(s[i])) bad(s[i], 'after decimal point in numeric literal');
      while (isDigit(s[i])) i++;
    }
    if (s[i] === 'e' || s[i] === 'E') {
      i++;
      if (s[i] === '+' || s[i] === '-') i++;
      if (i >= s.length) eof();
      if (!isDigit(s[i])) bad(s[i], 'in exponent of numeric literal');
      while (isDigit(s[i])) i++;
    }
  };
  try {
    value();
    ws();
    if (i < s.length) bad(s[i], 'after top-level value');
  } catch (e) {
    if (e instanceof Fail) return e.message;
    throw e;
  }
  return 'invalid JSON input';
}

// ---------------- maps (mergo) ----------------

function mergoMerge(dst: GoMap, src: GoMap, overwrite: boolean) {
  // imdario/mergo as Sprig uses it: nested maps merge; a non-empty destination is never replaced by
  // a map; with overwrite every other source value (even empty or nil) wins.
  for (const e of src.m.values()) {
    const k = e.k;
    const sv = e.v;
    const has = dst.has(k);
    const dv = dst.get(k);
    if (sv instanceof GoMap && dv instanceof GoMap) {
      mergoMerge(dv, sv, overwrite);
      continue;
    }
    if (has && !empty(dv) && sv instanceof GoMap) continue;
    if (sv === null || sv === undefined) {
      if (overwrite && has) dst.set(k, null);
      continue;
    }
    if (overwrite || !has || empty(dv)) dst.set(k, sv);
  }
}

// ---------------- dates ----------------

function nowTime(): GoTime {
  const ms = Date.now();
  return new GoTime(ms, 0, 'Local');
}

/** Sprig's dateInZone input: a time, or unix seconds as int/int64/int32; anything else means now. */
function toGoTime(v: Value, kinds = ['int', 'int64', 'int32']): GoTime {
  if (v instanceof GoTime) return v;
  if (v instanceof GoInt && kinds.includes(v.kind)) return new GoTime(Number(v.v) * 1000, 0, 'Local');
  return nowTime();
}

/** time.LoadLocation: "" and "UTC" are UTC, "Local" the process zone, unknown names fall back to UTC. */
function inZone(t: GoTime, zone: string): GoTime {
  if (zone === 'UTC' || zone === '') return new GoTime(t.ms, t.nanos, 'UTC');
  if (zone === 'Local') return new GoTime(t.ms, t.nanos, 'Local');
  return new GoTime(t.ms, t.nanos, validZone(zone) ? zone : 'UTC');
}

function parseGoDuration(s: string): bigint | null {
  // returns nanoseconds
  if (s === '0') return 0n;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '') return null;
  const units: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  const re = /^(\d*\.?\d*)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/;
  while (s.length > 0) {
    const m = re.exec(s);
    if (!m || m[1] === '' || m[1] === '.') return null;
    total += Number(m[1]) * units[m[2]];
    s = s.slice(m[0].length);
  }
  return BigInt(Math.round(neg ? -total : total));
}

/** time.Duration.String(). */
function durationString(ns: bigint): string {
  if (ns === 0n) return '0s';
  const sign = ns < 0n ? '-' : '';
  const u = ns < 0n ? -ns : ns;
  if (u < 1000n) return sign + u.toString() + 'ns';
  if (u < 1000000n) return sign + fracString(u, 3) + 'µs';
  if (u < 1000000000n) return sign + fracString(u, 6) + 'ms';
  const minute = 60000000000n;
  let out = fracString(u % minute, 9) + 's';
  const mins = u / minute;
  if (mins > 0n) {
    out = (mins % 60n).toString() + 'm' + out;
    if (mins >= 60n) out = (mins / 60n).toString() + 'h' + out;
  }
  return sign + out;
}

function fracString(u: bigint, prec: number): string {
  const p = 10n ** BigInt(prec);
  const whole = u / p;
  const frac = u % p;
  const f = frac === 0n ? '' : '.' + frac.toString().padStart(prec, '0').replace(/0+$/, '');
  return whole.toString() + f;
}

// ---------------- the map ----------------

export function sprigFuncs(): Map<string, GoFunc> {
  const m = new Map<string, GoFunc>();
  const def = (name: string, params: string[], fn: (...a: Value[]) => Value, ret: string, variadic?: string) =>
    m.set(name, new GoFunc(name, params, fn, { ret, variadic }));
  const S = 'string';
  const str = (x: Value) => x as string;
  const num = (x: Value) => Number((x as GoInt).v);

  // dates
  def('now', [], () => nowTime(), 'time.Time');
  def('date', [S, I], (f, d) => formatLayout(inZone(toGoTime(d), 'Local'), str(f)), S);
  const dateInZone = (f: Value, d: Value, z: Value) => formatLayout(inZone(toGoTime(d), str(z)), str(f));
  def('dateInZone', [S, I, S], dateInZone, S);
  def('date_in_zone', [S, I, S], dateInZone, S);
  def('htmlDate', [I], (d) => formatLayout(inZone(toGoTime(d), 'Local'), '2006-01-02'), S);
  def('htmlDateInZone', [I, S], (d, z) => formatLayout(inZone(toGoTime(d), str(z)), '2006-01-02'), S);
  def('unixEpoch', ['time.Time'], (t) => String(Math.floor((t as GoTime).ms / 1000)), S);
  // Sprig's duration only understands a string or an int64 (anything else, even an int, is 0).
  def('duration', [I], (v) => {
    let n = 0n;
    if (typeof v === 'string') n = /^[+-]?\d+$/.test(v) ? BigInt(v) : 0n;
    else if (v instanceof GoInt && v.kind === 'int64') n = v.v;
    return durationString(n * 1000000000n);
  }, S);
  const dateModify = (fmt: Value, d: Value, must: boolean) => {
    const ns = parseGoDuration(str(fmt));
    const t = d as GoTime;
    if (ns === null) {
      if (must) throw new GoError(`time: invalid duration ${goQuote(str(fmt))}`);
      return t;
    }
    const totalNs = BigInt(Math.round(t.ms)) * 1000000n + BigInt(t.nanos) + ns;
    const ms = Number(totalNs / 1000000n);
    return new GoTime(ms, Number(totalNs % 1000000n), t.zone);
  };
  def('dateModify', [S, 'time.Time'], (f, d) => dateModify(f, d, false), 'time.Time');
  def('date_modify', [S, 'time.Time'], (f, d) => dateModify(f, d, false), 'time.Time');
  def('mustDateModify', [S, 'time.Time'], (f, d) => dateModify(f, d, true), 'time.Time');
  def('must_date_modify', [S, 'time.Time'], (f, d) => dateModify(f, d, true), 'time.Time');
  def('toDate', [S, S], (f, v) => {
    try {
      return parseLayout(str(f), str(v), 'Local');
    } catch {
      return zeroTime();
    }
  }, 'time.Time');
  def('mustToDate', [S, S], (f, v) => {
    try {
      return parseLayout(str(f), str(v), 'Local');
    } catch (e) {
      throw new GoError((e as Error).message);
    }
  }, 'time.Time');
  def('durationRound', [I], (v) => {
    let d = 0n;
    if (typeof v === 'string') d = parseGoDuration(v) ?? 0n;
    else if (v instanceof GoInt && v.kind === 'int64') d = v.v;
    else if (v instanceof GoTime) d = BigInt(Date.now() - v.ms) * 1000000n;
    let u = d < 0n ? -d : d;
    u = BigInt.asUintN(64, u);
    const hour = 3600n * 1000000000n;
    const units: [bigint, string][] = [[hour * 24n * 365n, 'y'], [hour * 24n * 30n, 'mo'], [hour * 24n, 'd'], [hour, 'h'], [60n * 1000000000n, 'm'], [1000000000n, 's']];
    for (const [size, suffix] of units) if (u > size) return (u / size).toString() + suffix;
    return '0s';
  }, S);
  def('ago', [I], (d) => {
    const t = toGoTime(d, ['int', 'int64']);
    const ns = BigInt(Date.now() - t.ms) * 1000000n;
    return durationString((ns / 1000000000n) * 1000000000n);
  }, S);

  // strings
  def('hello', [], () => 'Hello!', S);
  def('abbrev', ['int', S], (w, s) => (num(w) < 4 ? str(s) : abbreviateFull(str(s), 0, num(w))), S);
  def('abbrevboth', ['int', 'int', S], (l, r, s) => {
    const left = num(l);
    const right = num(r);
    if (right < 4 || (left > 0 && right < 7)) return str(s);
    return abbreviateFull(str(s), left, right);
  }, S);
  def('trunc', ['int', S], (c, s) => {
    const n = num(c);
    const b = goBytes(str(s));
    if (n < 0 && b.length + n > 0) return goString(b.subarray(b.length + n));
    if (n >= 0 && b.length > n) return goString(b.subarray(0, n));
    return str(s);
  }, S);
  def('trim', [S], (s) => goTrimSpace(str(s)), S);
  def('upper', [S], (s) => goUpper(goRunes(str(s))), S);
  def('lower', [S], (s) => goLower(goRunes(str(s))), S);
  def('title', [S], (s) => goTitle(goRunes(str(s))), S);
  def('untitle', [S], (s) => untitle(goRunes(str(s))), S);
  def('substr', ['int', 'int', S], (a, b, s) => {
    const start = num(a);
    const end = num(b);
    const len = goByteLength(str(s));
    if (start < 0) return byteSlice(str(s), 0, end);
    if (end < 0 || end > len) return byteSlice(str(s), start, len);
    return byteSlice(str(s), start, end);
  }, S);
  def('repeat', ['int', S], (c, s) => {
    const n = num(c);
    if (n < 0) throw new GoError('strings: negative Repeat count');
    return str(s).repeat(n);
  }, S);
  def('trimall', [S, S], (a, b) => goTrim(str(b), str(a)), S);
  def('trimAll', [S, S], (a, b) => goTrim(str(b), str(a)), S);
  def('trimSuffix', [S, S], (a, b) => (str(a) !== '' && str(b).endsWith(str(a)) ? str(b).slice(0, str(b).length - str(a).length) : str(b)), S);
  def('trimPrefix', [S, S], (a, b) => (str(b).startsWith(str(a)) ? str(b).slice(str(a).length) : str(b)), S);
  def('nospace', [S], (s) => deleteWhiteSpace(str(s)), S);
  def('initials', [S], (s) => initials(str(s)), S);
  const rand = (alphabet: string) => (c: Value) => {
    const n = num(c);
    if (n < 0) return '';
    let out = '';
    for (let i = 0; i < n; i++) out += alphabet[crypto.randomInt(alphabet.length)];
    return out;
  };
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  def('randAlphaNum', ['int'], rand(letters + '0123456789'), S);
  def('randAlpha', ['int'], rand(letters), S);
  def('randAscii', ['int'], rand(Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i)).join('')), S);
  def('randNumeric', ['int'], rand('0123456789'), S);
  def('swapcase', [S], (s) => swapcase(goRunes(str(s))), S);
  def('shuffle', [S], (s) => {
    const a = [...str(s)];
    for (let i = a.length - 1; i > 0; i--) {
      const j = crypto.randomInt(i + 1);
      [a[i], a[j]] = [a[j], a[i]];
    }
    return a.join('');
  }, S);
  def('snakecase', [S], (s) => camelCaseToLowerCaseWithSep(str(s), '_'), S);
  def('kebabcase', [S], (s) => camelCaseToLowerCaseWithSep(str(s), '-'), S);
  def('camelcase', [S], (s) => camelcase(goRunes(str(s))), S);
  def('wrap', ['int', S], (l, s) => wrapCustom(str(s), num(l), '\n', false), S);
  def('wrapWith', ['int', S, S], (l, sep, s) => wrapCustom(str(s), num(l), str(sep), true), S);
  def('contains', [S, S], (sub, s) => str(s).includes(str(sub)), 'bool');
  def('hasPrefix', [S, S], (sub, s) => str(s).startsWith(str(sub)), 'bool');
  def('hasSuffix', [S, S], (sub, s) => str(s).endsWith(str(sub)), 'bool');
  def('quote', [], (...a) => a.filter((x) => x !== null && x !== undefined).map((x) => goQuote(strval(x))).join(' '), S, I);
  def('squote', [], (...a) => a.filter((x) => x !== null && x !== undefined).map((x) => `'${sprintValue(x)}'`).join(' '), S, I);
  def('cat', [], (...a) => a.filter((x) => x !== null && x !== undefined).map((x) => sprintValue(x)).join(' '), S, I);
  const indent = (n: number, v: string) => {
    const pad = ' '.repeat(Math.max(n, 0));
    return pad + v.split('\n').join('\n' + pad);
  };
  def('indent', ['int', S], (n, v) => indent(num(n), str(v)), S);
  def('nindent', ['int', S], (n, v) => '\n' + indent(num(n), str(v)), S);
  def('replace', [S, S, S], (o, n, s) => goReplaceAll(str(s), str(o), str(n)), S);
  def('plural', [S, S, 'int'], (one, many, c) => (num(c) === 1 ? one : many), S);
  def('sha1sum', [S], (s) => crypto.createHash('sha1').update(goBytes(str(s))).digest('hex'), S);
  def('sha256sum', [S], (s) => crypto.createHash('sha256').update(goBytes(str(s))).digest('hex'), S);
  def('adler32sum', [S], (s) => String(adler32(str(s))), S);
  def('toString', [I], (v) => strval(v), S);
  def('atoi', [S], (a) => {
    const s = str(a);
    const mm = /^[+-]?\d+$/.exec(s);
    if (!mm) return int(0);
    const v = BigInt(s);
    if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return int(v > 0n ? 2n ** 63n - 1n : -(2n ** 63n));
    return int(v);
  }, 'int');
  def('int64', [I], (v) => new GoInt(toInt64(v), 'int64'), 'int64');
  def('int', [I], (v) => new GoInt(toInt64(v), 'int'), 'int');
  def('float64', [I], (v) => toFloat64(v), 'float64');
  def('seq', [], (...p) => seq(p.map((x) => num(x))), S, 'int');
  def('toDecimal', [I], (v) => {
    const s = sprintValue(v);
    const mm = /^[+-]?[0-7]+$/.exec(s);
    if (!mm) return int(0, 'int64');
    const mag = BigInt('0o' + s.replace(/^[+-]/, ''));
    if (mag > 2n ** 63n - (s.startsWith('-') ? 0n : 1n)) return int(0, 'int64'); // strconv range error → 0
    return new GoInt(s.startsWith('-') ? -mag : mag, 'int64');
  }, 'int64');
  def('split', [S, S], (sep, orig) => {
    const res = new GoMap('string', 'string');
    goSplit(str(orig), str(sep), -1).forEach((p, i) => res.set('_' + i, p));
    return res;
  }, 'map[string]string');
  def('splitList', [S, S], (sep, orig) => new GoList(goSplit(str(orig), str(sep), -1), 'string'), '[]string');
  def('splitn', [S, 'int', S], (sep, n, orig) => {
    const res = new GoMap('string', 'string');
    goSplit(str(orig), str(sep), num(n)).forEach((p, i) => res.set('_' + i, p));
    return res;
  }, 'map[string]string');
  def('toStrings', [I], (v) => strslice(v), '[]string');
  def('until', ['int'], (c) => new GoList(untilStep(0, num(c), num(c) < 0 ? -1 : 1).map((i) => int(i)), 'int'), '[]int');
  def('untilStep', ['int', 'int', 'int'], (a, b, c) => new GoList(untilStep(num(a), num(b), num(c)).map((i) => int(i)), 'int'), '[]int');

  // math
  const i64 = (v: bigint) => new GoInt(wrap64(v), 'int64');
  def('add1', [I], (i) => i64(toInt64(i) + 1n), 'int64');
  def('add', [], (...a) => i64(a.reduce((acc: bigint, b) => acc + toInt64(b), 0n)), 'int64', I);
  def('sub', [I, I], (a, b) => i64(toInt64(a) - toInt64(b)), 'int64');
  def('div', [I, I], (a, b) => {
    const d = toInt64(b);
    if (d === 0n) throw new GoError('runtime error: integer divide by zero');
    return i64(toInt64(a) / d);
  }, 'int64');
  def('mod', [I, I], (a, b) => {
    const d = toInt64(b);
    if (d === 0n) throw new GoError('runtime error: integer divide by zero');
    return i64(toInt64(a) % d);
  }, 'int64');
  def('mul', [I], (a, ...v) => i64(v.reduce((acc: bigint, b) => wrap64(acc * toInt64(b)), toInt64(a))), 'int64', I);
  def('randInt', ['int', 'int'], (a, b) => {
    const lo = num(a);
    const hi = num(b);
    if (hi - lo <= 0) throw new GoError('invalid argument to Intn');
    return int(lo + crypto.randomInt(hi - lo));
  }, 'int');
  // shopspring/decimal: exact decimal arithmetic on the floats' shortest forms, division to 16 places
  const decOp = (a: Value, b: Value[], f: (x: Dec, y: Dec) => Dec) =>
    decToFloat(b.reduce((acc: Dec, x) => f(acc, decFromFloat(toFloat64(x))), decFromFloat(toFloat64(a))));
  def('add1f', [I], (i) => decOp(i, [int(1)], decAdd), 'float64');
  def('addf', [], (...i) => decOp(0, i, decAdd), 'float64', I);
  def('subf', [I], (a, ...v) => decOp(a, v, (x, y) => decAdd(x, { c: -y.c, e: y.e })), 'float64', I);
  def('divf', [I], (a, ...v) => decOp(a, v, decDiv), 'float64', I);
  def('mulf', [I], (a, ...v) => decOp(a, v, (x, y) => ({ c: x.c * y.c, e: x.e + y.e })), 'float64', I);
  const maxI = (a: Value, ...i: Value[]) => i64(i.reduce((acc: bigint, b) => (toInt64(b) > acc ? toInt64(b) : acc), toInt64(a)));
  def('biggest', [I], maxI, 'int64', I);
  def('max', [I], maxI, 'int64', I);
  def('min', [I], (a, ...i) => i64(i.reduce((acc: bigint, b) => (toInt64(b) < acc ? toInt64(b) : acc), toInt64(a))), 'int64', I);
  def('maxf', [I], (a, ...i) => i.reduce((acc: number, b) => goMax(acc, toFloat64(b)), toFloat64(a)), 'float64', I);
  def('minf', [I], (a, ...i) => i.reduce((acc: number, b) => goMin(acc, toFloat64(b)), toFloat64(a)), 'float64', I);
  def('ceil', [I], (a) => Math.ceil(toFloat64(a)), 'float64');
  def('floor', [I], (a) => Math.floor(toFloat64(a)), 'float64');
  def('round', [I, 'int'], (a, p, ...r) => {
    const roundOn = r.length > 0 ? (r[0] as number) : 0.5;
    const val = toFloat64(a);
    const pow = Math.pow(10, num(p));
    const digit = pow * val;
    const frac = digit - Math.trunc(digit);
    const rounded = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
    return rounded / pow;
  }, 'float64', 'float64');

  // lists
  def('join', [S, I], (sep, v) => strslice(v).items.join(str(sep)), S);
  def('sortAlpha', [I], (v) => {
    if (v instanceof GoList) {
      const a = [...strslice(v).items] as string[];
      a.sort((x, y) => Buffer.compare(goBytes(x), goBytes(y)));
      return new GoList(a, 'string');
    }
    return new GoList([strval(v)], 'string');
  }, '[]string');
  def('default', [I], (d, ...given) => (given.length === 0 || empty(given[0]) ? d : given[0]), I, I);
  def('empty', [I], (v) => empty(v), 'bool');
  def('coalesce', [], (...v) => {
    for (const x of v) if (!empty(x)) return x;
    return null;
  }, I, I);
  def('all', [], (...v) => v.every((x) => !empty(x)), 'bool', I);
  def('any', [], (...v) => v.some((x) => !empty(x)), 'bool', I);
  const compact = (l: Value, must: boolean) => {
    try {
      return new GoList(listItems(l, 'Cannot compact on type').filter((x) => !empty(x)));
    } catch (e) {
      if (must && e instanceof GoError && !e.message.startsWith('runtime')) throw e;
      throw e;
    }
  };
  def('compact', [I], (l) => compact(l, false), '[]interface {}');
  def('mustCompact', [I], (l) => compact(l, true), '[]interface {}');
  def('fromJson', [S], (s) => {
    try {
      return fromJSON(str(s));
    } catch {
      return null;
    }
  }, I);
  def('mustFromJson', [S], (s) => fromJSON(str(s)), I);
  const toJsonSafe = (v: Value, indent: string | null) => {
    try {
      return toJSON(v, indent);
    } catch {
      return '';
    }
  };
  def('toJson', [I], (v) => toJsonSafe(v, null), S);
  def('toPrettyJson', [I], (v) => toJsonSafe(v, '  '), S);
  def('toRawJson', [I], (v) => toJSON(v, null, false), S);
  def('mustToJson', [I], (v) => toJSON(v, null), S);
  def('mustToPrettyJson', [I], (v) => toJSON(v, '  '), S);
  def('mustToRawJson', [I], (v) => toJSON(v, null, false), S);
  def('ternary', [I, I, 'bool'], (t, f, c) => (c ? t : f), I);
  def('deepCopy', [I], (v) => deepCopy(v), I);
  def('mustDeepCopy', [I], (v) => deepCopy(v), I);
  def('typeOf', [I], (v) => goTypeName(v), S);
  def('typeIs', [S, I], (t, v) => str(t) === goTypeName(v), 'bool');
  def('typeIsLike', [S, I], (t, v) => str(t) === goTypeName(v) || '*' + str(t) === goTypeName(v), 'bool');
  def('kindOf', [I], (v) => goKindName(v), S);
  def('kindIs', [S, I], (t, v) => str(t) === goKindName(v), 'bool');
  def('deepEqual', [I, I], (a, b) => deepEqual(a, b), 'bool');
  // `env` is replaced by werf's; `expandenv` is removed by werf.
  def('getHostByName', [S], () => {
    throw new GoError('getHostByName is not supported by Stapelkit (it makes the config depend on DNS)');
  }, S);

  // paths
  def('base', [S], (p) => pathBase(str(p)), S);
  def('dir', [S], (p) => pathDir(str(p)), S);
  def('clean', [S], (p) => cleanPath(str(p)), S);
  def('ext', [S], (p) => pathExt(str(p)), S);
  def('isAbs', [S], (p) => str(p).startsWith('/'), 'bool');
  def('osBase', [S], (p) => pathBase(str(p)), S);
  def('osClean', [S], (p) => cleanPath(str(p)), S);
  def('osDir', [S], (p) => pathDir(str(p)), S);
  def('osExt', [S], (p) => pathExt(str(p)), S);
  def('osIsAbs', [S], (p) => str(p).startsWith('/'), 'bool');

  // encoding
  def('b64enc', [S], (s) => goBytes(str(s)).toString('base64'), S);
  def('b64dec', [S], (s) => b64decode(str(s)), S);
  def('b32enc', [S], (s) => base32encode(goBytes(str(s))), S);
  def('b32dec', [S], (s) => base32decode(str(s)), S);

  // data structures
  const listFn = (...v: Value[]) => new GoList(v);
  def('tuple', [], listFn, '[]interface {}', I);
  def('list', [], listFn, '[]interface {}', I);
  def('dict', [], (...v) => {
    const d = new GoMap('string', I);
    for (let i = 0; i < v.length; i += 2) {
      const k = strval(v[i]);
      d.set(k, i + 1 >= v.length ? '' : v[i + 1]);
    }
    return d;
  }, 'map[string]interface {}', I);
  const MSI = 'map[string]interface {}';
  def('get', [MSI, S], (d, k) => (d instanceof GoMap && d.has(str(k)) ? d.get(str(k)) : ''), I);
  def('set', [MSI, S, I], (d, k, v) => {
    if (!(d instanceof GoMap)) throw new GoError('assignment to entry in nil map');
    d.set(str(k), v);
    return d;
  }, MSI);
  def('unset', [MSI, S], (d, k) => {
    if (d instanceof GoMap) d.delete(str(k));
    return d;
  }, MSI);
  def('hasKey', [MSI, S], (d, k) => d instanceof GoMap && d.has(str(k)), 'bool');
  def('pluck', [S], (k, ...ds) => new GoList(ds.filter((d) => d instanceof GoMap && d.has(str(k))).map((d) => (d as GoMap).get(str(k)))), '[]interface {}', MSI);
  def('keys', [], (...ds) => new GoList(ds.flatMap((d) => (d instanceof GoMap ? d.sorted().map((e) => e.k) : [])), 'string'), '[]string', MSI);
  def('pick', [MSI], (d, ...ks) => {
    const res = new GoMap('string', I);
    for (const k of ks) if (d instanceof GoMap && d.has(str(k))) res.set(str(k), d.get(str(k)));
    return res;
  }, MSI, S);
  def('omit', [MSI], (d, ...ks) => {
    const res = new GoMap('string', I);
    const omit = new Set(ks.map(str));
    if (d instanceof GoMap) for (const e of d.m.values()) if (!omit.has(e.k as string)) res.set(e.k, e.v);
    return res;
  }, MSI, S);
  const merge = (overwrite: boolean) => (dst0: Value, ...srcs: Value[]) => {
    // a nil destination map is created by mergo
    const dst = dst0 instanceof GoMap ? dst0 : new GoMap('string', I);
    for (const s of srcs) if (s instanceof GoMap) mergoMerge(dst, s, overwrite);
    return dst;
  };
  def('merge', [MSI], merge(false), I, MSI);
  def('mergeOverwrite', [MSI], merge(true), I, MSI);
  def('mustMerge', [MSI], merge(false), I, MSI);
  def('mustMergeOverwrite', [MSI], merge(true), I, MSI);
  def('values', [MSI], (d) => new GoList(d instanceof GoMap ? d.sorted().map((e) => e.v) : []), '[]interface {}');
  const push = (l: Value, v: Value) => new GoList([...listItems(l, 'Cannot push on type'), v]);
  def('append', [I, I], push, '[]interface {}');
  def('push', [I, I], push, '[]interface {}');
  def('mustAppend', [I, I], push, '[]interface {}');
  def('mustPush', [I, I], push, '[]interface {}');
  const prepend = (l: Value, v: Value) => new GoList([v, ...listItems(l, 'Cannot prepend on type')]);
  def('prepend', [I, I], prepend, '[]interface {}');
  def('mustPrepend', [I, I], prepend, '[]interface {}');
  const first = (l: Value) => {
    const it = listItems(l, 'Cannot find first on type');
    return it.length === 0 ? null : it[0];
  };
  def('first', [I], first, I);
  def('mustFirst', [I], first, I);
  const last = (l: Value) => {
    const it = listItems(l, 'Cannot find last on type');
    return it.length === 0 ? null : it[it.length - 1];
  };
  def('last', [I], last, I);
  def('mustLast', [I], last, I);
  const rest = (l: Value) => new GoList(listItems(l, 'Cannot find rest on type').slice(1));
  def('rest', [I], rest, '[]interface {}');
  def('mustRest', [I], rest, '[]interface {}');
  const initial = (l: Value) => new GoList(listItems(l, 'Cannot find initial on type').slice(0, -1));
  def('initial', [I], initial, '[]interface {}');
  def('mustInitial', [I], initial, '[]interface {}');
  const reverse = (l: Value) => new GoList([...listItems(l, 'Cannot find reverse on type')].reverse());
  def('reverse', [I], reverse, '[]interface {}');
  def('mustReverse', [I], reverse, '[]interface {}');
  const uniq = (l: Value) => {
    const dest: Value[] = [];
    for (const x of listItems(l, 'Cannot find uniq on type')) if (!dest.some((d) => deepEqual(x, d))) dest.push(x);
    return new GoList(dest);
  };
  def('uniq', [I], uniq, '[]interface {}');
  def('mustUniq', [I], uniq, '[]interface {}');
  const without = (l: Value, ...omit: Value[]) => new GoList(listItems(l, 'Cannot find without on type').filter((x) => !omit.some((o) => deepEqual(x, o))));
  def('without', [I], without, '[]interface {}', I);
  def('mustWithout', [I], without, '[]interface {}', I);
  const has = (needle: Value, hay: Value) => {
    if (hay === null || hay === undefined) return false;
    return listItems(hay, 'Cannot find has on type').some((x) => deepEqual(needle, x));
  };
  def('has', [I, I], has, 'bool');
  def('mustHas', [I, I], has, 'bool');
  const slice = (l: Value, ...ix: Value[]) => {
    if (!(l instanceof GoList)) {
      if (l === null || l === undefined) throw new GoError('runtime error: invalid memory address or nil pointer dereference');
      throw new GoError(`list should be type of slice or array but ${goKindName(l)}`);
    }
    const n = l.items.length;
    if (n === 0) return null;
    const start = ix.length > 0 ? Number(toInt64(ix[0])) : 0;
    const end = ix.length < 2 ? n : Number(toInt64(ix[1]));
    if (start < 0 || end > n || start > end) throw new GoError('reflect.Value.Slice: slice index out of bounds');
    return new GoList(l.items.slice(start, end), l.elem);
  };
  def('slice', [I], slice, I, I);
  def('mustSlice', [I], slice, I, I);
  def('concat', [], (...lists) => {
    const res: Value[] = [];
    for (const l of lists) {
      if (!(l instanceof GoList)) {
        if (l === null || l === undefined) throw new GoError('runtime error: invalid memory address or nil pointer dereference');
        throw new GoError(`Cannot concat type ${goKindName(l)} as list`);
      }
      res.push(...l.items);
    }
    return new GoList(res);
  }, I, I);
  def('dig', [], (...ps) => {
    if (ps.length < 3) throw new GoError('dig needs at least three arguments');
    let dict = ps[ps.length - 1];
    const d = ps[ps.length - 2];
    const ks = ps.slice(0, -2);
    const convName = (v: Value) => (v === null || v === undefined ? 'nil' : goTypeName(v));
    if (!(dict instanceof GoMap) || dict.key !== 'string') throw new GoError(`interface conversion: interface {} is ${convName(dict)}, not map[string]interface {}`);
    for (let i = 0; i < ks.length; i++) {
      if (typeof ks[i] !== 'string') throw new GoError(`interface conversion: interface {} is ${convName(ks[i])}, not string`);
      const k = ks[i] as string;
      if (!dict.has(k)) return d;
      const step: Value = dict.get(k);
      if (i === ks.length - 1) return step;
      if (!(step instanceof GoMap) || step.key !== 'string') throw new GoError(`interface conversion: interface {} is ${convName(step)}, not map[string]interface {}`);
      dict = step;
    }
    return d;
  }, I, I);
  const chunk = (size: Value, l: Value) => {
    const items = listItems(l, 'Cannot chunk type');
    const n = num(size);
    const out: Value[] = [];
    for (let i = 0; i < items.length; i += n) out.push(new GoList(items.slice(i, i + n)));
    return new GoList(out, '[]interface {}');
  };
  def('chunk', ['int', I], chunk, '[][]interface {}');
  def('mustChunk', ['int', I], chunk, '[][]interface {}');

  // crypto (deterministic subset)
  def('bcrypt', [S], () => {
    throw new GoError('bcrypt is not supported by Stapelkit');
  }, S);
  def('htpasswd', [S, S], () => {
    throw new GoError('htpasswd is not supported by Stapelkit');
  }, S);
  def('derivePassword', ['uint32', S, S, S, S], () => {
    throw new GoError('derivePassword is not supported by Stapelkit');
  }, S);
  // Certificate generation is random by nature and not available in Stapelkit: say so at call time.
  for (const name of ['genPrivateKey', 'genCA', 'genCAWithKey', 'genSelfSignedCert', 'genSelfSignedCertWithKey', 'genSignedCert', 'genSignedCertWithKey', 'buildCustomCert']) {
    m.set(name, new GoFunc(name, [], () => {
      throw new GoError(`${name} is not supported by Stapelkit`);
    }, { variadic: I, ret: I }));
  }
  def('randBytes', ['int'], (c) => crypto.randomBytes(Math.max(0, num(c))).toString('base64'), S);
  def('uuidv4', [], () => crypto.randomUUID(), S);
  def('encryptAES', [S, S], () => {
    throw new GoError('encryptAES is not supported by Stapelkit');
  }, S);
  def('decryptAES', [S, S], () => {
    throw new GoError('decryptAES is not supported by Stapelkit');
  }, S);

  // semver
  def('semver', [S], (v) => semverParse(str(v)), '*semver.Version');
  def('semverCompare', [S, S], (c, v) => semverCompare(str(c), str(v)), 'bool');
  def('fail', [S], (msg) => {
    throw new GoError(str(msg));
  }, S);

  // regex
  const re = (pattern: string, must: boolean): GoRegexp => compileGoRegexp(pattern, must);
  def('regexMatch', [S, S], (r, s) => {
    try {
      return re(str(r), false).test(str(s));
    } catch {
      return false;
    }
  }, 'bool');
  def('mustRegexMatch', [S, S], (r, s) => re(str(r), false).test(str(s)), 'bool');
  const findAll = (must: boolean) => (r: Value, s: Value, n: Value) => new GoList(goRegexFindAll(re(str(r), !must), str(s), num(n)).map((mm) => str(s).slice(mm[0], mm[1])), 'string');
  def('regexFindAll', [S, S, 'int'], findAll(false), '[]string');
  def('mustRegexFindAll', [S, S, 'int'], findAll(true), '[]string');
  const find = (must: boolean) => (r: Value, s: Value) => {
    const mm = goRegexFindAll(re(str(r), !must), str(s), 1);
    return mm.length ? str(s).slice(mm[0][0], mm[0][1]) : '';
  };
  def('regexFind', [S, S], find(false), S);
  def('mustRegexFind', [S, S], find(true), S);
  def('regexReplaceAll', [S, S, S], (r, s, repl) => goRegexReplaceAll(re(str(r), true), str(s), str(repl), false), S);
  def('mustRegexReplaceAll', [S, S, S], (r, s, repl) => goRegexReplaceAll(re(str(r), false), str(s), str(repl), false), S);
  def('regexReplaceAllLiteral', [S, S, S], (r, s, repl) => goRegexReplaceAll(re(str(r), true), str(s), str(repl), true), S);
  def('mustRegexReplaceAllLiteral', [S, S, S], (r, s, repl) => goRegexReplaceAll(re(str(r), false), str(s), str(repl), true), S);
  def('regexSplit', [S, S, 'int'], (r, s, n) => new GoList(goRegexSplit(re(str(r), true), str(s), num(n)), 'string'), '[]string');
  def('mustRegexSplit', [S, S, 'int'], (r, s, n) => new GoList(goRegexSplit(re(str(r), false), str(s), num(n)), 'string'), '[]string');
  def('regexQuoteMeta', [S], (s) => goQuoteMeta(str(s)), S);

  // url
  def('urlParse', [S], (s) => urlParse(str(s)), 'map[string]interface {}');
  def('urlJoin', [MSI], (d) => urlJoin(d as GoMap | null), S);
  return m;
}

function goMax(a: number, b: number): number {
  if (a === Infinity || b === Infinity) return Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.max(a, b);
}
function goMin(a: number, b: number): number {
  if (a === -Infinity || b === -Infinity) return -Infinity;
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return Math.min(a, b);
}

/** A decimal c × 10^e (shopspring/decimal's model). */
interface Dec {
  c: bigint;
  e: number;
}

function decFromFloat(f: number): Dec {
  if (!Number.isFinite(f)) throw new GoError(`Cannot create a Decimal from ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
  const [m, ex] = f.toExponential().split('e');
  const neg = m.startsWith('-');
  const digits = m.replace('-', '').replace('.', '');
  const frac = (m.split('.')[1] ?? '').length;
  const c = BigInt(digits) * (neg ? -1n : 1n);
  return { c, e: Number(ex) - frac };
}

function decAdd(a: Dec, b: Dec): Dec {
  const e = Math.min(a.e, b.e);
  return { c: a.c * 10n ** BigInt(a.e - e) + b.c * 10n ** BigInt(b.e - e), e };
}

function decDiv(a: Dec, b: Dec): Dec {
  if (b.c === 0n) throw new GoError('decimal division by 0');
  const prec = 16;
  const k = a.e - b.e + prec;
  let num = a.c;
  let den = b.c;
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  let q = num / den;
  const r = num % den;
  // round half away from zero
  if (2n * (r < 0n ? -r : r) >= den) q += num < 0n ? -1n : 1n;
  return { c: q, e: -prec };
}

function decToFloat(d: Dec): number {
  const f = Number(`${d.c}e${d.e}`);
  return Object.is(f, -0) ? 0 : f;
}

function deepCopy(v: Value): Value {
  if (v instanceof GoList) return new GoList(v.items.map(deepCopy), v.elem);
  if (v instanceof GoMap) {
    const m = new GoMap(v.key, v.elem);
    for (const e of v.m.values()) m.set(e.k, deepCopy(e.v));
    return m;
  }
  return v;
}

function untilStep(start: number, stop: number, step: number): number[] {
  const v: number[] = [];
  if (stop < start) {
    if (step >= 0) return v;
    for (let i = start; i > stop; i += step) v.push(i);
    return v;
  }
  if (step <= 0) return v;
  for (let i = start; i < stop; i += step) v.push(i);
  return v;
}

function seq(params: number[]): string {
  let increment = 1;
  switch (params.length) {
    case 0:
      return '';
    case 1: {
      const start = 1;
      const end = params[0];
      if (end < start) increment = -1;
      return untilStep(start, end + increment, increment).join(' ');
    }
    case 3: {
      const [start, step, end] = params;
      if (end < start) {
        increment = -1;
        if (step > 0) return '';
      }
      return untilStep(start, end + increment, step).join(' ');
    }
    case 2: {
      const [start, end] = params;
      const step = end < start ? -1 : 1;
      return untilStep(start, end + step, step).join(' ');
    }
  }
  return '';
}

/** strings.Split / SplitN semantics (empty separator splits into UTF-8 sequences). */
export function goSplit(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const chars = [...s];
    if (n < 0 || n > chars.length) return chars;
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join('')];
  }
  const parts = s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

/** strings.Replace(s, old, new, -1): an empty `old` inserts `new` around every rune. */
function goReplaceAll(s: string, old: string, nw: string): string {
  if (old === '') {
    const chars = [...s];
    return nw + chars.map((c) => c + nw).join('');
  }
  return s.split(old).join(nw);
}

function pathBase(p: string): string {
  if (p === '') return '.';
  while (p.length > 0 && p.endsWith('/')) p = p.slice(0, -1);
  const i = p.lastIndexOf('/');
  if (i >= 0) p = p.slice(i + 1);
  return p === '' ? '/' : p;
}

function pathDir(p: string): string {
  const i = p.lastIndexOf('/');
  return cleanPath(p.slice(0, i + 1));
}

function pathExt(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

/** encoding/base64 StdEncoding.DecodeString; Sprig returns the error text on failure. */
function b64decode(s: string): string {
  const src = goBytes(s);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const dec = (b: number) => alphabet.indexOf(String.fromCharCode(b));
  const isNL = (b: number) => b === 10 || b === 13;
  const out: number[] = [];
  const corrupt = (at: number) => `illegal base64 data at input byte ${at}`;
  let si = 0;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let done = false;
    for (let j = 0; j < 4; j++) {
      if (si === src.length) {
        if (j === 0) return goString(Buffer.from(out));
        return corrupt(si - j);
      }
      const inb = src[si++];
      const o = inb < 128 ? dec(inb) : -1;
      if (o >= 0) {
        dbuf[j] = o;
        continue;
      }
      if (isNL(inb)) {
        j--;
        continue;
      }
      if (inb !== 61) return corrupt(si - 1);
      if (j === 0 || j === 1) return corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && isNL(src[si])) si++;
        if (si === src.length) return corrupt(src.length);
        if (src[si] !== 61) return corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNL(src[si])) si++;
      if (si < src.length) return corrupt(si);
      dlen = j;
      done = true;
      break;
    }
    const v = (dbuf[0] << 18) | (dbuf[1] << 12) | (dbuf[2] << 6) | dbuf[3];
    const bytes = [(v >> 16) & 255, (v >> 8) & 255, v & 255];
    out.push(...bytes.slice(0, dlen - 1 < 0 ? 0 : dlen === 4 ? 3 : dlen - 1));
    if (done) break;
    while (si < src.length && isNL(src[si])) si++;
  }
  return goString(Buffer.from(out));
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function base32encode(b: Buffer): string {
  let out = '';
  for (let i = 0; i < b.length; i += 5) {
    const chunk = b.subarray(i, i + 5);
    let bits = 0n;
    for (let j = 0; j < 5; j++) bits = (bits << 8n) | BigInt(j < chunk.length ? chunk[j] : 0);
    const nChars = Math.ceil((chunk.length * 8) / 5);
    for (let j = 0; j < 8; j++) out += j < nChars ? B32[Number((bits >> BigInt(35 - j * 5)) & 31n)] : '=';
  }
  return out;
}
function base32decode(s: string): string {
  const clean = s.replace(/[\r\n]/g, '');
  if (clean.length % 8 !== 0) return `illegal base32 data at input byte ${Math.floor(clean.length / 8) * 8}`;
  const bytes: number[] = [];
  for (let i = 0; i < clean.length; i += 8) {
    const blk = clean.slice(i, i + 8);
    const data = blk.replace(/=+$/, '');
    for (let j = 0; j < data.length; j++) if (!B32.includes(data[j])) return `illegal base32 data at input byte ${i + j}`;
    let bits = 0n;
    for (let j = 0; j < 8; j++) bits = (bits << 5n) | BigInt(j < data.length ? B32.indexOf(data[j]) : 0);
    const nBytes = Math.floor((data.length * 5) / 8);
    for (let j = 0; j < nBytes; j++) bytes.push(Number((bits >> BigInt(32 - j * 8)) & 255n));
  }
  return goString(Buffer.from(bytes));
}

function urlParse(s: string): GoMap {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    throw new GoError(`unable to parse url: parse ${goQuote(s)}: invalid URL`);
  }
  const d = new GoMap('string', 'interface {}');
  d.set('scheme', u.protocol.replace(/:$/, ''));
  d.set('host', u.host);
  d.set('hostname', u.hostname);
  d.set('path', decodeURIComponent(u.pathname));
  d.set('query', u.search.replace(/^\?/, ''));
  d.set('opaque', '');
  d.set('fragment', decodeURIComponent(u.hash.replace(/^#/, '')));
  d.set('userinfo', u.username ? (u.password ? `${u.username}:${u.password}` : u.username) : '');
  return d;
}

function urlJoin(d: GoMap | null): string {
  const g = (k: string) => {
    const v = d?.get(k);
    if (v === undefined || v === null) return '';
    if (typeof v !== 'string') throw new GoError(`unable to parse ${k} key, must be of type string, but ${goTypeName(v)} found`);
    return v;
  };
  let out = '';
  const scheme = g('scheme');
  if (scheme) out += scheme + ':';
  const host = g('host');
  const userinfo = g('userinfo');
  if (scheme || host || userinfo) {
    if (host || g('path') || userinfo) out += '//';
    if (userinfo) out += userinfo + '@';
    out += host;
  }
  const p = g('path');
  if (p && !p.startsWith('/') && host) out += '/';
  out += p;
  const q = g('query');
  if (q) out += '?' + q;
  const f = g('fragment');
  if (f) out += '#' + f;
  return out;
}
