/** The `yaml` package's nodes for a config document next to the fast path's, and where they differ. */
import { Composer, LineCounter, Parser, isMap, isScalar, isSeq, type Document, type Node, type Pair } from 'yaml';
import { CONFIG_YAML_OPTIONS, fastParseDocument } from '../../../src/config/fastyaml';

export function packageParse(text: string): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const docs = Array.from(new Composer(CONFIG_YAML_OPTIONS).compose(tokens, true, text.length));
  return { doc: docs[0] as Document, lineCounter };
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  return Object.is(a, b);
}

function diffNode(a: Node | null, b: Node | null, path: string): string | undefined {
  if (a === null || b === null) return a === b ? undefined : `${path}: ${a === null ? 'null' : 'node'} vs ${b === null ? 'null' : 'node'}`;
  if (a.constructor !== b.constructor) return `${path}: ${a.constructor.name} vs ${b.constructor.name}`;
  if (a.range?.[0] !== b.range?.[0]) return `${path}: range start ${a.range?.[0]} vs ${b.range?.[0]}`;
  if (isScalar(a) && isScalar(b)) {
    const sa = a as typeof a & { source?: string };
    const sb = b as typeof b & { source?: string };
    if (!same(a.value, b.value)) return `${path}: value ${String(a.value)} vs ${String(b.value)}`;
    if (sa.source !== sb.source) return `${path}: source ${sa.source} vs ${sb.source}`;
    if (a.type !== b.type) return `${path}: type ${a.type} vs ${b.type}`;
    if (a.format !== b.format) return `${path}: format ${a.format} vs ${b.format}`;
    if (a.range?.[1] !== b.range?.[1]) return `${path}: range end ${a.range?.[1]} vs ${b.range?.[1]}`;
    return undefined;
  }
  if (isMap(a) && isMap(b)) {
    if (a.items.length !== b.items.length) return `${path}: ${a.items.length} vs ${b.items.length} entries`;
    for (let i = 0; i < a.items.length; i++) {
      const pa = a.items[i] as Pair<Node, Node>;
      const pb = b.items[i] as Pair<Node, Node>;
      const d = diffNode(pa.key, pb.key, `${path}.key${i}`) ?? diffNode(pa.value ?? null, pb.value ?? null, `${path}.${String((pa.key as { source?: string }).source)}`);
      if (d) return d;
    }
    return undefined;
  }
  if (isSeq(a) && isSeq(b)) {
    if (!!a.flow !== !!b.flow) return `${path}: flow ${!!a.flow} vs ${!!b.flow}`;
    if (a.items.length !== b.items.length) return `${path}: ${a.items.length} vs ${b.items.length} items`;
    for (let i = 0; i < a.items.length; i++) {
      const d = diffNode(a.items[i] as Node, b.items[i] as Node, `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  return `${path}: unexpected node kinds`;
}

/**
 * undefined when the fast path declines `text` or builds what the package builds (and the package
 * reports no error or warning for it); else what differs.
 */
export function fastPathDifference(text: string): { taken: boolean; diff?: string } {
  const fast = fastParseDocument(text);
  if (!fast) return { taken: false };
  const ref = packageParse(text);
  if (ref.doc.errors.length) return { taken: true, diff: `the package reports ${ref.doc.errors[0].code}: ${ref.doc.errors[0].message}` };
  if (ref.doc.warnings.length) return { taken: true, diff: `the package warns ${ref.doc.warnings[0].code}` };
  if (ref.lineCounter.lineStarts.join(',') !== fast.lineCounter.lineStarts.join(',')) return { taken: true, diff: `line starts ${fast.lineCounter.lineStarts} vs ${ref.lineCounter.lineStarts}` };
  return { taken: true, diff: diffNode(fast.doc.contents as Node | null, ref.doc.contents as Node | null, '') };
}
