/**
 * werf's fromYaml/toYaml with gopkg.in/yaml.v2 (v2.4.0) behaviour:
 *  - decoding resolves plain scalars with yaml.v2's YAML 1.1 rules (yes/no/on/off bools, 0777
 *    octal, timestamps kept as strings) into Go types: the top level is map[string]interface {},
 *    nested maps are map[interface {}]interface {}, ints are int, floats float64;
 *  - encoding reproduces yaml.v2's emitter: sorted keys (yaml.v2's "natural" order), block style,
 *    sequences not indented under a key, `{}`/`[]` for empty collections, quoting decided by
 *    resolve() plus libyaml's scalar analysis, `|-` literals for multi-line strings, and line
 *    folding of long scalars past column 80.
 */
import { checkAliasExpansion, checkYamlChars, checkYamlDepth } from '../util/yaml-limits';
import * as YAML from 'yaml';
import { GoError, GoInt, GoList, GoMap, GoStruct, GoTime, Value, int } from './value';
import { formatFloat } from './fmt';
import { formatLayout } from './gotime';
import { parseGoInt, parseGoUint } from './strconv';
import { goBytes, hasRawBytes } from './bytes';

// ---------------- decode ----------------

// a Map, not an object: "toString" is no YAML bool
const boolMap = new Map<string, boolean>();
for (const s of ['y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON']) boolMap.set(s, true);
for (const s of ['n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE', 'off', 'Off', 'OFF']) boolMap.set(s, false);
const nullSet = new Set(['', '~', 'null', 'Null', 'NULL']);
const yamlStyleFloat = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;

type Resolved = { tag: 'str' | 'bool' | 'null' | 'int' | 'float' | 'timestamp' | 'merge'; v: Value };

function isTimestamp(s: string): boolean {
  // yaml.v2 parseTimestamp: must start with digits then '-', and parse with one of the allowed formats
  const i = s.indexOf('-');
  if (i < 0 || !/^\d+$/.test(s.slice(0, i))) return false;
  return (
    /^\d{4}-\d{1,2}-\d{1,2}$/.test(s) ||
    /^\d{4}-\d{1,2}-\d{1,2}[Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.test(s)
  );
}

/** yaml.v2 resolve("", in) for a plain scalar. */
export function resolvePlain(s: string): Resolved {
  const c = s.length === 0 ? '' : s[0];
  const hint = s.length === 0 ? 'N' : /[+-]/.test(c) ? 'S' : /[0-9]/.test(c) ? 'D' : /[yYnNtTfFoO~]/.test(c) ? 'M' : c === '.' ? '.' : '';
  if (hint) {
    const b = boolMap.get(s);
    if (b !== undefined) return { tag: 'bool', v: b };
    if (nullSet.has(s)) return { tag: 'null', v: null };
    if (s === '.nan' || s === '.NaN' || s === '.NAN') return { tag: 'float', v: NaN };
    if (['.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF'].includes(s)) return { tag: 'float', v: Infinity };
    if (['-.inf', '-.Inf', '-.INF'].includes(s)) return { tag: 'float', v: -Infinity };
    if (s === '<<') return { tag: 'merge', v: s };
    if (hint === '.') {
      const f = goParseFloat(s);
      if (f !== null && Number.isFinite(f)) return { tag: 'float', v: f };
    } else if (hint === 'D' || hint === 'S') {
      if (isTimestamp(s)) return { tag: 'timestamp', v: s };
      const plain = s.replace(/_/g, '');
      const iv = parseGoInt(plain);
      if (iv !== null) return { tag: 'int', v: new GoInt(iv, 'int') };
      const uv = parseGoUint(plain);
      if (uv !== null) return { tag: 'int', v: new GoInt(uv, 'uint64') };
      if (yamlStyleFloat.test(plain)) {
        const f = goParseFloat(plain);
        if (f !== null && Number.isFinite(f)) return { tag: 'float', v: f }; // ParseFloat range errors stay strings
      }
      if (plain.startsWith('0b') || plain.startsWith('-0b')) {
        const neg = plain.startsWith('-');
        const body = plain.slice(neg ? 3 : 2);
        const iv2 = /^[01]+$/.test(body) ? BigInt('0b' + body) * (neg ? -1n : 1n) : null;
        if (iv2 !== null && iv2 <= 2n ** 63n - 1n && iv2 >= -(2n ** 63n)) return { tag: 'int', v: new GoInt(iv2, 'int') };
      }
    }
  }
  return { tag: 'str', v: s };
}

function goParseFloat(s: string): number | null {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) && !/^[+-]?(inf|infinity|nan)$/i.test(s)) return null;
  const l = s.toLowerCase();
  if (/^[+-]?inf(inity)?$/.test(l)) return l.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/.test(l)) return NaN;
  return Number(s);
}

type YNode = YAML.Scalar | YAML.YAMLMap | YAML.YAMLSeq | YAML.Alias | null;

/** The source being decoded (for block scalar ends). */
let decodeSrc: string | null = null;

/** Collections being decoded right now: an alias to one of them is a self-containing anchor. */
const decoding = new Set<unknown>();

function decodeNode(node: unknown, doc: YAML.Document, depth: number): Value {
  if (depth > 10000) throw new GoError('yaml: exceeded max depth');
  if (node === null || node === undefined) return null;
  if (YAML.isAlias(node)) {
    const target = node.resolve(doc as never);
    if (target === undefined) throw new GoError(`yaml: unknown anchor '${node.source}' referenced`);
    if (decoding.has(target)) throw new GoError(`yaml: anchor '${node.source}' value contains itself`);
    return decodeNode(target, doc, depth + 1);
  }
  if (YAML.isSeq(node) || YAML.isMap(node)) {
    decoding.add(node);
    try {
      return decodeCollection(node, doc, depth);
    } finally {
      decoding.delete(node);
    }
  }
  return decodeCollection(node, doc, depth);
}

function decodeCollection(node: unknown, doc: YAML.Document, depth: number): Value {
  if (YAML.isScalar(node)) {
    const s = String(node.value ?? '');
    const tag = node.tag?.replace(/^tag:yaml\.org,2002:/, '!!');
    if (tag === '!!str') return s;
    if (tag === '!!int' || tag === '!!float' || tag === '!!bool' || tag === '!!null') {
      // an explicit standard tag resolves the text whatever its quoting (yaml.v2 resolve(tag, in))
      const r = resolvePlain(s);
      const want = tag.slice(2);
      if (want === 'float' && r.tag === 'int') return Number((r.v as GoInt).v);
      if (r.tag === want) return r.v;
      throw new GoError(`yaml: unmarshal errors:\n  cannot decode !!${r.tag === 'str' ? 'str' : r.tag} \`${s}\` as a !!${want}`);
    }
    if (node.type === 'PLAIN') {
      const r = resolvePlain(s);
      if (r.tag === 'timestamp' || r.tag === 'merge') return s;
      return r.v;
    }
    if ((node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') && s.endsWith('\n') && node.range && decodeSrc !== null) {
      // A block scalar that ends the input without a line break has no final line break to keep
      // (libyaml); the JS parser adds one.
      const raw = decodeSrc.slice(node.range[0], node.range[1]);
      if (!/[\r\n]$/.test(raw)) return s.slice(0, -1);
    }
    return s;
  }
  if (YAML.isSeq(node)) return new GoList(node.items.map((i) => decodeNode(i, doc, depth + 1)));
  if (YAML.isMap(node)) {
    const m = new GoMap('interface {}', 'interface {}');
    fillMap(m, node, doc, depth, false);
    return m;
  }
  return null;
}

function fillMap(m: GoMap, node: YAML.YAMLMap, doc: YAML.Document, depth: number, stringKeys: boolean) {
  for (const pair of node.items) {
    const kn = pair.key as YNode;
    if (YAML.isScalar(kn) && kn.type === 'PLAIN' && String(kn.value) === '<<') {
      mergeInto(m, pair.value, doc, depth, stringKeys);
      continue;
    }
    let k: Value;
    if (stringKeys) {
      k = YAML.isScalar(kn) ? keyString(kn) : decodeNode(kn, doc, depth + 1);
      if (typeof k !== 'string') throw new GoError('yaml: unmarshal errors:\n  cannot unmarshal a non-scalar key into string');
    } else {
      k = decodeNode(kn, doc, depth + 1);
      if (k instanceof GoList || k instanceof GoMap) throw new GoError('runtime error: hash of unhashable type ' + (k instanceof GoList ? '[]interface {}' : 'map[interface {}]interface {}'));
    }
    m.set(k, decodeNode(pair.value, doc, depth + 1));
  }
}

function keyString(kn: YAML.Scalar): string {
  const s = String(kn.value ?? '');
  if (kn.type === 'PLAIN' && nullSet.has(s)) return '';
  return s;
}

function mergeInto(m: GoMap, v: unknown, doc: YAML.Document, depth: number, stringKeys: boolean) {
  let n = v;
  if (YAML.isAlias(n)) n = n.resolve(doc as never);
  if (YAML.isMap(n)) {
    fillMap(m, n, doc, depth + 1, stringKeys);
  } else if (YAML.isSeq(n)) {
    for (let i = n.items.length - 1; i >= 0; i--) {
      let it: unknown = n.items[i];
      if (YAML.isAlias(it)) it = it.resolve(doc as never);
      if (!YAML.isMap(it)) throw new GoError('yaml: map merge requires map or sequence of maps as the value');
      fillMap(m, it, doc, depth + 1, stringKeys);
    }
  } else {
    throw new GoError('yaml: map merge requires map or sequence of maps as the value');
  }
}

/** `fromYaml`: yaml.Unmarshal into map[string]interface {}. */
export function fromYamlV2(src: string): GoMap {
  decodeSrc = src;
  try {
    return fromYamlV2Inner(src);
  } finally {
    decodeSrc = null;
  }
}

function fromYamlV2Inner(src: string): GoMap {
  // yaml.v2's limits (control characters, nesting, alias expansion): see src/util/yaml-limits.
  const early = checkYamlChars(src) ?? checkYamlDepth(src);
  if (early) throw new GoError(`yaml: ${early.message}`);
  const docs = YAML.parseAllDocuments(src, { schema: 'failsafe', uniqueKeys: false, strict: false, prettyErrors: false });
  const out = new GoMap('string', 'interface {}');
  if (!Array.isArray(docs)) throw new GoError('yaml: ' + String((docs as { errors?: unknown[] }).errors?.[0] ?? 'invalid document'));
  if (docs.length === 0) return out;
  const doc = docs[0];
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos ? e.linePos[0].line : 1;
    throw new GoError(`yaml: line ${line}: ${e.message.split('\n')[0]}`);
  }
  const bomb = checkAliasExpansion(doc);
  if (bomb) throw new GoError(`yaml: ${bomb.message}`);
  const root = doc.contents as YNode;
  if (root === null) return out;
  if (YAML.isScalar(root) && root.type === 'PLAIN' && nullSet.has(String(root.value ?? ''))) return out;
  if (YAML.isMap(root)) {
    fillMap(out, root, doc, 0, true);
    return out;
  }
  let r: unknown = root;
  if (YAML.isAlias(r)) r = r.resolve(doc as never);
  const line = 1 + (src.slice(0, (r as YAML.Node).range?.[0] ?? 0).match(/\n/g)?.length ?? 0);
  if (YAML.isSeq(r)) throw new GoError(`yaml: unmarshal errors:\n  line ${line}: cannot unmarshal !!seq into map[string]interface {}`);
  if (YAML.isScalar(r)) {
    const s = String(r.value ?? '');
    const tag = r.type === 'PLAIN' ? resolvePlain(s).tag : 'str';
    const b = Buffer.from(s, 'utf8'); // yaml.v2 shortens by bytes
    const shown = b.length > 10 ? b.subarray(0, 7).toString('utf8') + '...' : s;
    throw new GoError(`yaml: unmarshal errors:\n  line ${line}: cannot unmarshal !!${tag} \`${shown}\` into map[string]interface {}`);
  }
  return out;
}

// ---------------- encode ----------------

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => /\p{Nd}/u.test(c);

function keyFloat(v: Value): number | null {
  if (v instanceof GoInt) return Number(v.v);
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return null;
}

const kindOrder = (v: Value): number => {
  // reflect.Kind numbering: Bool=1, Int=2 … Int64=6, Uint=7 … Uint64=11, Float64=14, Map=21, Slice=23, String=24
  if (v === null || v === undefined) return 20; // a nil interface key stays of kind Interface
  if (typeof v === 'boolean') return 1;
  if (v instanceof GoInt) return ({ int: 2, int8: 3, int16: 4, int32: 5, int64: 6, uint: 7, uint8: 8, uint16: 9, uint32: 10, uint64: 11 } as const)[v.kind];
  if (typeof v === 'number') return 14;
  if (v instanceof GoMap) return 21;
  if (v instanceof GoList) return 23;
  if (typeof v === 'string') return 24;
  return 0;
};

/** yaml.v2 keyList.Less. */
export function yamlKeyLess(a: Value, b: Value): boolean {
  const af = keyFloat(a);
  const bf = keyFloat(b);
  const ak = kindOrder(a);
  const bk = kindOrder(b);
  if (af !== null && bf !== null) {
    if (af !== bf) return af < bf;
    if (ak !== bk) return ak < bk;
    if (a instanceof GoInt && b instanceof GoInt) return a.v < b.v;
    if (typeof a === 'boolean' && typeof b === 'boolean') return !a && b;
    return false;
  }
  if (typeof a !== 'string' || typeof b !== 'string') return ak < bk;
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue;
    const al = isLetter(ar[i]);
    const bl = isLetter(br[i]);
    if (al && bl) return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
    if (al || bl) return bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    let bi = i;
    for (; ai < ar.length && isDigit(ar[ai]); ai++) an = an * 10n + BigInt(ar[ai].charCodeAt(0) - 48);
    for (; bi < br.length && isDigit(br[bi]); bi++) bn = bn * 10n + BigInt(br[bi].charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i].codePointAt(0)! < br[i].codePointAt(0)!;
  }
  return ar.length < br.length;
}

const isBase60Float = (s: string) => /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/.test(s);

/** libyaml's is_printable on UTF-8 bytes: 4-byte sequences and U+0085 count as non-printable. */
function yamlPrintable(cp: number): boolean {
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
  );
}

interface Analysis {
  multiline: boolean;
  flowPlain: boolean;
  blockPlain: boolean;
  single: boolean;
  block: boolean;
}

function analyzeScalar(value: string): Analysis {
  if (value.length === 0) return { multiline: false, flowPlain: false, blockPlain: true, single: true, block: false };
  let blockInd = false;
  let flowInd = false;
  if (value.startsWith('---') || value.startsWith('...')) {
    blockInd = true;
    flowInd = true;
  }
  let precededByWs = true;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let prevSpace = false;
  let prevBreak = false;
  const chars = [...value];
  const isBlankAt = (j: number) => j >= chars.length || chars[j] === ' ' || chars[j] === '\t' || isBreak(chars[j]);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    const followedByWs = i + 1 >= chars.length || chars[i + 1] === ' ' || chars[i + 1] === '\t' || isBreak(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) {
        flowInd = true;
        blockInd = true;
      } else if (c === '?' || c === ':') {
        flowInd = true;
        if (followedByWs) blockInd = true;
      } else if (c === '-' && followedByWs) {
        flowInd = true;
        blockInd = true;
      }
    } else {
      if (',?[]{}'.includes(c)) flowInd = true;
      else if (c === ':') {
        flowInd = true;
        if (followedByWs) blockInd = true;
      } else if (c === '#' && precededByWs) {
        flowInd = true;
        blockInd = true;
      }
    }
    const cp = c.codePointAt(0)!;
    if (!yamlPrintable(cp)) special = true;
    if (c === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (prevBreak) breakSpace = true;
      prevSpace = true;
      prevBreak = false;
    } else if (isBreak(c)) {
      lineBreaks = true;
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (prevSpace) spaceBreak = true;
      prevSpace = false;
      prevBreak = true;
    } else {
      prevSpace = false;
      prevBreak = false;
    }
    precededByWs = isBlankAt(i);
  }
  const a: Analysis = { multiline: lineBreaks, flowPlain: true, blockPlain: true, single: true, block: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) {
    a.flowPlain = false;
    a.blockPlain = false;
  }
  if (trailingSpace) a.block = false;
  if (breakSpace) {
    a.flowPlain = false;
    a.blockPlain = false;
    a.single = false;
  }
  if (spaceBreak || special) {
    a.flowPlain = false;
    a.blockPlain = false;
    a.single = false;
    a.block = false;
  }
  if (lineBreaks) {
    a.flowPlain = false;
    a.blockPlain = false;
  }
  if (flowInd) a.flowPlain = false;
  if (blockInd) a.blockPlain = false;
  return a;
}

function isBreak(c: string): boolean {
  return c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
}

const BEST_WIDTH = 80;
const BEST_INDENT = 2;
/** libyaml's short escapes in double-quoted scalars, by code point. */
const DOUBLE_QUOTED_ESCAPES: Record<number, string> = {
  0: '0', 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 0x1b: 'e', 0x22: '"', 0x5c: '\\',
  0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P',
};

class Emitter {
  out = '';
  column = 0;
  whitespace = true;
  indention = true;
  openEnded = false;

  put(s: string) {
    this.out += s;
    this.column += [...s].length;
  }
  putBreak() {
    this.out += '\n';
    this.column = 0;
  }
  writeIndent(indent: number) {
    const ind = Math.max(indent, 0);
    if (!this.indention || this.column > ind || (this.column === ind && !this.whitespace)) this.putBreak();
    while (this.column < ind) this.put(' ');
    this.whitespace = true;
    this.indention = true;
  }
  writeIndicator(ind: string, needWs: boolean, isWs: boolean, isIndention: boolean) {
    if (needWs && !this.whitespace) this.put(' ');
    this.put(ind);
    this.whitespace = isWs;
    this.indention = this.indention && isIndention;
  }

  /**
   * The text of a plain or single-quoted scalar (libyaml's write_plain / write_single_quoted): a
   * long line may fold at a single space; a line break is written doubled. `quoted` scalars never
   * fold at their first or last character and double their single quotes.
   */
  private writeFolding(chars: string[], indent: number, allowBreaks: boolean, quoted: boolean) {
    let spaces = false;
    let breaks = false;
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i];
      if (c === ' ') {
        const inside = !quoted || (i > 0 && i < chars.length - 1);
        if (allowBreaks && !spaces && this.column > BEST_WIDTH && inside && chars[i + 1] !== ' ') this.writeIndent(indent);
        else this.put(c);
        spaces = true;
      } else if (isBreak(c)) {
        if (!breaks && c === '\n') this.putBreak();
        this.putBreak();
        this.indention = true;
        breaks = true;
      } else {
        if (breaks) this.writeIndent(indent);
        if (quoted && c === "'") this.put("'");
        this.put(c);
        this.indention = false;
        spaces = false;
        breaks = false;
      }
    }
  }

  scalar(value: string, style: 'plain' | 'double' | 'literal', indent: number, simpleKey: boolean, flow: boolean, tag?: string) {
    if (tag !== undefined) this.writeIndicator(tag, true, false, false); // libyaml's write_tag_handle
    const a = analyzeScalar(value);
    let st: 'plain' | 'single' | 'double' | 'literal' = style;
    if (st === 'plain') {
      if ((flow && !a.flowPlain) || (!flow && !a.blockPlain)) st = 'single';
      if (value.length === 0 && (flow || simpleKey)) st = 'single';
    }
    if (st === 'single' && !a.single) st = 'double';
    if (st === 'literal' && (!a.block || flow || simpleKey)) st = 'double';
    const allowBreaks = !simpleKey;
    const chars = [...value];
    switch (st) {
      case 'plain':
        if (!this.whitespace) this.put(' ');
        this.writeFolding(chars, indent, allowBreaks, false);
        this.whitespace = false;
        this.indention = false;
        return;
      case 'single':
        this.writeIndicator("'", true, false, false);
        this.writeFolding(chars, indent, allowBreaks, true);
        this.writeIndicator("'", false, false, false);
        this.whitespace = false;
        this.indention = false;
        return;
      case 'double': {
        this.writeIndicator('"', true, false, false);
        let spaces = false;
        for (let i = 0; i < chars.length; i++) {
          const c = chars[i];
          const cp = c.codePointAt(0)!;
          if (!yamlPrintable(cp) || cp === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
            let s = '\\';
            if (cp in DOUBLE_QUOTED_ESCAPES) s += DOUBLE_QUOTED_ESCAPES[cp];
            else if (cp <= 0xff) s += 'x' + cp.toString(16).toUpperCase().padStart(2, '0');
            else if (cp <= 0xffff) s += 'u' + cp.toString(16).toUpperCase().padStart(4, '0');
            else s += 'U' + cp.toString(16).toUpperCase().padStart(8, '0');
            this.put(s);
            spaces = false;
          } else if (c === ' ') {
            if (allowBreaks && !spaces && this.column > BEST_WIDTH && i > 0 && i < chars.length - 1) {
              this.writeIndent(indent);
              if (chars[i + 1] === ' ') this.put('\\');
            } else this.put(c);
            spaces = true;
          } else {
            this.put(c);
            spaces = false;
          }
        }
        this.writeIndicator('"', false, false, false);
        this.whitespace = false;
        this.indention = false;
        return;
      }
      case 'literal': {
        this.writeIndicator('|', true, false, false);
        if (chars[0] === ' ' || isBreak(chars[0])) this.writeIndicator(String(BEST_INDENT), false, false, false);
        this.openEnded = false;
        let chomp = '';
        const last = chars.length - 1;
        if (!isBreak(chars[last])) chomp = '-';
        else if (last === 0) {
          chomp = '+';
          this.openEnded = true;
        } else if (isBreak(chars[last - 1])) {
          chomp = '+';
          this.openEnded = true;
        }
        if (chomp) this.writeIndicator(chomp, false, false, false);
        this.putBreak();
        this.indention = true;
        this.whitespace = true;
        let breaks = true;
        for (const c of chars) {
          if (isBreak(c)) {
            this.putBreak();
            this.indention = true;
            breaks = true;
          } else {
            if (breaks) this.writeIndent(indent);
            this.put(c);
            this.indention = false;
            breaks = false;
          }
        }
        return;
      }
    }
  }
}

/**
 * yaml.v2's encodeBase64 for a string that is not valid UTF-8 (emitted as `!!binary`): 70-column
 * lines, each ending in a newline when there is more than one.
 */
function yamlBase64(s: string): string {
  const enc = goBytes(s).toString('base64');
  const lines = Math.floor(enc.length / 70) + 1;
  let out = '';
  for (let i = 0; i < enc.length; i += 70) out += enc.slice(i, i + 70) + (lines > 1 ? '\n' : '');
  return out;
}

function scalarText(v: Value): { text: string; style: 'plain' | 'double' | 'literal'; tag?: string } | null {
  if (v === null || v === undefined) return { text: 'null', style: 'plain' };
  if (typeof v === 'boolean') return { text: v ? 'true' : 'false', style: 'plain' };
  if (v instanceof GoInt) return { text: v.v.toString(), style: 'plain' };
  if (typeof v === 'number') {
    let s = formatFloat(v, 'g', -1);
    if (s === '+Inf') s = '.inf';
    else if (s === '-Inf') s = '-.inf';
    else if (s === 'NaN') s = '.nan';
    return { text: s, style: 'plain' };
  }
  if (typeof v === 'string' && hasRawBytes(v)) {
    const b = yamlBase64(v);
    return { text: b, style: b.includes('\n') ? 'literal' : 'plain', tag: '!!binary' };
  }
  if (typeof v === 'string') {
    const r = resolvePlain(v);
    const canPlain = r.tag === 'str' && !isBase60Float(v);
    if (v.includes('\n')) return { text: v, style: 'literal' };
    return { text: v, style: canPlain ? 'plain' : 'double' };
  }
  if (v instanceof GoTime) return { text: formatLayout(v, '2006-01-02T15:04:05.999999999Z07:00'), style: 'plain' };
  return null;
}

function isEmptyCollection(v: Value): boolean {
  return (v instanceof GoMap && v.size === 0) || (v instanceof GoList && v.items.length === 0) || v instanceof GoStruct;
}

function sortedEntries(m: GoMap): { k: Value; v: Value }[] {
  return [...m.m.values()].sort((x, y) => (yamlKeyLess(x.k, y.k) ? -1 : yamlKeyLess(y.k, x.k) ? 1 : 0));
}

/**
 * Emit node `v`. `indent` is the emitter's current indent (-1 at the root); `mappingContext` says the
 * node is a mapping value (so a sequence there is "indentless").
 */
function emitNode(e: Emitter, v: Value, indent: number, mappingContext: boolean, simpleKey: boolean) {
  // yaml.v2 marshals an encoding.TextMarshaler (semver.Version) as its text
  if (v instanceof GoStruct && v.opts.text !== undefined) v = v.opts.text;
  if (v instanceof GoMap && v.size > 0) {
    const ind = indent < 0 ? 0 : indent + BEST_INDENT;
    for (const { k, v: val } of sortedEntries(v)) {
      e.writeIndent(ind);
      const ks = scalarText(k);
      // libyaml's check_simple_key: single-line scalars of at most 128 bytes are simple keys
      const simple = ks !== null && !/[\n\r\u0085\u2028\u2029]/.test(ks.text) && Buffer.byteLength(ks.text, 'utf8') <= 128;
      if (simple) {
        e.scalar(ks!.text, ks!.style, ind + BEST_INDENT, true, false, ks!.tag);
        e.writeIndicator(':', false, false, false);
      } else {
        e.writeIndicator('?', true, false, true);
        emitNode(e, k, ind, true, false);
        e.writeIndent(ind);
        e.writeIndicator(':', true, false, true);
      }
      emitNode(e, val, ind, true, false);
    }
    return;
  }
  if (v instanceof GoList && v.items.length > 0) {
    let ind: number;
    if (indent < 0) ind = 0;
    else if (mappingContext && !e.indention) ind = indent;
    else ind = indent + BEST_INDENT;
    for (const item of v.items) {
      e.writeIndent(ind);
      e.writeIndicator('-', true, false, true);
      emitNode(e, item, ind, false, false);
    }
    return;
  }
  if (isEmptyCollection(v)) {
    const [open, close] = v instanceof GoList ? ['[', ']'] : ['{', '}'];
    e.writeIndicator(open, true, true, false);
    e.writeIndicator(close, false, false, false);
    return;
  }
  const s = scalarText(v);
  if (!s) throw new GoError(`cannot marshal type: ${typeof v}`);
  e.scalar(s.text, s.style, indent < 0 ? BEST_INDENT : indent + BEST_INDENT, simpleKey, false, s.tag);
}

/** yaml.Marshal(v) as yaml.v2 prints it. */
export function marshalYamlV2(v: Value): string {
  const e = new Emitter();
  emitNode(e, v, -1, false, false);
  // document end: a line break after the content
  if (!e.out.endsWith('\n') || !e.indention) e.putBreak();
  return e.out;
}

/** werf's `toYaml`: yaml.Marshal without the trailing newline; "" when marshalling fails. */
export function toYamlV2(v: Value): string {
  try {
    return marshalYamlV2(v).replace(/\n$/, '');
  } catch {
    return '';
  }
}

export { int };
