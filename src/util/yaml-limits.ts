/**
 * Resource limits for YAML input, as werf's parser (gopkg.in/yaml.v2) enforces them, for every
 * place that reads YAML (werf.yaml documents, werf-giterminism.yaml, the `fromYaml` template
 * function). Pure: each check returns the first violation (message + offset) or undefined.
 *
 * - Characters: yaml.v2's reader accepts only tab, LF, CR, printable ASCII, NEL, U+00A0–U+D7FF,
 *   U+E000–U+FFFD and U+10000–U+10FFFF ("control characters are not allowed"); bytes that are
 *   not UTF-8 are refused with libyaml's messages.
 * - Nesting: yaml.v2 stops at 10000 levels; the `yaml` package composes documents recursively
 *   and overflows the JS stack far earlier (~800 levels), so nesting is measured first on the
 *   (iterative) CST and refused beyond MAX_YAML_DEPTH.
 * - Aliases: the `yaml` package's own guard (`maxAliasCount`) lives in `toJS()`, which the config
 *   layer does not use (it walks the node tree and resolves aliases itself), so the walk could
 *   expand a 400-byte "billion laughs" document into billions of nodes. yaml.v2's decoder rule is
 *   replayed instead: while decoding, more than 100 alias-driven node decodes out of more than
 *   1000 decodes is an error once their share passes the allowed ratio (99% up to 400,000 decodes,
 *   falling to 10% at 4,000,000). The replay stops at the first violation, so it is cheap.
 */
import { Alias, Document, Node, Pair, Parser, isAlias, isMap, isPair, isScalar, isSeq, visit } from 'yaml';

export interface YamlViolation {
  message: string;
  /** Offset into the text (characters for strings, bytes for buffers). */
  offset: number;
  hint?: string;
}

/** Deeper nesting than this is refused before composing (werf.yaml never needs more than ~10). */
export const MAX_YAML_DEPTH = 500;

function allowedChar(c: number): boolean {
  return (
    c === 0x09 ||
    c === 0x0a ||
    c === 0x0d ||
    (c >= 0x20 && c <= 0x7e) ||
    c === 0x85 ||
    (c >= 0xa0 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

function charName(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The first character yaml.v2 refuses ("control characters are not allowed"), by string offset. */
export function checkYamlChars(text: string): YamlViolation | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.codePointAt(i)!;
    if (c > 0xffff) {
      i++;
      continue;
    }
    if (!allowedChar(c)) {
      const what = c >= 0xd800 && c <= 0xdfff ? `an unpaired surrogate ${charName(c)}` : `character ${charName(c)}`;
      return { message: `control characters are not allowed (${what})`, offset: i, hint: 'YAML allows tab, line breaks and printable characters only; write others as escapes in a double-quoted string, e.g. "\\x01"' };
    }
  }
  return undefined;
}

/** The first byte sequence that is not UTF-8, with libyaml's wording, by byte offset. */
export function checkUtf8(buf: Uint8Array): YamlViolation | undefined {
  for (let i = 0; i < buf.length; ) {
    const b = buf[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    const width = (b & 0xe0) === 0xc0 ? 2 : (b & 0xf0) === 0xe0 ? 3 : (b & 0xf8) === 0xf0 ? 4 : 0;
    if (width === 0) return { message: `invalid leading UTF-8 octet 0x${b.toString(16)}`, offset: i };
    if (i + width > buf.length) return { message: 'incomplete UTF-8 octet sequence', offset: i };
    let cp = width === 2 ? b & 0x1f : width === 3 ? b & 0x0f : b & 0x07;
    for (let k = 1; k < width; k++) {
      const t = buf[i + k];
      if ((t & 0xc0) !== 0x80) return { message: `invalid trailing UTF-8 octet 0x${t.toString(16)}`, offset: i + k };
      cp = (cp << 6) | (t & 0x3f);
    }
    const overlong = (width === 2 && cp < 0x80) || (width === 3 && cp < 0x800) || (width === 4 && cp < 0x10000);
    if (overlong) return { message: 'invalid length of a UTF-8 sequence', offset: i };
    if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return { message: 'invalid Unicode character', offset: i };
    i += width;
  }
  return undefined;
}

type CstNode = { type?: string; offset?: number; value?: unknown; items?: { start?: unknown; key?: unknown; sep?: unknown; value?: unknown }[] };

/** The first collection nested deeper than `max`, found on the CST without recursion. */
export function checkYamlDepth(text: string, max = MAX_YAML_DEPTH): YamlViolation | undefined {
  return checkCstDepth(new Parser().parse(text), max);
}

/** checkYamlDepth on CST tokens the caller already has (so they can be composed without a second parse). */
export function checkCstDepth(tokens: Iterable<unknown>, max = MAX_YAML_DEPTH): YamlViolation | undefined {
  for (const tok of tokens) {
    const stack: [CstNode | undefined, number][] = [[tok as CstNode, 0]];
    while (stack.length > 0) {
      const [t, d] = stack.pop()!;
      if (!t || typeof t !== 'object') continue;
      if (d > max) {
        return {
          message: `nesting exceeds the maximum depth of ${max} levels`,
          offset: t.offset ?? 0,
          hint: 'werf.yaml needs a few levels; Stapelkit refuses deeper YAML before parsing it',
        };
      }
      if (t.type === 'document') stack.push([t.value as CstNode, d]);
      else if (Array.isArray(t.items)) {
        for (const it of t.items) {
          if (it.key) stack.push([it.key as CstNode, d + 1]);
          if (it.value) stack.push([it.value as CstNode, d + 1]);
        }
      }
    }
  }
  return undefined;
}

/** alias → the node it names (the last node with that anchor before it), for the whole document in one pass. */
export function aliasTargets(doc: Document): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const out = new Map<Alias, Node | undefined>();
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) out.set(node, anchors.get(node.source));
      else if ((node as Node & { anchor?: string }).anchor) anchors.set((node as Node & { anchor: string }).anchor, node);
    },
  });
  return out;
}

const RATIO_LOW = 400_000;
const RATIO_HIGH = 4_000_000;

function allowedAliasRatio(decodes: number): number {
  if (decodes <= RATIO_LOW) return 0.99;
  if (decodes >= RATIO_HIGH) return 0.1;
  return 0.99 - 0.89 * ((decodes - RATIO_LOW) / (RATIO_HIGH - RATIO_LOW));
}

const MERGE = '<<';

function isMergeKey(k: unknown): boolean {
  return isScalar(k) && ((k as { source?: string }).source === MERGE || typeof k.value === 'symbol' || (k.type === 'PLAIN' && k.value === MERGE));
}

type Task = { node: unknown; merge?: boolean } | { exit: Node };

/**
 * Replays yaml.v2's decoder over `doc` (every node decoded once per path to it, aliases
 * expanded) and reports where its alias guard — or its "anchor value contains itself" check —
 * would fail. `targets` is aliasTargets(doc).
 */
export function checkAliasExpansion(doc: Document, targets: Map<Alias, Node | undefined> = aliasTargets(doc)): YamlViolation | undefined {
  if (targets.size === 0) return undefined;
  let decodes = 1; // the document node
  let aliasDecodes = 0;
  const active: Alias[] = []; // aliases being expanded, outermost first
  const expanding = new Set<Node>();
  const stack: Task[] = [{ node: doc.contents }];
  while (stack.length > 0) {
    const task = stack.pop()!;
    if ('exit' in task) {
      expanding.delete(task.exit);
      active.pop();
      continue;
    }
    const n = task.node;
    if (task.merge && isSeq(n)) {
      // yaml.v2 decodes the maps of a merge list, not the list itself.
      for (let i = 0; i < n.items.length; i++) stack.push({ node: n.items[i] });
      continue;
    }
    decodes++;
    if (active.length > 0) aliasDecodes++;
    if (aliasDecodes > 100 && decodes > 1000 && aliasDecodes / decodes > allowedAliasRatio(decodes)) {
      const at = active[0];
      return {
        message: 'document contains excessive aliasing',
        offset: at?.range ? at.range[0] : 0,
        hint: `expanding *${at?.source ?? '?'} here decodes more nodes than werf's YAML parser allows; write the values out instead of nesting aliases`,
      };
    }
    if (n === null || n === undefined) continue;
    if (isAlias(n)) {
      const target = targets.get(n);
      if (target === undefined) continue; // reported as an unknown alias where it is read
      if (expanding.has(target)) {
        return { message: `anchor '${n.source}' value contains itself`, offset: n.range ? n.range[0] : 0 };
      }
      expanding.add(target);
      active.push(n);
      stack.push({ exit: target }, { node: target });
      continue;
    }
    if (isSeq(n)) {
      for (let i = n.items.length - 1; i >= 0; i--) stack.push({ node: n.items[i] });
    } else if (isMap(n)) {
      for (let i = n.items.length - 1; i >= 0; i--) {
        const p = n.items[i] as Pair;
        if (!isPair(p)) continue;
        if (isMergeKey(p.key)) stack.push({ node: p.value, merge: true });
        else stack.push({ node: p.value }, { node: p.key });
      }
    }
  }
  return undefined;
}

/** Line and column (1-based) of a character offset in `text`. */
export function lineColAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}
