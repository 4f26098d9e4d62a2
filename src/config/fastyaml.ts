/**
 * A fast path for the plain block YAML most werf.yaml documents are written in: mappings,
 * sequences, plain scalars, one-line quoted scalars and one-line flow sequences of those, one entry per line. It builds the same
 * `yaml` nodes the package's Parser + Composer would (classes, values, `source`, `type`, ranges'
 * start offsets, line starts), at a fraction of the cost: the package's generator-based lexer is
 * ~0.3 ms per small document, which is most of a 1000-image compile's parse time.
 *
 * Anything outside that subset (flow mappings, nested flow collections, block scalars, anchors, tags, comments after
 * values, multi-line scalars, escapes, duplicate keys, merge keys, tabs, CRs, deep nesting…)
 * returns undefined and the caller parses with the `yaml` package, so errors and their positions
 * always come from one place.
 */
import { Document, LineCounter, Pair, Scalar, YAMLMap, YAMLSeq, isScalar, type Node } from 'yaml';

/** The composer options the config parser uses (parse.ts), which decide scalar resolution (YAML 1.1). */
export const CONFIG_YAML_OPTIONS = {
  version: '1.1',
  keepSourceTokens: true,
  prettyErrors: false,
  uniqueKeys: true,
  merge: true,
  strict: false,
} as const;

/** Not in the subset: the caller falls back to the full parser. */
class Unsupported extends Error {}
const UNSUPPORTED = new Unsupported();

interface Line {
  indent: number;
  /** The line without its indent and trailing spaces. */
  rest: string;
  /** Offset of the line's first character in the document. */
  start: number;
  /** Offset of its end (before the newline, after any trailing spaces). */
  end: number;
}

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_./-]*(?=:(?: |$))/;
/** Characters a plain scalar must not start with (YAML indicators), and quotes handled apart. */
const INDICATOR_START = /^[-?:,[\]{}#&*!|>%@`]/;
/** Nesting the fast path takes; deeper documents go to the full parser and its depth limit. */
const MAX_DEPTH = 32;

/** YAML's white space here is the space alone (tabs and CRs are refused up front); JS trim() also strips U+00A0 and others. */
function leadingSpaces(s: string): number {
  let n = 0;
  while (s.charCodeAt(n) === 0x20) n++;
  return n;
}

function trimEndSpaces(s: string): string {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 0x20) n--;
  return s.slice(0, n);
}

let schemaDoc: Document | undefined;

/**
 * Letters a YAML 1.1 null, bool or float can start with (`Null`, `y`/`yes`/`n`/`no`, `true`/`false`,
 * `on`/`off`, `e5`). A plain scalar starting with any other letter is a string whatever the schema's
 * tests say — and skipping them spares compiling those regexps (the timestamp one is large) on a
 * short command's path.
 */
const NON_STRING_LETTERS = new Set('eEfFnNoOtTyY');

function stringOnly(value: string): boolean {
  const c = value.charCodeAt(0) | 0x20;
  return c >= 0x61 && c <= 0x7a && !NON_STRING_LETTERS.has(value[0]);
}

/** Scalar resolution exactly as the package's composeScalar does it (plain: first default tag whose test matches). */
function plainScalar(value: string, atKey: boolean): Scalar {
  schemaDoc ??= new Document(undefined, CONFIG_YAML_OPTIONS);
  const schema = schemaDoc.schema;
  const tag = stringOnly(value) ? undefined : schema.tags.find((t) => (t.default === true || (atKey && t.default === 'key')) && (t as { test?: RegExp }).test?.test(value));
  let scalar: Scalar;
  if (tag) {
    // A tag that is not a plain scalar tag (merge `<<`) or reports an error: not our subset.
    if (tag.default === 'key') throw UNSUPPORTED;
    let failed = false;
    const res = (tag as { resolve: (v: string, onError: (m: string) => void, opts: unknown) => unknown }).resolve(value, () => (failed = true), schemaDoc.options);
    if (failed) throw UNSUPPORTED;
    scalar = isScalar(res) ? (res as Scalar) : new Scalar(res);
    if (tag.format) scalar.format = tag.format;
  } else scalar = new Scalar(value);
  scalar.source = value;
  scalar.type = 'PLAIN';
  return scalar;
}

function withRange<T extends { range?: [number, number, number] | null }>(node: T, start: number, end: number): T {
  node.range = [start, end, end];
  return node;
}

/** Plain scalars inside `[...]` may not hold flow indicators either. */
const FLOW_PLAIN_BAD = /[,[\]{}#]|: |:$/;

/**
 * A one-line flow sequence of scalars, `["/app/run.sh", --flag]` (docker `cmd:`/`entrypoint:`): items
 * separated by commas; nested collections, a trailing comma and anything the item rules decline are
 * not our subset.
 */
function flowSeqAt(text: string, start: number): YAMLSeq {
  if (text[text.length - 1] !== ']') throw UNSUPPORTED;
  const seq = withRange(new YAMLSeq(), start, start);
  seq.flow = true;
  const end = text.length - 1;
  let i = 1;
  const skipSpaces = () => {
    while (text.charCodeAt(i) === 0x20) i++;
  };
  skipSpaces();
  if (i === end) return seq;
  for (;;) {
    skipSpaces();
    let j: number;
    const q = text[i];
    if (q === "'") {
      j = i + 1;
      for (;;) {
        j = text.indexOf("'", j);
        if (j < 0 || j >= end) throw UNSUPPORTED;
        if (text[j + 1] === "'") j += 2;
        else break;
      }
      j++;
    } else if (q === '"') {
      j = text.indexOf('"', i + 1);
      if (j < 0 || j >= end) throw UNSUPPORTED;
      j++;
    } else {
      j = i;
      while (j < end && text[j] !== ',') j++;
      while (j > i && text.charCodeAt(j - 1) === 0x20) j--;
    }
    const item = text.slice(i, j);
    if (item === '' || (q !== "'" && q !== '"' && FLOW_PLAIN_BAD.test(item))) throw UNSUPPORTED;
    seq.items.push(scalarAt(item, start + i));
    i = j;
    skipSpaces();
    if (i === end) return seq;
    if (text[i] !== ',') throw UNSUPPORTED;
    i++;
    skipSpaces();
    // `[a, ]`: a trailing comma is not our subset.
    if (i === end) throw UNSUPPORTED;
  }
}

/** A scalar value written on one line at `start` (already trimmed of trailing spaces). */
function scalarAt(text: string, start: number): Scalar {
  const c = text[0];
  if (c === "'") {
    let out = '';
    let i = 1;
    for (;;) {
      const q = text.indexOf("'", i);
      if (q < 0) throw UNSUPPORTED;
      out += text.slice(i, q);
      if (text[q + 1] === "'") {
        out += "'";
        i = q + 2;
        continue;
      }
      if (q !== text.length - 1) throw UNSUPPORTED;
      break;
    }
    const s = withRange(new Scalar(out), start, start + text.length);
    s.source = out;
    s.type = 'QUOTE_SINGLE';
    return s;
  }
  if (c === '"') {
    const body = text.slice(1, -1);
    if (text.length < 2 || text[text.length - 1] !== '"' || body.includes('"') || body.includes('\\')) throw UNSUPPORTED;
    const s = withRange(new Scalar(body), start, start + text.length);
    s.source = body;
    s.type = 'QUOTE_DOUBLE';
    return s;
  }
  // `-` followed by a non-space starts a plain scalar (`-c`, `-1`); any other indicator is not our subset.
  const dashPlain = c === '-' && text.length > 1 && text[1] !== ' ';
  if ((!dashPlain && INDICATOR_START.test(text)) || text.includes(': ') || text.endsWith(':') || text.includes(' #')) throw UNSUPPORTED;
  return withRange(plainScalar(text, false), start, start + text.length);
}

/** A value written on one line: a flow sequence or a scalar. */
function valueAt(text: string, start: number): Node {
  return text[0] === '[' ? flowSeqAt(text, start) : scalarAt(text, start);
}

/** The empty (null) node of `key:` or `-` with nothing after it: placed after the indicator and its spaces, like the composer. */
function emptyAt(offset: number): Scalar {
  return withRange(plainScalar('', false), offset, offset);
}

class FastParser {
  private i = 0;
  constructor(private readonly lines: Line[]) {}

  parseDocument(): Node {
    const first = this.lines[0];
    if (!first) throw UNSUPPORTED;
    const node = this.block(first.indent, 0);
    if (this.i < this.lines.length) throw UNSUPPORTED;
    return node;
  }

  /** The collection starting at the current line, which sits at `indent`. */
  private block(indent: number, depth: number): Node {
    if (depth > MAX_DEPTH) throw UNSUPPORTED;
    const line = this.lines[this.i];
    if (line.indent !== indent) throw UNSUPPORTED;
    if (line.rest === '-' || line.rest.startsWith('- ')) return this.seq(indent, depth);
    return this.map(indent, line.rest, line.start + line.indent, depth, true);
  }

  /**
   * A block mapping whose keys sit at column `indent`; its first entry is `firstText` at `firstStart`
   * (a line of its own, or the rest of a `- ` line).
   */
  private map(indent: number, firstText: string, firstStart: number, depth: number, ownLine: boolean): YAMLMap {
    const map = new YAMLMap();
    const seen = new Set<string>();
    let text = firstText;
    let start = firstStart;
    let first = true;
    for (;;) {
      const km = KEY_RE.exec(text);
      if (!km) throw UNSUPPORTED;
      const keyText = km[0];
      if (seen.has(keyText)) throw UNSUPPORTED;
      seen.add(keyText);
      const key = withRange(plainScalar(keyText, true), start, start + keyText.length);
      // Keys that resolve to anything but a string may still collide (`1`, `01`): leave them to the composer.
      if (typeof key.value !== 'string') throw UNSUPPORTED;
      const after = text.slice(keyText.length + 1);
      let value: Node;
      this.i++;
      const vs = leadingSpaces(after);
      if (vs < after.length) {
        value = valueAt(after.slice(vs), start + keyText.length + 1 + vs);
      } else {
        const next = this.lines[this.i];
        // Nothing after the colon: the key is the end of its line.
        const emptyOffset = this.lines[this.i - 1].end;
        if (next && next.indent > indent) value = this.block(next.indent, depth + 1);
        else if (next && next.indent === indent && (next.rest === '-' || next.rest.startsWith('- '))) value = this.seq(indent, depth + 1);
        else value = emptyAt(emptyOffset);
      }
      map.items.push(new Pair(key, value));
      if (first) {
        withRange(map, start, start);
        first = false;
      }
      const next = this.lines[this.i];
      if (!next || next.indent < indent) break;
      if (next.indent > indent) throw UNSUPPORTED;
      if (next.rest === '-' || next.rest.startsWith('- ')) {
        // A sequence at a mapping's indent ends it only when the mapping is itself a `- ` item's.
        if (ownLine) throw UNSUPPORTED;
        break;
      }
      text = next.rest;
      start = next.start + next.indent;
    }
    return map;
  }

  private seq(indent: number, depth: number): YAMLSeq {
    if (depth > MAX_DEPTH) throw UNSUPPORTED;
    const seq = new YAMLSeq();
    withRange(seq, this.lines[this.i].start + indent, this.lines[this.i].start + indent);
    for (;;) {
      const line = this.lines[this.i];
      if (!line || line.indent < indent) break;
      if (line.indent > indent || !(line.rest === '-' || line.rest.startsWith('- '))) {
        // The mapping holding this sequence (at the same indent) goes on.
        if (line.indent === indent && seq.items.length > 0) break;
        throw UNSUPPORTED;
      }
      const after = line.rest.slice(1);
      const content = after.slice(leadingSpaces(after));
      const col = indent + 1 + (after.length - content.length);
      if (content === '') {
        this.i++;
        const next = this.lines[this.i];
        if (next && next.indent > indent) seq.items.push(this.block(next.indent, depth + 1));
        else seq.items.push(emptyAt(line.end));
      } else if (content === '-' || content.startsWith('- ')) {
        throw UNSUPPORTED;
      } else if (KEY_RE.test(content)) {
        seq.items.push(this.map(col, content, line.start + col, depth + 1, false));
      } else {
        seq.items.push(valueAt(content, line.start + col));
        this.i++;
      }
    }
    return seq;
  }
}

/**
 * The document and line starts the `yaml` package would build for `text` (composed with
 * CONFIG_YAML_OPTIONS), or undefined when `text` is outside the fast path's subset.
 */
export function fastParseDocument(text: string): { doc: Document; lineCounter: LineCounter } | undefined {
  if (text.includes('\t') || text.includes('\r') || text.includes('\ufeff')) return undefined;
  const lineCounter = new LineCounter();
  const lines: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineCounter.addNewLine(start);
    const raw = text.slice(start, end);
    const body = trimEndSpaces(raw);
    if (body !== '') {
      const indent = leadingSpaces(body);
      const rest = body.slice(indent);
      // Comments (alone on their line) are skipped; markers and directives are not our subset.
      if (rest[0] !== '#') {
        if (indent === 0 && (rest.startsWith('---') || rest.startsWith('...') || rest[0] === '%')) return undefined;
        lines.push({ indent, rest, start, end });
      }
    }
    if (end === text.length) break;
    start = end + 1;
  }
  let contents: Node;
  try {
    contents = new FastParser(lines).parseDocument();
  } catch (e) {
    if (e === UNSUPPORTED) return undefined;
    throw e;
  }
  const doc = new Document(undefined, CONFIG_YAML_OPTIONS);
  doc.contents = contents as Document['contents'];
  return { doc, lineCounter };
}
