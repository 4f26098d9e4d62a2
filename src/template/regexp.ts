/**
 * Go regexp (RE2 syntax) on top of JS RegExp: the pattern is translated (flags, \A \z, \Q…\E,
 * (?P<name>), POSIX classes, ASCII \s, \x{…}, octal, escaped punctuation), constructs whose meaning
 * differs or that RE2 rejects (backreferences, lookaround, scoped flags, (?U)) are refused with an
 * error, and matching iterates the way Go does (empty matches right after a match are skipped;
 * `$1`/`${name}` expansion follows Go's rules).
 */
import { GoError } from './value';

export interface GoRegexp {
  re: RegExp; // flags d (indices), g, u
  names: (string | null)[]; // subexpression names, index 0 = whole match
  test(s: string): boolean;
}

class RegexSyntaxError extends Error {}

const posix: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const unicodeCats = new Set(['C', 'Cc', 'Cf', 'Co', 'Cs', 'L', 'Ll', 'Lm', 'Lo', 'Lt', 'Lu', 'M', 'Mc', 'Me', 'Mn', 'N', 'Nd', 'Nl', 'No', 'P', 'Pc', 'Pd', 'Pe', 'Pf', 'Pi', 'Po', 'Ps', 'S', 'Sc', 'Sk', 'Sm', 'So', 'Z', 'Zl', 'Zp', 'Zs']);

function jsLiteral(ch: string): string {
  if (/[\^$\\.*+?()[\]{}|/]/.test(ch)) return '\\' + ch;
  if (ch === '-') return '\\-';
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  return ch;
}

function classLiteral(ch: string): string {
  if (/[\\\]\[^\-]/.test(ch)) return '\\' + ch;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) return '\\x' + cp.toString(16).padStart(2, '0');
  return ch;
}

function translate(pattern: string): { source: string; flags: string; names: (string | null)[] } {
  let flags = '';
  let i = 0;
  const chars = [...pattern];
  const names: (string | null)[] = [null];
  let out = '';
  let depth = 0;
  const n = chars.length;
  const err = (msg: string): never => {
    throw new RegexSyntaxError(msg);
  };
  // leading flag group
  const lead = /^\(\?([imsU]+)\)/.exec(pattern);
  if (lead) {
    for (const f of lead[1]) {
      if (f === 'U') err('Stapelkit does not support the (?U) flag');
      if (!flags.includes(f)) flags += f;
    }
    i = [...lead[0]].length;
  }
  let canRepeat = false;
  const parseEscape = (inClass: boolean): string => {
    // at chars[i] === '\\'
    const c = chars[i + 1];
    if (c === undefined) err('trailing backslash at end of expression: ``');
    i += 2;
    switch (c) {
      case 'd': case 'D': case 'w': case 'W':
        return '\\' + c;
      case 's':
        return inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
      case 'S':
        if (inClass) err('Stapelkit does not support \\S inside a character class');
        return '[^\\t\\n\\f\\r ]';
      case 'b': case 'B':
        if (inClass) err(`invalid escape sequence: \`\\${c}\``);
        return '\\' + c;
      case 'A':
        if (inClass) err('invalid escape sequence: `\\A`');
        return '(?<![\\s\\S])';
      case 'z':
        if (inClass) err('invalid escape sequence: `\\z`');
        return '(?![\\s\\S])';
      case 'a': return '\\x07';
      case 'f': return '\\f';
      case 't': return '\\t';
      case 'n': return '\\n';
      case 'r': return '\\r';
      case 'v': return '\\v';
      case 'x': {
        if (chars[i] === '{') {
          const end = chars.indexOf('}', i);
          if (end < 0) err('invalid escape sequence: `\\x{`');
          const hex = chars.slice(i + 1, end).join('');
          if (!/^[0-9a-fA-F]+$/.test(hex) || parseInt(hex, 16) > 0x10ffff) err(`invalid escape sequence: \`\\x{${hex}}\``);
          i = end + 1;
          return '\\u{' + hex + '}';
        }
        const hex = chars.slice(i, i + 2).join('');
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) err(`invalid escape sequence: \`\\x${hex}\``);
        i += 2;
        return '\\x' + hex;
      }
      case 'p': case 'P': {
        let name: string;
        if (chars[i] === '{') {
          const end = chars.indexOf('}', i);
          if (end < 0) err(`invalid character class range: \`\\${c}{\``);
          name = chars.slice(i + 1, end).join('');
          i = end + 1;
        } else {
          name = chars[i] ?? '';
          i++;
        }
        let neg = c === 'P';
        if (name.startsWith('^')) {
          neg = !neg;
          name = name.slice(1);
        }
        let prop: string;
        if (name === 'Any') return neg ? '[^\\s\\S]' : '[\\s\\S]';
        if (unicodeCats.has(name)) prop = name;
        else {
          try {
            new RegExp(`\\p{Script=${name}}`, 'u');
          } catch {
            err(`invalid character class range: \`\\${c}{${name}}\``);
          }
          prop = 'Script=' + name;
        }
        return (neg ? '\\P{' : '\\p{') + prop + '}';
      }
      case 'Q': {
        const end = pattern.indexOf('\\E', [...pattern].slice(0, i).join('').length);
        let lit: string[];
        if (end < 0) {
          lit = chars.slice(i);
          i = n;
        } else {
          const endIdx = [...pattern.slice(0, end)].length;
          lit = chars.slice(i, endIdx);
          i = endIdx + 2;
        }
        return lit.map((ch) => (inClass ? classLiteral(ch) : jsLiteral(ch))).join('');
      }
    }
    if (c >= '0' && c <= '7') {
      // Go: \1-\7 alone is a backreference (unsupported); \0 or two+ octal digits is an octal escape.
      let digits = c;
      while (digits.length < 3 && chars[i] >= '0' && chars[i] <= '7') digits += chars[i++];
      if (c !== '0' && digits.length === 1) err(`invalid escape sequence: \`\\${c}\``);
      const cp = parseInt(digits, 8);
      return '\\u{' + cp.toString(16) + '}';
    }
    const cp = c.codePointAt(0)!;
    if (cp < 0x80 && !/[A-Za-z0-9_]/.test(c)) return inClass ? classLiteral(c) : jsLiteral(c);
    err(`invalid escape sequence: \`\\${c}\``);
    return '';
  };

  while (i < n) {
    const c = chars[i];
    if (c === '\\') {
      out += parseEscape(false);
      canRepeat = true;
      continue;
    }
    if (c === '[') {
      const start = i;
      i++;
      let cls = '[';
      if (chars[i] === '^') {
        cls += '^';
        i++;
      }
      let first = true;
      for (;;) {
        if (i >= n) err(`missing closing ]: \`${chars.slice(start).join('')}\``);
        const d = chars[i];
        if (d === ']' && !first) {
          i++;
          break;
        }
        first = false;
        if (d === '[' && chars[i + 1] === ':') {
          const end = pattern.indexOf(':]', [...chars.slice(0, i + 2)].join('').length);
          if (end >= 0) {
            const endIdx = [...pattern.slice(0, end)].length;
            let name = chars.slice(i + 2, endIdx).join('');
            const neg = name.startsWith('^');
            if (neg) name = name.slice(1);
            if (!Object.prototype.hasOwnProperty.call(posix, name)) err(`invalid character class range: \`[:${name}:]\``);
            if (neg) err('Stapelkit does not support negated POSIX classes');
            cls += posix[name];
            i = endIdx + 2;
            continue;
          }
        }
        if (d === '\\') {
          cls += parseEscape(true);
          continue;
        }
        cls += classLiteral(d);
        if (d === '-') cls = cls.slice(0, -2) + '-';
        i++;
      }
      if (cls === '[' || cls === '[^') err(`missing closing ]: \`${chars.slice(start).join('')}\``);
      out += cls + ']';
      canRepeat = true;
      continue;
    }
    if (c === '(') {
      if (chars[i + 1] === '?') {
        const rest = chars.slice(i, i + 4).join('');
        if (rest.startsWith('(?P<')) {
          const end = chars.indexOf('>', i);
          if (end < 0) err(`invalid named capture: \`${chars.slice(i).join('')}\``);
          const name = chars.slice(i + 4, end).join('');
          if (!/^[A-Za-z0-9_]+$/.test(name)) err(`invalid named capture: \`${chars.slice(i, end + 1).join('')}\``);
          if (names.includes(name)) err(`duplicate capture group name: \`${chars.slice(i, end + 1).join('')}\``);
          names.push(name);
          out += /^[0-9]/.test(name) ? '(' : `(?<${name}>`;
          i = end + 1;
        } else if (rest.startsWith('(?:')) {
          out += '(?:';
          i += 3;
        } else {
          const m = /^\(\?([a-zA-Z-]*)(:|\))/.exec(chars.slice(i).join(''));
          if (m && /^[imsU-]*$/.test(m[1])) err('Stapelkit does not support flags inside a regexp (only a leading (?i), (?s), (?m))');
          err(`invalid or unsupported Perl syntax: \`${chars.slice(i, i + 3).join('')}\``);
        }
      } else {
        names.push(null);
        out += '(';
        i++;
      }
      depth++;
      canRepeat = false;
      continue;
    }
    if (c === ')') {
      if (depth === 0) err(`unexpected ): \`${pattern}\``);
      depth--;
      out += ')';
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '*' || c === '+' || c === '?') {
      if (!canRepeat) err(`missing argument to repetition operator: \`${c}\``);
      out += c;
      i++;
      if (chars[i] === '?') {
        out += '?';
        i++;
      }
      if (chars[i] === '*' || chars[i] === '+' || chars[i] === '?') err(`invalid nested repetition operator: \`${c}${chars[i]}\``);
      canRepeat = false;
      continue;
    }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(chars.slice(i).join(''));
      if (m) {
        if (!canRepeat) err(`missing argument to repetition operator: \`${m[0]}\``);
        const lo = Number(m[1]);
        const hi = m[3] ? Number(m[3]) : lo;
        if (lo > 1000 || hi > 1000 || (m[3] && hi < lo)) err(`invalid repeat count: \`${m[0]}\``);
        out += m[0];
        i += m[0].length;
        if (chars[i] === '?') {
          out += '?';
          i++;
        }
        canRepeat = false;
        continue;
      }
      out += '\\{';
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '}') {
      out += '\\}';
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '|') {
      out += '|';
      i++;
      canRepeat = false;
      continue;
    }
    if (c === '^' || c === '$') {
      out += c;
      i++;
      canRepeat = true;
      continue;
    }
    if (c === '.') {
      out += '.';
      i++;
      canRepeat = true;
      continue;
    }
    out += jsLiteral(c);
    i++;
    canRepeat = true;
  }
  if (depth > 0) err(`missing closing ): \`${pattern}\``);
  return { source: out, flags, names };
}

function canBackquote(s: string): boolean {
  return !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(s);
}

/**
 * Patterns already translated: a regex function inside a range would otherwise translate and
 * compile its pattern on every call. Every user sets lastIndex before matching, so sharing is safe.
 */
const compiled = new Map<string, GoRegexp>();
const COMPILED_MAX = 256;

/** regexp.Compile / MustCompile with Go's error texts for the common syntax errors. */
export function compileGoRegexp(pattern: string, mustStyle: boolean): GoRegexp {
  const cached = compiled.get(pattern);
  if (cached) return cached;
  try {
    const t = translate(pattern);
    // `d`: match indices give the group offsets Go's Find*Index/Expand need
    const re = new RegExp(t.source, 'dgu' + t.flags);
    const r: GoRegexp = {
      re,
      names: t.names,
      test(s: string) {
        re.lastIndex = 0;
        return re.test(s);
      },
    };
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(pattern, r);
    return r;
  } catch (e) {
    const msg = 'error parsing regexp: ' + (e instanceof RegexSyntaxError ? e.message : `invalid regexp: \`${pattern}\``);
    if (mustStyle) {
      const q = canBackquote(pattern) ? '`' + pattern + '`' : JSON.stringify(pattern);
      throw new GoError(`regexp: Compile(${q}): ${msg}`);
    }
    throw new GoError(msg);
  }
}

/** One match as [start, end, g1start, g1end, …] (UTF-16 indices; -1 for unmatched groups). */
function execAt(r: GoRegexp, s: string, pos: number): number[] | null {
  r.re.lastIndex = pos;
  const m = r.re.exec(s);
  if (!m) return null;
  const out = [m.index, m.index + m[0].length];
  const indices = (m as RegExpExecArray & { indices: ([number, number] | undefined)[] }).indices;
  for (let g = 1; g < indices.length; g++) {
    const p = indices[g];
    out.push(p ? p[0] : -1, p ? p[1] : -1);
  }
  return out;
}

function runeWidthAt(s: string, i: number): number {
  if (i >= s.length) return 0;
  const cp = s.codePointAt(i)!;
  return cp > 0xffff ? 2 : 1;
}

/** FindAllStringSubmatchIndex with Go's iteration (n < 0: all). */
export function goRegexFindAll(r: GoRegexp, s: string, n: number): number[][] {
  const out: number[][] = [];
  if (n < 0) n = s.length + 1;
  let pos = 0;
  let prevMatchEnd = -1;
  while (out.length < n && pos <= s.length) {
    const m = execAt(r, s, pos);
    if (!m) break;
    let accept = true;
    if (m[1] === m[0] && m[0] === pos) {
      if (m[0] === prevMatchEnd) accept = false;
      pos += runeWidthAt(s, pos) || 1;
    } else if (m[1] === m[0]) {
      // empty match later than pos
      if (m[0] === prevMatchEnd) accept = false;
      pos = m[1] + (runeWidthAt(s, m[1]) || 1);
    } else {
      pos = m[1];
    }
    prevMatchEnd = m[1];
    if (accept) out.push(m);
  }
  return out;
}

/** Go's Regexp.expand for `$1`, `${1}`, `$name`, `${name}`, `$$`. */
function expand(template: string, src: string, match: number[], names: (string | null)[]): string {
  let dst = '';
  let t = template;
  for (;;) {
    const k = t.indexOf('$');
    if (k < 0) break;
    dst += t.slice(0, k);
    t = t.slice(k + 1);
    if (t.startsWith('$')) {
      dst += '$';
      t = t.slice(1);
      continue;
    }
    let str = t;
    let brace = false;
    if (str.startsWith('{')) {
      brace = true;
      str = str.slice(1);
    }
    const nm = /^[\p{L}\p{Nd}_]*/u.exec(str)![0];
    if (nm === '' || (brace && str[nm.length] !== '}')) {
      dst += '$';
      continue;
    }
    t = str.slice(nm.length + (brace ? 1 : 0));
    let num = -1;
    if (/^[0-9]+$/.test(nm) && !(nm[0] === '0' && nm.length > 1) && nm.length <= 8) num = Number(nm);
    if (num >= 0) {
      if (2 * num + 1 < match.length && match[2 * num] >= 0) dst += src.slice(match[2 * num], match[2 * num + 1]);
    } else {
      for (let g = 0; g < names.length; g++) {
        if (names[g] === nm && 2 * g + 1 < match.length && match[2 * g] >= 0) {
          dst += src.slice(match[2 * g], match[2 * g + 1]);
          break;
        }
      }
    }
  }
  return dst + t;
}

/** ReplaceAllString / ReplaceAllLiteralString with Go's iteration. */
export function goRegexReplaceAll(r: GoRegexp, src: string, repl: string, literal: boolean): string {
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= src.length) {
    const a = execAt(r, src, searchPos);
    if (!a) break;
    out += src.slice(lastMatchEnd, a[0]);
    if (a[1] > lastMatchEnd || a[0] === 0) out += literal ? repl : expand(repl, src, a, r.names);
    lastMatchEnd = a[1];
    const width = runeWidthAt(src, searchPos);
    if (searchPos + width > a[1]) searchPos += width;
    else if (searchPos + 1 > a[1]) searchPos++;
    else searchPos = a[1];
  }
  return out + src.slice(lastMatchEnd);
}

/** Regexp.Split. */
export function goRegexSplit(r: GoRegexp, s: string, n: number): string[] {
  if (n === 0) return [];
  if (r.re.source.length > 0 && r.re.source !== '(?:)' && s.length === 0) return [''];
  const matches = goRegexFindAll(r, s, n);
  const out: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of matches) {
    if (n > 0 && out.length === n - 1) break;
    end = m[0];
    if (m[1] !== 0) out.push(s.slice(beg, end));
    beg = m[1];
  }
  if (end !== s.length) out.push(s.slice(beg));
  return out;
}

/** regexp.QuoteMeta. */
export function goQuoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, (c) => '\\' + c);
}
