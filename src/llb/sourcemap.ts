/**
 * LLB source maps (`Definition.Source`, BuildKit v0.8): which lines of which file produced an op,
 * as Go's client/llb writes them. A SourceMap names one file (werf.yaml, a Dockerfile); an op option
 * `location: sm.location(ranges)` ties the op to ranges of it. marshal() collects them: one
 * SourceInfo per distinct map in order of first use, `locations[opDigest]` listing one Location per
 * map (ordered by map index). Nothing here touches op bytes, so digests do not change.
 *
 * Positions: `line` is 1-based, `character` is the 1-based column (0 = unknown), as BuildKit's
 * Dockerfile frontend and our error reporter read them.
 */
import type { Definition } from './definition';
import { invalid } from './vertex';

export interface SourcePosition {
  line: number;
  character?: number;
}

export interface SourceRange {
  start: SourcePosition;
  /** Defaults to `start`. */
  end?: SourcePosition;
}

/** One op's place in one source file. */
export interface SourceLocation {
  readonly sourceMap: SourceMap;
  readonly ranges: readonly SourceRange[];
}

export class SourceMap {
  readonly data?: Buffer;

  constructor(
    readonly filename: string,
    /** The file's contents (BuildKit shows the lines around an error). */
    data?: Uint8Array | string,
    /** The graph that produced the file (Go: the Dockerfile's local source), if any. */
    readonly definition?: Definition,
    /** `Dockerfile`, `yaml`, … (SourceInfo.language, v0.12; older daemons ignore it). */
    readonly language?: string,
  ) {
    if (!filename) throw invalid('a source map needs a file name');
    this.data = data === undefined ? undefined : Buffer.from(data);
  }

  /** The op option tying an op to `ranges` of this file (Go's `sm.Location(ranges)`). */
  location(ranges: SourceRange | readonly SourceRange[]): SourceLocation {
    const list = Array.isArray(ranges) ? (ranges as SourceRange[]) : [ranges as SourceRange];
    for (const r of list) {
      if (!Number.isInteger(r.start.line) || r.start.line < 0) throw invalid(`source range in ${this.filename}: line must be a non-negative integer, got ${r.start.line}`);
    }
    return { sourceMap: this, ranges: list.map((r) => ({ start: { ...r.start }, end: { ...(r.end ?? r.start) } })) };
  }

  /** Shorthand: a location at `line[:column]`. */
  at(line: number, column?: number): SourceLocation {
    return this.location({ start: { line, character: column } });
  }

  /** Same file, same contents, same language (Go's equalSourceMap): such maps share one SourceInfo. */
  sameAs(other: SourceMap): boolean {
    if (other === this) return true;
    const sameData = this.data === undefined ? other.data === undefined : other.data !== undefined && this.data.equals(other.data);
    return this.filename === other.filename && this.language === other.language && sameData && this.definition === other.definition;
  }
}

/** pb.Source, ready to encode. */
export interface PbSource {
  /** op digest → Locations */
  locations: Record<string, { locations: { sourceIndex: number; ranges: { start: { line: number; character: number }; end: { line: number; character: number } }[] }[] }>;
  infos: { filename: string; data?: Buffer; definition?: Definition; language?: string }[];
}

/** Go's sourceMapCollector: maps in order of first use; per map, op digest → ranges (a later add wins). */
export class SourceMapCollector {
  private readonly maps: SourceMap[] = [];
  private readonly ranges: Map<string, readonly SourceRange[]>[] = [];

  add(digest: string, locations: readonly SourceLocation[] | undefined): void {
    for (const l of locations ?? []) {
      let idx = this.maps.findIndex((m) => m.sameAs(l.sourceMap));
      if (idx < 0) {
        idx = this.maps.length;
        this.maps.push(l.sourceMap);
        this.ranges.push(new Map());
      }
      this.ranges[idx].set(digest, l.ranges);
    }
  }

  get empty(): boolean {
    return this.maps.length === 0;
  }

  /** pb.Source, or undefined when no op has a location. */
  toPb(): PbSource | undefined {
    if (this.empty) return undefined;
    const out: PbSource = { locations: {}, infos: [] };
    this.maps.forEach((m, i) => {
      out.infos.push({ filename: m.filename, data: m.data, definition: m.definition, language: m.language });
      for (const [digest, ranges] of this.ranges[i]) {
        (out.locations[digest] ??= { locations: [] }).locations.push({
          sourceIndex: i,
          ranges: ranges.map((r) => ({ start: pos(r.start), end: pos(r.end ?? r.start) })),
        });
      }
    });
    return out;
  }
}

function pos(p: SourcePosition): { line: number; character: number } {
  return { line: p.line, character: p.character ?? 0 };
}
