/**
 * The value model of the template engine: how Go values that a werf.yaml template can see are held
 * in JS. Go distinguishes int/int64/float64 (printing, Sprig math, typeOf), slices and maps carry
 * element types (`[]string` vs `[]interface {}`, yaml.v2's `map[interface {}]interface {}`), and a
 * missing map key ("no value", an invalid reflect.Value) differs from nil.
 *
 *   undefined  → invalid reflect.Value (missing key), printed `<no value>`
 *   null       → nil (interface), printed `<nil>` by fmt
 *   string / boolean
 *   number     → float64
 *   GoInt      → int, int64, uint8 … (bigint inside, so int64 is exact)
 *   GoList     → a slice with an element type
 *   GoMap      → a map with key and element types
 *   GoTime     → time.Time
 *   GoStruct   → a struct with methods (werf's `.Files`)
 *   GoFunc     → a function value (what the template calls)
 */

export type IntKind = 'int' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint' | 'uint8' | 'uint16' | 'uint32' | 'uint64';

export class GoInt {
  constructor(readonly v: bigint, readonly kind: IntKind = 'int') {}
  get unsigned(): boolean {
    return this.kind.startsWith('u');
  }
  toNumber(): number {
    return Number(this.v);
  }
}

export class GoList {
  constructor(public items: Value[], readonly elem: string = 'interface {}') {}
}

/** Map keys are kept as strings for string-keyed maps; other keys (yaml.v2 ints/bools) are encoded. */
export class GoMap {
  readonly m = new Map<string, { k: Value; v: Value }>();
  constructor(readonly key: string = 'string', readonly elem: string = 'interface {}') {}
  static keyId(k: Value): string {
    if (typeof k === 'string') return k;
    return '\u0000' + goTypeName(k) + ':' + sprintValue(k);
  }
  get(k: Value): Value {
    const e = this.m.get(GoMap.keyId(k));
    return e ? e.v : undefined;
  }
  has(k: Value): boolean {
    return this.m.has(GoMap.keyId(k));
  }
  set(k: Value, v: Value): this {
    this.m.set(GoMap.keyId(k), { k, v });
    return this;
  }
  delete(k: Value): void {
    this.m.delete(GoMap.keyId(k));
  }
  get size(): number {
    return this.m.size;
  }
  /** Entries in Go's sorted order (fmt and range both sort keys). */
  sorted(): { k: Value; v: Value }[] {
    return [...this.m.values()].sort((a, b) => compareKeys(a.k, b.k));
  }
  clone(): GoMap {
    const n = new GoMap(this.key, this.elem);
    for (const [id, e] of this.m) n.m.set(id, { k: e.k, v: e.v });
    return n;
  }
  static fromObject(o: Record<string, Value>, elem = 'interface {}'): GoMap {
    const m = new GoMap('string', elem);
    for (const [k, v] of Object.entries(o)) m.set(k, v);
    return m;
  }
}

/** time.Time: an instant plus the zone it is shown in ('UTC', 'Local' = the process's zone, or an IANA name). */
export class GoTime {
  constructor(readonly ms: number, readonly nanos: number = 0, readonly zone: string = 'UTC') {}
}

/**
 * A struct value, or a pointer to one (`kind` 'ptr', e.g. Sprig's *semver.Version), with the
 * methods a template may call; `text` is its encoding.TextMarshaler form where it has one (what
 * toYaml/toJson print instead of `{}`).
 */
export class GoStruct {
  constructor(
    readonly typeName: string,
    readonly methods: Record<string, GoFunc>,
    readonly printed = '{}',
    readonly opts: { kind?: 'struct' | 'ptr'; text?: string } = {},
  ) {}
  get kind(): 'struct' | 'ptr' {
    return this.opts.kind ?? 'struct';
  }
}

/** A callable with a Go signature; the engine checks argument count and types the way text/template does. */
export class GoFunc {
  constructor(
    readonly name: string,
    readonly params: string[],
    readonly fn: (...args: Value[]) => Value,
    readonly opts: { variadic?: string; ret?: string; raw?: boolean } = {},
  ) {}
}

export type Value = undefined | null | string | boolean | number | GoInt | GoList | GoMap | GoTime | GoStruct | GoFunc;

/** An error a function returns (Go's `error` result) or a panic inside it; text/template wraps it. */
export class GoError extends Error {
  /** Optional Stapelkit error code for the caller (e.g. TEMPLATE_ENV). */
  code?: string;
}

export function int(n: number | bigint, kind: IntKind = 'int'): GoInt {
  return new GoInt(typeof n === 'bigint' ? n : BigInt(Math.trunc(n)), kind);
}

export function list(items: Value[], elem = 'interface {}'): GoList {
  return new GoList(items, elem);
}

/** Strings, bools, float64 and integers: their Go type is also their kind. */
function scalarTypeName(v: Value): string | undefined {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'float64';
  if (v instanceof GoInt) return v.kind;
  return undefined;
}

/** Go's `%T`. */
export function goTypeName(v: Value): string {
  if (v === undefined || v === null) return '<nil>';
  const scalar = scalarTypeName(v);
  if (scalar) return scalar;
  if (v instanceof GoList) return '[]' + v.elem;
  if (v instanceof GoMap) return `map[${v.key}]${v.elem}`;
  if (v instanceof GoTime) return 'time.Time';
  if (v instanceof GoStruct) return v.typeName;
  if (v instanceof GoFunc) return 'func(' + v.params.join(', ') + ')';
  return 'unknown';
}

/** reflect.Kind name (Sprig's kindOf). */
export function goKindName(v: Value): string {
  if (v === undefined || v === null) return 'invalid';
  const scalar = scalarTypeName(v);
  if (scalar) return scalar;
  if (v instanceof GoList) return 'slice';
  if (v instanceof GoMap) return 'map';
  if (v instanceof GoStruct) return v.kind;
  if (v instanceof GoTime) return 'struct';
  if (v instanceof GoFunc) return 'func';
  return 'invalid';
}

const kindRank = (v: Value): number => {
  if (typeof v === 'boolean') return 0;
  if (v instanceof GoInt) return 1;
  if (typeof v === 'number') return 2;
  if (typeof v === 'string') return 3;
  return 4;
};

/** internal/fmtsort order for keys of one type; mixed types are grouped by a fixed kind order. */
export function compareKeys(a: Value, b: Value): number {
  const ra = kindRank(a);
  const rb = kindRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'string' && typeof b === 'string') return compareGoStrings(a, b);
  if (a instanceof GoInt && b instanceof GoInt) return a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  return 0;
}

/** Go compares strings bytewise (UTF-8); comparing code points gives the same order. */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0;
  const la = a.length;
  const lb = b.length;
  for (let i = 0, j = 0; i < la && j < lb; ) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(j)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
  }
  return la < lb ? -1 : la > lb ? 1 : a < b ? -1 : 1;
}

// Late import to avoid a cycle at module load: fmt needs the classes above.
import { sprintValue } from './fmt';
