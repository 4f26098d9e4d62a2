/**
 * Typed reading of YAML nodes with positions. Every accessor either returns a value of the
 * expected shape or throws a StapelkitError pointing at the node (file, line, column mapped back
 * to the template) with a key path like `image "app" → git[1].to`.
 */
import { Alias, Document, LineCounter, Node, Pair, Scalar, YAMLMap, YAMLSeq, isAlias, isMap, isScalar, isSeq } from 'yaml';
import { StapelkitError } from '../errors';
import { Pos } from './model';

export const CONFIG_ERROR = 'CONFIG_INVALID';

/** Messages are one line: user values with line breaks are shown escaped. */
export function oneLine(s: string): string;
export function oneLine(s: string | undefined): string | undefined;
export function oneLine(s: string | undefined): string | undefined {
  return s?.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

/** The `yaml` library's message without its own position suffix (we print mapped positions). */
export function yamlErrorMessage(err: { message: string }): string {
  const m = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  // The composer recurses; should it still overflow, say what the input did.
  if (/Maximum call stack size exceeded/.test(m)) return 'the document nests too deeply';
  return m;
}

/** Maps an offset inside one document to a source position. */
export interface DocSource {
  doc: Document;
  lineCounter: LineCounter;
  /** Rendered line index (0-based) of the document's first line. */
  startLine: number;
  /** rendered 1-based line → source file/line. */
  mapLine(renderedLine: number): { file: string; line: number };
  /** alias → target, computed once per document (Alias.resolve walks the whole document each call). */
  aliases?: Map<Alias, Node | undefined>;
}

export function posAt(src: DocSource, offset: number): Pos {
  const lp = src.lineCounter.linePos(offset);
  const mapped = src.mapLine(src.startLine + lp.line);
  return { file: mapped.file, line: mapped.line, column: lp.col };
}

type Seg = string | number;

/** A node together with where it is and how to name it in messages. */
export class At {
  constructor(
    readonly src: DocSource,
    readonly section: string,
    readonly segs: Seg[],
    readonly node: Node | null,
    /** Offset used when the node is absent (the key or the enclosing map). */
    readonly anchor: number,
  ) {}

  get keyPath(): string {
    let p = '';
    for (const s of this.segs) p += typeof s === 'number' ? `[${s}]` : p === '' ? s : `.${s}`;
    return p === '' ? this.section : `${this.section} → ${p}`;
  }

  get offset(): number {
    return this.node?.range ? this.node.range[0] : this.anchor;
  }

  get pos(): Pos {
    return posAt(this.src, this.offset);
  }

  child(seg: Seg, node: Node | null, anchor: number): At {
    return new At(this.src, this.section, [...this.segs, seg], node, anchor);
  }

  /** Same place, another key path (for messages about a whole section). */
  withPath(section: string, segs: Seg[] = []): At {
    return new At(this.src, section, segs, this.node, this.anchor);
  }

  error(message: string, hint?: string, code = CONFIG_ERROR): StapelkitError {
    const pos = this.pos;
    return new StapelkitError(code, oneLine(message), { pos: { ...pos, keyPath: oneLine(this.keyPath) }, hint: oneLine(hint) });
  }

  isNull(): boolean {
    return this.node === null || (isScalar(this.node) && this.node.value === null);
  }
}

function resolve(src: DocSource, node: unknown): Node | null {
  let n = node as Node | null | undefined;
  for (let i = 0; i < 100 && n && isAlias(n); i++) {
    const alias = n as Alias;
    n = (src.aliases ? src.aliases.get(alias) : alias.resolve(src.doc)) as Node | undefined;
    if (n === undefined) {
      // Each `---` document is parsed on its own (like werf): anchors do not cross documents.
      const pos = posAt(src, alias.range ? alias.range[0] : 0);
      throw new StapelkitError(CONFIG_ERROR, `YAML: unknown alias *${oneLine(alias.source)}: anchors are visible only inside their own document`, { pos });
    }
  }
  return n ?? null;
}

export function describe(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'boolean') return `a boolean (${String(v)})`;
    if (typeof v === 'number' || typeof v === 'bigint') return `a number (${scalarText(node)})`;
    return `a string (${JSON.stringify(String(v))})`;
  }
  return 'an unsupported YAML node';
}

function scalarText(node: Scalar): string {
  const v = node.value;
  if (typeof v === 'string') return v;
  // YAML 1.1 reads `yes`, `0777`, `1.50` as booleans/numbers; werf (yaml.v2) puts the source text
  // into string fields, so we do too.
  const source = (node as Scalar & { source?: string }).source;
  if (typeof source === 'string' && node.type === 'PLAIN') return source;
  return String(v);
}

export interface Entry {
  key: string;
  keyAt: At;
  value: At;
}

const MERGE_KEY = '<<';

/** The entries of a mapping, with YAML merge keys (`<<: *anchor`) expanded like yaml.v2. */
export function entries(at: At): Entry[] {
  const node = at.node;
  if (!isMap(node)) throw at.error(`expected a mapping, got ${describe(node)}`);
  const out: Entry[] = [];
  const seen = new Set<string>();
  const merged: Entry[] = [];
  for (const pair of (node as YAMLMap).items as Pair[]) {
    const keyNode = resolve(at.src, pair.key);
    const keyOffset = keyNode?.range ? keyNode.range[0] : at.offset;
    if (isScalar(keyNode) && ((keyNode as Scalar & { source?: string }).source === MERGE_KEY || typeof keyNode.value === 'symbol')) {
      const target = resolve(at.src, pair.value);
      const targets = isSeq(target) ? (target as YAMLSeq).items.map((i) => resolve(at.src, i)) : [target];
      for (const t of targets) {
        const tAt = at.child(MERGE_KEY, t, keyOffset);
        if (!isMap(t)) throw tAt.error(`merge key value must be a mapping, got ${describe(t)}`);
        for (const e of entries(new At(at.src, at.section, at.segs, t, keyOffset))) merged.push(e);
      }
      continue;
    }
    if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
      throw new At(at.src, at.section, at.segs, keyNode, keyOffset).error(`mapping keys must be strings, got ${describe(keyNode)}`);
    }
    const key = scalarText(keyNode as Scalar);
    const valueNode = resolve(at.src, pair.value);
    const keyAt = at.child(key, keyNode, keyOffset);
    out.push({ key, keyAt, value: at.child(key, valueNode, keyOffset) });
    seen.add(key);
  }
  for (const e of merged) {
    if (!seen.has(e.key)) {
      out.push({ key: e.key, keyAt: at.child(e.key, e.keyAt.node, e.keyAt.anchor), value: at.child(e.key, e.value.node, e.value.anchor) });
      seen.add(e.key);
    }
  }
  return out;
}

/** Edit distance, for "did you mean" suggestions. */
export function levenshtein(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[n];
}

export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const lw = word.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === lw ? 0 : levenshtein(lw, c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(word.length, best.length) / 3));
  if (bestD <= limit) return best;
  // A key that contains or is contained by a candidate (`exposedPorts` ~ `expose`).
  if (word.length >= 4 && (lw.startsWith(best.toLowerCase()) || best.toLowerCase().startsWith(lw))) return best;
  for (const c of candidates) if (c.length >= 4 && (lw.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(lw))) return c;
  return undefined;
}

/**
 * A mapping's fields, rejecting keys not in `allowed` with werf's "unknown field" wording and a
 * suggestion. `aliases` names keys werf does not know but users write (from docs), with the key to use.
 */
export function fields(at: At, allowed: readonly string[], aliases: Record<string, string> = {}): Map<string, Entry> {
  const out = new Map<string, Entry>();
  for (const e of entries(at)) {
    if (!allowed.includes(e.key)) {
      const alias = aliases[e.key];
      const s = alias ?? suggest(e.key, allowed);
      throw e.keyAt.error(`unknown field \`${e.key}\``, s ? `did you mean \`${s}\`?` : `expected one of: ${allowed.join(', ')}`);
    }
    out.set(e.key, e);
  }
  return out;
}

export function isAbsent(e: Entry | undefined): e is undefined {
  return e === undefined || e.value.isNull();
}

/** A scalar as a string (numbers and booleans as written, like yaml.v2 into a Go string). */
export function str(at: At): string {
  const n = at.node;
  if (isScalar(n) && n.value !== null && typeof n.value !== 'object') return scalarText(n as Scalar);
  throw at.error(`expected a string, got ${describe(n)}`);
}

export function optStr(e: Entry | undefined): string | undefined {
  return isAbsent(e) ? undefined : str(e.value);
}

export function bool(at: At): boolean {
  const n = at.node;
  if (isScalar(n) && typeof n.value === 'boolean') return n.value;
  throw at.error(`expected a boolean (true or false), got ${describe(n)}`);
}

export function optBool(e: Entry | undefined, dflt: boolean): boolean {
  return isAbsent(e) ? dflt : bool(e.value);
}

export function int(at: At): number {
  const n = at.node;
  if (isScalar(n) && typeof n.value === 'number' && Number.isInteger(n.value)) return n.value;
  throw at.error(`expected an integer, got ${describe(n)}`);
}

export function seqItems(at: At): At[] {
  const n = at.node;
  if (!isSeq(n)) throw at.error(`expected a list, got ${describe(n)}`);
  const seq = n as YAMLSeq;
  return seq.items.map((item, i) => {
    const node = resolve(at.src, item);
    return at.child(i, node, node?.range ? node.range[0] : at.offset);
  });
}

export function strList(at: At): string[] {
  if (at.isNull()) return [];
  return seqItems(at).map(str);
}

/** werf's "single string or array of strings" fields. */
export function strOrList(at: At): string[] {
  if (at.isNull()) return [];
  const n = at.node;
  if (isScalar(n)) {
    if (typeof n.value === 'string' || typeof n.value === 'number' || typeof n.value === 'boolean') return [scalarText(n as Scalar)];
  }
  if (isSeq(n)) {
    return seqItems(at).map((item) => {
      const v = item.node;
      if (isScalar(v) && v.value !== null && typeof v.value !== 'object') return scalarText(v as Scalar);
      throw item.error(`single string or array of strings expected, got ${describe(v)}`);
    });
  }
  throw at.error(`single string or array of strings expected, got ${describe(n)}`);
}

/** A mapping of string keys to scalar values (stringified). */
export function strMap(at: At): Record<string, string> {
  if (at.isNull()) return {};
  const out: Record<string, string> = {};
  for (const e of entries(at)) {
    if (e.value.isNull()) out[e.key] = '';
    else out[e.key] = str(e.value);
  }
  return out;
}

/** Convert a node to plain JSON data (for tolerated sections such as `deploy`). */
export function toPlain(at: At): unknown {
  const n = at.node;
  if (n === null) return null;
  if (isScalar(n)) {
    const v = n.value;
    if (typeof v === 'bigint') return Number(v);
    // JSON has no Infinity/NaN: keep `.inf`/`.nan` as written.
    if (typeof v === 'number' && !Number.isFinite(v)) return scalarText(n as Scalar);
    if (v instanceof Date) return v.toISOString();
    if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
    return v ?? null;
  }
  if (isSeq(n)) return seqItems(at).map(toPlain);
  if (isMap(n)) {
    const out: Record<string, unknown> = {};
    for (const e of entries(at)) out[e.key] = toPlain(e.value);
    return out;
  }
  return null;
}
