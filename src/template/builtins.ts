/**
 * text/template's builtin functions (Go 1.19 funcs.go): and or not len index print printf println
 * html js urlquery call eq ne lt le gt ge. (`slice` is replaced by Sprig's, as in werf.)
 */
import { GoError, GoFunc, GoInt, GoList, GoMap, Value, goKindName, goTypeName, int } from './value';
import { isGoPrint, sprint, sprintf, sprintln, sprintValue } from './fmt';
import { isTrue } from './exec';
import { goByteLength, goBytes, hasRawBytes } from './bytes';

const RV = 'reflect.Value';

type Kind = 'invalid' | 'bool' | 'int' | 'uint' | 'float' | 'string';

function basicKind(v: Value): Kind {
  if (v === undefined || v === null) return 'invalid';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float';
  if (v instanceof GoInt) return v.unsigned ? 'uint' : 'int';
  return 'invalid';
}

const errBadComparisonType = 'invalid type for comparison';
const errBadComparison = 'incompatible types for comparison';
const errNoComparison = 'missing argument for comparison';

function comparable(v: Value): boolean {
  return !(v instanceof GoList || v instanceof GoMap || v instanceof GoFunc);
}

function fmtS(v: Value): string {
  return sprintf('%s', [v]);
}

export function eq(arg1: Value, ...arg2: Value[]): boolean {
  if (arg2.length === 0) throw new GoError(errNoComparison);
  const a1 = arg1 === null ? undefined : arg1;
  const k1 = basicKind(a1);
  for (let arg of arg2) {
    if (arg === null) arg = undefined;
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2) {
      if (k1 === 'int' && k2 === 'uint') truth = (a1 as GoInt).v >= 0n && (a1 as GoInt).v === (arg as GoInt).v;
      else if (k1 === 'uint' && k2 === 'int') truth = (arg as GoInt).v >= 0n && (a1 as GoInt).v === (arg as GoInt).v;
      else if (a1 !== undefined && arg !== undefined) throw new GoError(errBadComparison);
    } else {
      switch (k1) {
        case 'bool':
        case 'float':
        case 'string':
          truth = a1 === arg;
          break;
        case 'int':
        case 'uint':
          truth = (a1 as GoInt).v === (arg as GoInt).v;
          break;
        default: {
          if (a1 === undefined || arg === undefined) {
            truth = a1 === arg;
          } else if (goKindName(a1) !== goKindName(arg)) {
            throw new GoError(`non-comparable types ${fmtS(a1)}: ${goTypeName(a1)}, ${goTypeName(arg)}: ${sprintValue(arg)}`);
          } else {
            if (!comparable(arg)) throw new GoError(`non-comparable type ${fmtS(arg)}: ${goTypeName(arg)}`);
            if (!comparable(a1)) throw new GoError(`non-comparable type ${fmtS(a1)}: ${goTypeName(a1)}`);
            truth = a1 === arg;
          }
        }
      }
    }
    if (truth) return true;
  }
  return false;
}

export function lt(a: Value, b: Value): boolean {
  if (a === null) a = undefined;
  if (b === null) b = undefined;
  const k1 = basicKind(a);
  if (k1 === 'invalid') throw new GoError(errBadComparisonType);
  const k2 = basicKind(b);
  if (k2 === 'invalid') throw new GoError(errBadComparisonType);
  if (k1 !== k2) {
    if (k1 === 'int' && k2 === 'uint') return (a as GoInt).v < 0n || (a as GoInt).v < (b as GoInt).v;
    if (k1 === 'uint' && k2 === 'int') return (b as GoInt).v >= 0n && (a as GoInt).v < (b as GoInt).v;
    throw new GoError(errBadComparison);
  }
  switch (k1) {
    case 'bool':
      throw new GoError(errBadComparisonType);
    case 'int':
    case 'uint':
      return (a as GoInt).v < (b as GoInt).v;
    case 'float':
      return (a as number) < (b as number);
    case 'string':
      return Buffer.compare(goBytes(a as string), goBytes(b as string)) < 0;
  }
  return false;
}

function length(v: Value): GoInt {
  if (v === null) throw new GoError('len of nil pointer');
  if (v === undefined) throw new GoError('reflect: call of reflect.Value.Type on zero Value');
  if (typeof v === 'string') return int(goByteLength(v));
  if (v instanceof GoList) return int(v.items.length);
  if (v instanceof GoMap) return int(v.size);
  throw new GoError(`len of type ${goTypeName(v)}`);
}

function indexArg(index: Value, cap: number): number {
  if (index === undefined || index === null) throw new GoError('cannot index slice/array with nil');
  if (!(index instanceof GoInt)) throw new GoError(`cannot index slice/array with type ${goTypeName(index)}`);
  const x = index.v;
  if (x < 0n || x > BigInt(cap)) throw new GoError(`index out of range: ${x}`);
  return Number(x);
}

function prepareKey(value: Value, keyType: string): Value {
  if (value === undefined || value === null) {
    if (keyType !== 'interface {}') throw new GoError(`value is nil; should be of type ${keyType}`);
    return null;
  }
  if (keyType === 'interface {}') {
    if (value instanceof GoList || value instanceof GoMap) throw new GoError(`runtime error: hash of unhashable type ${goTypeName(value)}`);
    return value;
  }
  if (keyType === 'string' && typeof value === 'string') return value;
  if (value instanceof GoInt && /^u?int/.test(keyType)) return new GoInt(value.v, keyType as GoInt['kind']);
  throw new GoError(`value has type ${goTypeName(value)}; should be ${keyType}`);
}

export function index(item: Value, ...indexes: Value[]): Value {
  if (item === undefined || item === null) throw new GoError('index of untyped nil');
  for (const ix of indexes) {
    if (item === null || item === undefined) throw new GoError('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = goBytes(item);
      const x = indexArg(ix, bytes.length);
      if (x === bytes.length) throw new GoError('reflect: string index out of range');
      item = int(bytes[x], 'uint8');
    } else if (item instanceof GoList) {
      const x = indexArg(ix, item.items.length);
      if (x === item.items.length) throw new GoError('reflect: slice index out of range');
      item = item.items[x];
    } else if (item instanceof GoMap) {
      const k = prepareKey(ix === null ? undefined : ix, item.key);
      if (item.has(k)) item = item.get(k);
      else item = zeroOf(item.elem);
    } else {
      throw new GoError(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

export function zeroOf(typ: string): Value {
  switch (typ) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'float64':
      return 0;
    case 'int':
    case 'int64':
    case 'int32':
    case 'uint8':
    case 'uint':
    case 'uint64':
      return new GoInt(0n, typ as GoInt['kind']);
  }
  return null;
}

/** Printable form for html/js/urlquery (evalArgs): one string as is, else Sprint with `<no value>` for nil. */
function evalArgs(args: Value[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (a === null || a === undefined ? '<no value>' : a)));
}

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    c === '\0' ? '\uFFFD' : c === '"' ? '&#34;' : c === "'" ? '&#39;' : c === '&' ? '&amp;' : c === '<' ? '&lt;' : '&gt;',
  );
}

export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\': out += '\\\\'; continue;
      case "'": out += "\\'"; continue;
      case '"': out += '\\"'; continue;
      case '<': out += '\\u003C'; continue;
      case '>': out += '\\u003E'; continue;
      case '&': out += '\\u0026'; continue;
      case '=': out += '\\u003D'; continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c < 0x80 || isGoPrint(c) || hasRawBytes(ch)) out += ch; // an invalid byte is RuneError, printable: kept
    else out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = '';
  for (const b of goBytes(s)) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function builtinFuncs(): Map<string, GoFunc> {
  const m = new Map<string, GoFunc>();
  const add = (f: GoFunc) => m.set(f.name, f);
  add(new GoFunc('and', [RV], () => undefined, { variadic: RV, raw: true, ret: RV }));
  add(new GoFunc('or', [RV], () => undefined, { variadic: RV, raw: true, ret: RV }));
  add(new GoFunc('not', [RV], (a) => !isTrue(a === null ? undefined : a)[0], { ret: 'bool' }));
  add(new GoFunc('len', [RV], (a) => length(a), { ret: 'int' }));
  add(new GoFunc('index', [RV], (item, ...ix) => index(item, ...ix), { variadic: RV, ret: RV }));
  add(new GoFunc('print', [], (...a) => sprint(a), { variadic: 'interface {}', ret: 'string' }));
  add(new GoFunc('printf', ['string'], (f, ...a) => sprintf(f as string, a), { variadic: 'interface {}', ret: 'string' }));
  add(new GoFunc('println', [], (...a) => sprintln(a), { variadic: 'interface {}', ret: 'string' }));
  add(new GoFunc('html', [], (...a) => htmlEscape(evalArgs(a)), { variadic: 'interface {}', ret: 'string' }));
  add(new GoFunc('js', [], (...a) => jsEscape(evalArgs(a)), { variadic: 'interface {}', ret: 'string' }));
  add(new GoFunc('urlquery', [], (...a) => queryEscape(evalArgs(a)), { variadic: 'interface {}', ret: 'string' }));
  add(
    new GoFunc(
      'call',
      [RV],
      (fn, ...args) => {
        if (fn === undefined || fn === null) throw new GoError('call of nil');
        if (!(fn instanceof GoFunc)) throw new GoError(`non-function of type ${goTypeName(fn)}`);
        return fn.fn(...args);
      },
      { variadic: RV, ret: RV },
    ),
  );
  add(new GoFunc('eq', [RV], (a, ...b) => eq(a, ...b), { variadic: RV, ret: 'bool' }));
  add(new GoFunc('ne', [RV, RV], (a, b) => !eq(a, b), { ret: 'bool' }));
  add(new GoFunc('lt', [RV, RV], (a, b) => lt(a, b), { ret: 'bool' }));
  add(new GoFunc('le', [RV, RV], (a, b) => lt(a, b) || eq(a, b), { ret: 'bool' }));
  add(new GoFunc('gt', [RV, RV], (a, b) => !(lt(a, b) || eq(a, b)), { ret: 'bool' }));
  add(new GoFunc('ge', [RV, RV], (a, b) => !lt(a, b), { ret: 'bool' }));
  return m;
}

