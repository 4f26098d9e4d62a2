/**
 * Go's fmt printing for template values: `%v` of every value kind (`<nil>`, `[1 2]`, `map[a:1]`,
 * floats via `%g` shortest), Sprint/Sprintln spacing rules, and Sprintf with Go's verbs, flags,
 * width/precision and error annotations (`%!d(string=x)`, `%!v(MISSING)`, `%!(EXTRA …)`).
 */
import { GoFunc, GoInt, GoList, GoMap, GoStruct, GoTime, Value, goTypeName } from './value';
import { timeString } from './gotime';
import { goBytes, goNormalize, hasRawBytes } from './bytes';

// ---- float formatting (strconv.FormatFloat) ----

/** Exact decimal digits of a finite non-negative double: value = 0.d1d2d3… × 10^dp. */
function exactDecimal(x: number): { d: string; dp: number } {
  if (x === 0) return { d: '', dp: 0 };
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const hi = buf.getUint32(0);
  const lo = buf.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e: number;
  if (expBits === 0) e = -1074;
  else {
    mant |= 1n << 52n;
    e = expBits - 1075;
  }
  let digits: string;
  let dp: number;
  if (e >= 0) {
    digits = (mant << BigInt(e)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e)).toString();
    dp = digits.length - -e;
  }
  digits = digits.replace(/0+$/, '');
  const lead = digits.match(/^0*/)![0].length;
  return { d: digits.slice(lead), dp: dp - lead };
}

/** Shortest digits that round-trip (what JS's toExponential() gives and Go's shortest mode). */
function shortestDecimal(x: number): { d: string; dp: number } {
  if (x === 0) return { d: '', dp: 0 };
  const s = x.toExponential();
  const [m, ex] = s.split('e');
  const d = m.replace('.', '').replace(/0+$/, '');
  return { d: d === '' ? '0' : d, dp: Number(ex) + 1 };
}

/** Round exact digits to nd digits, half to even on exact ties (Go's decimal rounding). */
function roundDigits(dec: { d: string; dp: number }, nd: number): { d: string; dp: number } {
  let { d, dp } = dec;
  if (nd < 0) return { d: '', dp };
  if (d.length <= nd) return { d, dp };
  const next = d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next > 5) up = true;
  else if (next < 5) up = false;
  else {
    const rest = d.slice(nd + 1);
    if (/[1-9]/.test(rest)) up = true;
    else up = nd > 0 && (d.charCodeAt(nd - 1) - 48) % 2 === 1;
  }
  d = d.slice(0, nd);
  if (up) {
    const arr = d.split('').map((c) => c.charCodeAt(0) - 48);
    let i = arr.length - 1;
    while (i >= 0 && arr[i] === 9) {
      arr[i] = 0;
      i--;
    }
    if (i < 0) {
      d = '1';
      dp++;
    } else {
      arr[i]++;
      d = arr.join('');
    }
  }
  d = d.replace(/0+$/, '');
  return { d, dp };
}

function fmtE(neg: boolean, dec: { d: string; dp: number }, prec: number, ch: string): string {
  let s = neg ? '-' : '';
  const first = dec.d.length === 0 ? '0' : dec.d[0];
  s += first;
  if (prec > 0) {
    s += '.';
    let i = 1;
    const m = Math.min(dec.d.length, prec + 1);
    if (i < m) {
      s += dec.d.slice(i, m);
      i = m;
    }
    for (; i <= prec; i++) s += '0';
  }
  s += ch;
  let exp = dec.dp - 1;
  if (dec.d.length === 0) exp = 0;
  if (exp < 0) {
    s += '-';
    exp = -exp;
  } else s += '+';
  s += exp < 10 ? '0' + exp : String(exp);
  return s;
}

function fmtF(neg: boolean, dec: { d: string; dp: number }, prec: number): string {
  let s = neg ? '-' : '';
  if (dec.dp > 0) {
    const m = Math.min(dec.d.length, dec.dp);
    s += dec.d.slice(0, m);
    for (let i = m; i < dec.dp; i++) s += '0';
  } else s += '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = dec.dp + i - 1;
      s += j < 0 || j >= dec.d.length ? '0' : dec.d[j];
    }
  }
  return s;
}

/** strconv.FormatFloat(x, verb, prec, 64) for verbs e E f F g G. */
export function formatFloat(x: number, verb: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const shortest = prec < 0;
  let dec: { d: string; dp: number };
  if (shortest) {
    dec = shortestDecimal(ax);
  } else {
    const exact = exactDecimal(ax);
    switch (verb) {
      case 'e':
      case 'E':
        dec = roundDigits(exact, prec + 1);
        break;
      case 'f':
      case 'F':
        dec = roundDigits(exact, exact.dp + prec);
        break;
      default:
        dec = roundDigits(exact, prec === 0 ? 1 : prec);
    }
  }
  switch (verb) {
    case 'e':
    case 'E':
      return fmtE(neg, dec, shortest ? Math.max(dec.d.length - 1, 0) : prec, verb);
    case 'f':
    case 'F':
      return fmtF(neg, dec, shortest ? Math.max(dec.d.length - dec.dp, 0) : prec);
    case 'g':
    case 'G': {
      let p = prec;
      let eprec = p;
      const nd = dec.d.length;
      if (shortest) p = nd;
      if (p === 0) p = 1;
      eprec = p;
      if (eprec > nd && nd >= dec.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = nd === 0 ? 0 : dec.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (p > nd) p = nd;
        return fmtE(neg, dec, Math.max(p - 1, 0), verb === 'g' ? 'e' : 'E');
      }
      if (p > dec.dp) p = nd;
      return fmtF(neg, dec, Math.max(p - dec.dp, 0));
    }
  }
  return String(x);
}

// ---- strconv.Quote ----

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

export function isGoPrint(cp: number): boolean {
  if (cp < 0x20 || cp === 0x7f) return false;
  if (cp < 0x7f) return true;
  return printable.test(String.fromCodePoint(cp));
}

/** utf8.EncodeRune: a code point that is out of range or a surrogate becomes U+FFFD. */
function runeString(n: bigint): string {
  const c = Number(n);
  return String.fromCodePoint(n >= 0n && n <= 0x10ffffn && !(c >= 0xd800 && c <= 0xdfff) ? c : 0xfffd);
}

/** strconv.Quote (QuoteToASCII with `ascii`); an invalid byte is written as \\x… */
export function goQuote(s: string, quote = '"', ascii = false): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (isGoPrint(cp) && !(ascii && cp >= 0x80)) {
      out += ch;
      continue;
    }
    switch (ch) {
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
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0xdc80 && cp <= 0xdcff) out += '\\x' + (cp - 0xdc00).toString(16); // an invalid byte (see bytes.ts)
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + quote;
}

// ---- %v ----

/** fmt's `%v` of one value (also what Sprint uses). */
export function sprintValue(v: Value): string {
  return formatValue(v, 'v', defaultFlags(), 0);
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: Value[]): string {
  let out = '';
  let prevString = false;
  args.forEach((a, i) => {
    const isString = typeof a === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += sprintValue(a);
    prevString = isString;
  });
  return out;
}

export function sprintln(args: Value[]): string {
  return args.map(sprintValue).join(' ') + '\n';
}

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  wid?: number;
  prec?: number;
}

function defaultFlags(): Flags {
  return { plus: false, minus: false, sharp: false, space: false, zero: false };
}

function runeLen(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function pad(s: string, f: Flags): string {
  if (f.wid === undefined) return s;
  const n = f.wid - runeLen(s);
  if (n <= 0) return s;
  if (f.minus) return s + ' '.repeat(n);
  return (f.zero ? '0' : ' ').repeat(n) + s;
}

/** `%!verb(type=value)`: fmt prints the value with %v under the same flags, width and precision. */
function badVerb(verb: string, v: Value, f: Flags = defaultFlags()): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatValue(v, 'v', f, 0)})`;
}

function fmtInteger(v: GoInt, verb: string, f: Flags): string {
  let n = v.v;
  const neg = n < 0n;
  if (neg) n = -n;
  let digits: string;
  let prefix = '';
  switch (verb) {
    case 'v':
    case 'd':
      digits = n.toString(10);
      break;
    case 'b':
      digits = n.toString(2);
      if (f.sharp) prefix = '0b';
      break;
    case 'o':
    case 'O':
      digits = n.toString(8);
      if (verb === 'O') prefix = '0o';
      else if (f.sharp && digits !== '0') prefix = '0';
      break;
    case 'x':
      digits = n.toString(16);
      if (f.sharp) prefix = '0x';
      break;
    case 'X':
      digits = n.toString(16).toUpperCase();
      if (f.sharp) prefix = '0X';
      break;
    case 'c':
      return pad(runeString(v.v), f);
    case 'q':
      return pad(goQuote(runeString(v.v), "'", f.plus), f);
    case 'U': {
      let s = 'U+' + n.toString(16).toUpperCase().padStart(4, '0');
      if (f.sharp && isGoPrint(Number(n))) s += " '" + String.fromCodePoint(Number(n)) + "'";
      return pad(s, f);
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 's':
    case 't':
    default:
      return badVerb(verb, v, f);
  }
  if (f.prec !== undefined) {
    if (f.prec === 0 && n === 0n) digits = '';
    digits = digits.padStart(f.prec, '0');
  } else if (f.zero && !f.minus && f.wid !== undefined) {
    let w = f.wid - prefix.length;
    if (neg || f.plus || f.space) w--;
    digits = digits.padStart(w, '0');
  }
  let s = prefix + digits;
  if (neg) s = '-' + s;
  else if (f.plus) s = '+' + s;
  else if (f.space) s = ' ' + s;
  return pad(s, { ...f, zero: false });
}

function fmtFloatVerb(x: number, verb: string, f: Flags): string {
  let fv = verb;
  let prec: number;
  switch (verb) {
    case 'v':
      fv = 'g';
      prec = -1;
      break;
    case 'g':
    case 'G':
      prec = -1;
      break;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
      prec = 6;
      break;
    default:
      return badVerb(verb, x, f);
  }
  if (f.prec !== undefined) prec = f.prec;
  let num = formatFloat(x, fv, prec);
  if (num === 'NaN' || num === '+Inf' || num === '-Inf') {
    // fmt keeps the sign of +Inf; NaN gets one only with the plus/space flags.
    if (num === '+Inf' && f.space && !f.plus) num = ' Inf';
    if (num === 'NaN' && (f.plus || f.space)) num = (f.plus ? '+' : ' ') + num;
    return pad(num, { ...f, zero: false });
  }
  let sign = '';
  if (num[0] === '-') {
    sign = '-';
    num = num.slice(1);
  } else if (f.plus) sign = '+';
  else if (f.space) sign = ' ';
  if (f.zero && !f.minus && f.wid !== undefined && f.wid > num.length + sign.length) {
    return sign + '0'.repeat(f.wid - num.length - sign.length) + num;
  }
  return pad(sign + num, { ...f, zero: false });
}

function fmtString(s: string, verb: string, f: Flags): string {
  if (f.prec !== undefined) {
    const chars = [...s];
    if (chars.length > f.prec) s = chars.slice(0, f.prec).join('');
  }
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, f);
    case 'q':
      if (f.sharp && !s.includes('`') && [...s].every((c) => c === '\t' || isGoPrint(c.codePointAt(0)!))) return pad('`' + s + '`', f);
      return pad(goQuote(s, '"', f.plus), f);
    case 'x':
    case 'X': {
      const bytes = goBytes(s);
      let out = '';
      bytes.forEach((b, i) => {
        if (f.space && i > 0) out += ' ';
        if (f.sharp && (f.space || i === 0)) out += verb === 'x' ? '0x' : '0X';
        const h = b.toString(16).padStart(2, '0');
        out += verb === 'X' ? h.toUpperCase() : h;
      });
      return pad(out, f);
    }
  }
  return badVerb(verb, s, f);
}

function formatValue(v: Value, verb: string, f: Flags, depth: number): string {
  if (v === undefined || v === null) {
    // a nil element inside a slice or map prints as <nil> whatever the verb
    if (verb === 'v' || verb === 'T' || depth > 0) return pad('<nil>', f);
    return badVerb(verb, v, f);
  }
  if (verb === 'T') return pad(goTypeName(v), f);
  if (typeof v === 'string') return fmtString(v, verb, f);
  if (typeof v === 'boolean') {
    if (verb === 'v' || verb === 't') return pad(v ? 'true' : 'false', f);
    return badVerb(verb, v, f);
  }
  if (typeof v === 'number') return fmtFloatVerb(v, verb, f);
  if (v instanceof GoInt) return fmtInteger(v, verb, f);
  if (v instanceof GoTime) {
    if (verb === 'v' || verb === 's' || verb === 'q' || verb === 'x' || verb === 'X') return fmtString(timeString(v), verb, f);
    return badVerb(verb, v, f);
  }
  if (v instanceof GoList) {
    if (f.sharp && verb === 'v') return goSyntax(v);
    const inner = v.items.map((x) => formatValue(x, verb, { ...f, wid: f.wid }, depth + 1));
    return '[' + inner.join(' ') + ']';
  }
  if (v instanceof GoMap) {
    if (f.sharp && verb === 'v') return goSyntax(v);
    const parts = v.sorted().map((e) => formatValue(e.k, verb, f, depth + 1) + ':' + formatValue(e.v, verb, f, depth + 1));
    return 'map[' + parts.join(' ') + ']';
  }
  if (v instanceof GoStruct) return v.printed;
  if (v instanceof GoFunc) return '0x' + '0'.repeat(6);
  return String(v);
}

/** `%#v` for the common kinds (a nil operand prints as <nil>, a nil element as interface {}(nil)). */
function goSyntaxTop(v: Value): string {
  return v === null || v === undefined ? '<nil>' : goSyntax(v);
}

function goSyntax(v: Value): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return formatFloat(v, 'g', -1);
  if (v instanceof GoInt) {
    return v.unsigned ? '0x' + v.v.toString(16) : v.v.toString();
  }
  if (v instanceof GoList) return '[]' + v.elem + '{' + v.items.map(goSyntax).join(', ') + '}';
  if (v instanceof GoMap) return `map[${v.key}]${v.elem}{` + v.sorted().map((e) => goSyntax(e.k) + ':' + goSyntax(e.v)).join(', ') + '}';
  return sprintValue(v);
}

/** fmt.Sprintf. */
/** fmt's parsenum: digits at s[i..end), capped like Go's tooLarge. */
function parseNum(s: string, i: number, end: number): { num: number; ok: boolean; i: number } {
  let num = 0;
  let ok = false;
  for (; i < end && s[i] >= '0' && s[i] <= '9'; i++) {
    if (num > 1e6) return { num: 0, ok: false, i: end };
    num = num * 10 + (s.charCodeAt(i) - 48);
    ok = true;
  }
  return { num, ok, i };
}

/** fmt's intFromArg: an integer argument for `*` width/precision. */
function intFromArg(args: Value[], argNum: number): { num: number; ok: boolean; argNum: number } {
  if (argNum >= args.length) return { num: 0, ok: false, argNum };
  const a = args[argNum];
  let num = 0;
  let ok = false;
  if (a instanceof GoInt && a.v >= -(2n ** 63n) && a.v < 2n ** 63n) {
    num = Number(a.v);
    ok = true;
  }
  if (num > 1e6 || num < -1e6) return { num: 0, ok: false, argNum: argNum + 1 };
  return { num, ok, argNum: argNum + 1 };
}

/** fmt.Sprintf (Go 1.19 doPrintf): flags, width, precision, `*`, explicit argument indexes `%[n]`. */
export function sprintf(format: string, args: Value[]): string {
  let out = '';
  let argNum = 0;
  let afterIndex = false;
  let reordered = false;
  let goodArgNum = true;
  let i = 0;
  const end = format.length;
  // fmt's argNumber: an optional `[n]` at i selects argument n-1.
  const argNumber = (): void => {
    if (i >= end || format[i] !== '[') {
      afterIndex = false;
      return;
    }
    reordered = true;
    let index = 0;
    let wid = 1;
    let ok = false;
    if (end - i >= 3) {
      const close = format.indexOf(']', i + 1);
      if (close >= 0) {
        const r = parseNum(format, i + 1, close);
        wid = close - i + 1;
        if (r.ok && r.i === close) {
          index = r.num - 1;
          ok = true;
        }
      }
    }
    if (ok && index >= 0 && index < args.length) {
      argNum = index;
      i += wid;
      afterIndex = true;
      return;
    }
    goodArgNum = false;
    i += wid;
    afterIndex = ok;
  };
  while (i < end) {
    goodArgNum = true;
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f = defaultFlags();
    for (; i < end; i++) {
      const c = format[i];
      if (c === '#') f.sharp = true;
      else if (c === '0') f.zero = !f.minus;
      else if (c === '+') f.plus = true;
      else if (c === '-') {
        f.minus = true;
        f.zero = false;
      } else if (c === ' ') f.space = true;
      else break;
    }
    argNumber();
    // width
    if (i < end && format[i] === '*') {
      i++;
      const r = intFromArg(args, argNum);
      argNum = r.argNum;
      if (!r.ok) out += '%!(BADWIDTH)';
      else {
        f.wid = r.num;
        if (f.wid < 0) {
          f.wid = -f.wid;
          f.minus = true;
          f.zero = false;
        }
      }
      afterIndex = false;
    } else {
      const r = parseNum(format, i, end);
      i = r.i;
      if (r.ok) {
        f.wid = r.num;
        if (afterIndex) goodArgNum = false; // "%[3]2d"
      }
    }
    // precision
    if (i + 1 < end && format[i] === '.') {
      i++;
      if (afterIndex) goodArgNum = false; // "%[3].2d"
      argNumber();
      if (i < end && format[i] === '*') {
        i++;
        const r = intFromArg(args, argNum);
        argNum = r.argNum;
        // a negative precision is as bad as a missing one
        if (r.ok && r.num >= 0) f.prec = r.num;
        else out += '%!(BADPREC)';
        afterIndex = false;
      } else {
        const r = parseNum(format, i, end);
        i = r.i;
        f.prec = r.ok ? r.num : 0;
      }
    }
    if (!afterIndex) argNumber();
    if (i >= end) {
      out += '%!(NOVERB)';
      break;
    }
    let verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (hasRawBytes(verb)) verb = '\uFFFD'; // an invalid byte decodes as RuneError
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (!goodArgNum) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    const a = args[argNum++];
    if (verb === 'v' && f.sharp) {
      out += goSyntaxTop(a);
      continue;
    }
    out += formatValue(a, verb, f, 0);
  }
  // Go skips the EXTRA check when arguments were indexed explicitly.
  if (!reordered && argNum < args.length) {
    out += '%!(EXTRA ' + args.slice(argNum).map((a) => (a === null || a === undefined ? '<nil>' : goTypeName(a) + '=' + sprintValue(a))).join(', ') + ')';
  }
  return goNormalize(out);
}
