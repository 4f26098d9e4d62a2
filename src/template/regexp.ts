/**
 * Go regexp (RE2 syntax, Go 1.19 regexp/syntax with Perl flags) on top of JS RegExp: the pattern is
 * parsed as Go parses it — same constructs, same limits, same error texts — and emitted as a JS
 * `u`-mode pattern: classes as explicit code point ranges (Perl, POSIX, negated and case-folded
 * ones included), \p{…} with Go's category and script names, anchors and flags (?i)(?m)(?s)(?U)
 * (scoped too) spelled out so that no JS flag changes their meaning. Matching iterates the way Go
 * does (empty matches right after a match are skipped; `$1`/`${name}` expansion follows Go's rules).
 * Why not the `re2` npm package: it is C++ RE2 behind a JS-compat layer (accepts \u, (?<n>), \C,
 * which Go rejects; replaces invalid bytes by U+FFFD in results; different error texts) and a
 * native build on every install.
 */
import { GoError } from './value';
import { hasRawBytes } from './bytes';

export interface GoRegexp {
  re: RegExp; // flags d (indices), g, u (+ i when the whole pattern folds case)
  names: (string | null)[]; // subexpression names, index 0 = whole match
  expr: string; // the Go pattern
  test(s: string): boolean;
}

/** A Go regexp/syntax error: its code (ErrorCode text) and the offending part of the pattern. */
class RegexSyntaxError extends Error {
  constructor(code: string, expr: string) {
    super(`${code}: \`${expr}\``);
  }
}

// ---- character sets as sorted, merged code point ranges [lo0, hi0, lo1, hi1, …] ----

const MAX_RUNE = 0x10ffff;

function cleanRanges(r: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < r.length; i += 2) pairs.push([r[i], r[i + 1]]);
  pairs.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const out: number[] = [];
  for (const [lo, hi] of pairs) {
    const n = out.length;
    if (n > 0 && lo <= out[n - 1] + 1) out[n - 1] = Math.max(out[n - 1], hi);
    else out.push(lo, hi);
  }
  return out;
}

function negateRanges(r: number[]): number[] {
  const c = cleanRanges(r);
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < c.length; i += 2) {
    if (c[i] > next) out.push(next, c[i] - 1);
    next = c[i + 1] + 1;
  }
  if (next <= MAX_RUNE) out.push(next, MAX_RUNE);
  return out;
}

// Go's perl_groups.go: \d \s \w and the POSIX classes (ASCII only).
const PERL: Record<string, number[]> = {
  d: [0x30, 0x39],
  s: [0x09, 0x0a, 0x0c, 0x0d, 0x20, 0x20],
  w: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
};
const POSIX: Record<string, number[]> = {
  alnum: [0x30, 0x39, 0x41, 0x5a, 0x61, 0x7a],
  alpha: [0x41, 0x5a, 0x61, 0x7a],
  ascii: [0x00, 0x7f],
  blank: [0x09, 0x09, 0x20, 0x20],
  cntrl: [0x00, 0x1f, 0x7f, 0x7f],
  digit: [0x30, 0x39],
  graph: [0x21, 0x7e],
  lower: [0x61, 0x7a],
  print: [0x20, 0x7e],
  punct: [0x21, 0x2f, 0x3a, 0x40, 0x5b, 0x60, 0x7b, 0x7e],
  space: [0x09, 0x0d, 0x20, 0x20],
  upper: [0x41, 0x5a],
  word: [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a],
  xdigit: [0x30, 0x39, 0x41, 0x46, 0x61, 0x66],
};

// unicode.Categories and unicode.Scripts of Go 1.19 (JS knows more scripts and short aliases; Go does not).
const CATEGORIES = new Set('C Cc Cf Co Cs L Ll Lm Lo Lt Lu M Mc Me Mn N Nd Nl No P Pc Pd Pe Pf Pi Po Ps S Sc Sk Sm So Z Zl Zp Zs'.split(' '));
const SCRIPTS = new Set(
  'Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee Chorasmian Common Coptic Cuneiform Cypriot Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic Grantha Greek Gujarati Gunjala_Gondi Gurmukhi Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew Hiragana Imperial_Aramaic Inherited Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Katakana Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Ugaritic Vai Wancho Warang_Citi Yezidi Yi Zanabazar_Square'.split(' '),
);

// ---- case folding (Go's unicode.SimpleFold orbits; JS `iu` matching decides membership) ----

// Code points of Go's caseOrbit table (orbits with more than two members, and self-orbits like ı).
const ORBIT_SPECIALS = [
  0x4b, 0x53, 0x6b, 0x73, 0xb5, 0xc5, 0xdf, 0xe5, 0x130, 0x131, 0x17f, 0x1c4, 0x1c5, 0x1c6, 0x1c7, 0x1c8, 0x1c9, 0x1ca, 0x1cb, 0x1cc,
  0x1f1, 0x1f2, 0x1f3, 0x345, 0x392, 0x395, 0x398, 0x399, 0x39a, 0x39c, 0x3a0, 0x3a1, 0x3a3, 0x3a6, 0x3a9, 0x3b2, 0x3b5, 0x3b8, 0x3b9,
  0x3ba, 0x3bc, 0x3c0, 0x3c1, 0x3c2, 0x3c3, 0x3c6, 0x3c9, 0x3d0, 0x3d1, 0x3d5, 0x3d6, 0x3f0, 0x3f1, 0x3f4, 0x3f5, 0x412, 0x414, 0x41e,
  0x421, 0x422, 0x42a, 0x432, 0x434, 0x43e, 0x441, 0x442, 0x44a, 0x462, 0x463, 0x1c80, 0x1c81, 0x1c82, 0x1c83, 0x1c84, 0x1c85, 0x1c86,
  0x1c87, 0x1c88, 0x1e60, 0x1e61, 0x1e9b, 0x1e9e, 0x1fbe, 0x2126, 0x212a, 0x212b, 0xa64a, 0xa64b,
];

/** Every code point that matches `cp` case-insensitively. */
function foldOrbit(cp: number): number[] {
  const ch = String.fromCodePoint(cp);
  const cands = new Set<number>([cp]);
  const addCase = (s: string) => {
    if ([...s].length === 1) cands.add(s.codePointAt(0)!);
  };
  for (const x of [ch.toLowerCase(), ch.toUpperCase()]) {
    addCase(x);
    addCase(x.toLowerCase());
    addCase(x.toUpperCase());
  }
  if ([...cands].some((c) => ORBIT_SPECIALS.includes(c))) for (const c of ORBIT_SPECIALS) cands.add(c);
  const re = new RegExp('^' + jsRune(cp) + '$', 'iu');
  return [...cands].filter((c) => re.test(String.fromCodePoint(c)));
}

function foldRanges(r: number[]): number[] {
  const out = r.slice();
  for (let i = 0; i < r.length; i += 2) {
    // Go brute-forces [0x41, 0x1e943]; large ranges are closed under folding in practice
    if (r[i + 1] - r[i] > 4096) continue;
    for (let c = Math.max(r[i], 0x41); c <= Math.min(r[i + 1], 0x1e943); c++) for (const f of foldOrbit(c)) if (f !== c) out.push(f, f);
  }
  return cleanRanges(out);
}

// ---- the syntax tree ----

type Node =
  | { t: 'lit'; cp: number; fold: boolean }
  | { t: 'class'; ranges: number[]; props: string[]; neg: boolean; fold: boolean }
  | { t: 'assert'; js: string }
  | { t: 'any'; nl: boolean }
  | { t: 'cap'; sub: Node }
  | { t: 'rep'; min: number; max: number; greedy: boolean; sub: Node }
  | { t: 'concat'; subs: Node[] }
  | { t: 'alt'; subs: Node[] }
  | { t: 'empty' };

interface Flags {
  i: boolean;
  m: boolean; // ^ $ match at line breaks (Go: OneLine off)
  s: boolean;
  U: boolean;
}

interface Frame {
  items: Node[];
  alts: Node[];
  cap: boolean; // a capturing group (else a (?:…) or the root)
  flags: Flags; // flags when the group opened (restored at its `)`)
  root: boolean;
}

function seq(items: Node[]): Node {
  return items.length === 0 ? { t: 'empty' } : items.length === 1 ? items[0] : { t: 'concat', subs: items };
}

const isAlnum = (c: string) => /^[0-9A-Za-z]$/.test(c);
const unhex = (c: string | undefined) => (c !== undefined && /^[0-9A-Fa-f]$/.test(c) ? parseInt(c, 16) : -1);

/** Parse a Go (RE2) pattern the way regexp/syntax does (Perl flags), with its error texts. */
function parse(s: string): { node: Node; names: (string | null)[] } {
  const names: (string | null)[] = [null];
  let flags: Flags = { i: false, m: false, s: false, U: false };
  const stack: Frame[] = [{ items: [], alts: [], cap: false, flags, root: true }];
  const top = () => stack[stack.length - 1];
  const fail = (code: string, expr: string): never => {
    throw new RegexSyntaxError(code, expr);
  };
  let i = 0;
  const n = s.length;
  let lastRepeat = -1; // start of the previous token when it was a repetition operator
  const rune = (at: number): string => {
    if (at >= n) return '';
    const c = String.fromCodePoint(s.codePointAt(at)!);
    if (hasRawBytes(c)) fail('invalid UTF-8', s.slice(at));
    return c;
  };
  const literal = (c: string) => top().items.push({ t: 'lit', cp: c.codePointAt(0)!, fold: flags.i });

  // parseEscape at s[at] === '\\': a single rune and where it ends.
  const parseEscape = (at: number): { cp: number; end: number } => {
    let t = at + 1;
    if (t >= n) fail('trailing backslash at end of expression', '');
    const c = rune(t);
    t += c.length;
    const bad = (): never => fail('invalid escape sequence', s.slice(at, t));
    if (c >= '1' && c <= '7') {
      // a single non-zero digit is a backreference: not supported
      if (t >= n || s[t] < '0' || s[t] > '7') bad();
    }
    if (c >= '0' && c <= '7') {
      let r = c.charCodeAt(0) - 48;
      for (let k = 1; k < 3 && t < n && s[t] >= '0' && s[t] <= '7'; k++) r = r * 8 + (s.charCodeAt(t++) - 48);
      return { cp: r, end: t };
    }
    switch (c) {
      case 'x': {
        if (t >= n) bad();
        const c1 = rune(t);
        t += c1.length;
        if (c1 === '{') {
          let nhex = 0;
          let r = 0;
          for (;;) {
            if (t >= n) bad();
            const d = rune(t);
            t += d.length;
            if (d === '}') break;
            const v = unhex(d);
            if (v < 0) bad();
            r = r * 16 + v;
            if (r > MAX_RUNE) bad();
            nhex++;
          }
          if (nhex === 0) bad();
          return { cp: r, end: t };
        }
        const x = unhex(c1);
        const c2 = rune(t);
        t += c2.length;
        const y = unhex(c2);
        if (x < 0 || y < 0) bad();
        return { cp: x * 16 + y, end: t };
      }
      case 'a': return { cp: 7, end: t };
      case 'f': return { cp: 12, end: t };
      case 'n': return { cp: 10, end: t };
      case 'r': return { cp: 13, end: t };
      case 't': return { cp: 9, end: t };
      case 'v': return { cp: 11, end: t };
    }
    // escaped punctuation (and \_) is itself
    if (c.codePointAt(0)! < 0x80 && !isAlnum(c)) return { cp: c.codePointAt(0)!, end: t };
    return bad();
  };

  // \pN, \p{Name}, \P{^Name}: null when s[at] does not start one.
  const parseUnicodeClass = (at: number): { ranges: number[]; props: string[]; end: number } | null => {
    if (s[at] !== '\\' || (s[at + 1] !== 'p' && s[at + 1] !== 'P')) return null;
    let sign = s[at + 1] === 'P' ? -1 : 1;
    let t = at + 2;
    const c = rune(t);
    t += c.length;
    let name: string;
    let seqEnd: number;
    if (c !== '{') {
      name = c;
      seqEnd = t;
    } else {
      const close = s.indexOf('}', at);
      if (close < 0) fail('invalid character class range', s.slice(at));
      name = s.slice(at + 3, close);
      seqEnd = close + 1;
    }
    if (name.startsWith('^')) {
      sign = -sign;
      name = name.slice(1);
    }
    const seqText = s.slice(at, seqEnd);
    if (name === 'Any') return { ranges: sign > 0 ? [0, MAX_RUNE] : [], props: [], end: seqEnd };
    let prop: string;
    if (CATEGORIES.has(name)) prop = name;
    else if (SCRIPTS.has(name)) prop = 'Script=' + name;
    else return fail('invalid character class range', seqText);
    return { ranges: [], props: [(sign > 0 ? '\\p{' : '\\P{') + prop + '}'], end: seqEnd };
  };

  // \d \D \s \S \w \W
  const parsePerlClass = (at: number): { ranges: number[]; end: number } | null => {
    if (s[at] !== '\\') return null;
    const c = s[at + 1];
    if (c === undefined) return null;
    const g = PERL[c.toLowerCase()];
    if (!g || !/[dswDSW]/.test(c)) return null;
    let r = flags.i ? foldRanges(g) : g;
    if (c !== c.toLowerCase()) r = negateRanges(r);
    return { ranges: r, end: at + 2 };
  };

  const parseClass = (at: number): number => {
    let t = at + 1;
    const node: Node & { t: 'class' } = { t: 'class', ranges: [], props: [], neg: false, fold: flags.i };
    if (s[t] === '^') {
      node.neg = true;
      t++;
    }
    let first = true;
    const whole = s.slice(at);
    while (t >= n || s[t] !== ']' || first) {
      first = false;
      if (n - t > 2 && s[t] === '[' && s[t + 1] === ':') {
        const close = s.indexOf(':]', t + 2);
        if (close >= 0) {
          const nameText = s.slice(t, close + 2);
          let nm = s.slice(t + 2, close);
          const neg = nm.startsWith('^');
          if (neg) nm = nm.slice(1);
          if (!Object.prototype.hasOwnProperty.call(POSIX, nm)) fail('invalid character class range', nameText);
          let r = flags.i ? foldRanges(POSIX[nm]) : POSIX[nm];
          if (neg) r = negateRanges(r);
          node.ranges.push(...r);
          t = close + 2;
          continue;
        }
      }
      const u = parseUnicodeClass(t);
      if (u) {
        node.ranges.push(...u.ranges);
        node.props.push(...u.props);
        t = u.end;
        continue;
      }
      const pc = parsePerlClass(t);
      if (pc) {
        node.ranges.push(...pc.ranges);
        t = pc.end;
        continue;
      }
      const rng = t;
      const classChar = (): number => {
        if (t >= n) fail('missing closing ]', whole);
        if (s[t] === '\\') {
          const e = parseEscape(t);
          t = e.end;
          return e.cp;
        }
        const c = rune(t);
        t += c.length;
        return c.codePointAt(0)!;
      };
      const lo = classChar();
      let hi = lo;
      if (t + 1 < n && s[t] === '-' && s[t + 1] !== ']') {
        t++;
        hi = classChar();
        if (hi < lo) fail('invalid character class range', s.slice(rng, t));
      }
      node.ranges.push(...(flags.i ? foldRanges([lo, hi]) : [lo, hi]));
    }
    node.ranges = cleanRanges(node.ranges);
    top().items.push(node);
    return t + 1;
  };

  const repeat = (before: number, afterIn: number, min: number, max: number) => {
    let after = afterIn;
    let greedy = !flags.U;
    if (s[after] === '?') {
      after++;
      greedy = !greedy;
    }
    if (lastRepeat >= 0) fail('invalid nested repetition operator', s.slice(lastRepeat, after));
    const items = top().items;
    if (items.length === 0) fail('missing argument to repetition operator', s.slice(before, after));
    const node: Node = { t: 'rep', min, max, greedy, sub: items[items.length - 1] };
    items[items.length - 1] = node;
    if ((min >= 2 || max >= 2) && !repeatIsValid(node, 1000)) fail('invalid repeat count', s.slice(before, after));
    return after;
  };

  const closeAlternatives = (f: Frame): Node => {
    const alts = [...f.alts, seq(f.items)];
    return alts.length === 1 ? alts[0] : { t: 'alt', subs: alts };
  };

  while (i < n) {
    const start = i;
    let isRepeat = false;
    const c = s[i];
    if (c === '(') {
      if (s[i + 1] === '?') {
        // (?P<name>re), (?flags), (?flags:re)
        if (n - i > 4 && s[i + 2] === 'P' && s[i + 3] === '<') {
          const close = s.indexOf('>', i);
          if (close < 0) fail('invalid named capture', s.slice(i));
          const name = s.slice(i + 4, close);
          if (!/^[0-9A-Za-z_]+$/.test(name)) fail('invalid named capture', s.slice(i, close + 1));
          names.push(name);
          stack.push({ items: [], alts: [], cap: true, flags, root: false });
          i = close + 1;
        } else {
          let t = i + 2;
          const nf = { ...flags };
          let sign = 1;
          let sawFlag = false;
          let done = false;
          while (t < n) {
            const d = rune(t);
            t += d.length;
            if (d === 'i' || d === 's' || d === 'U' || d === 'm') {
              nf[d] = sign > 0;
              sawFlag = true;
            } else if (d === '-') {
              if (sign < 0) break;
              sign = -1;
              sawFlag = false;
            } else if (d === ':' || d === ')') {
              if (sign < 0 && !sawFlag) break;
              if (d === ':') stack.push({ items: [], alts: [], cap: false, flags, root: false });
              flags = nf;
              done = true;
              break;
            } else break;
          }
          if (!done) fail('invalid or unsupported Perl syntax', s.slice(i, t));
          i = t;
        }
      } else {
        names.push(null);
        stack.push({ items: [], alts: [], cap: true, flags, root: false });
        i++;
      }
    } else if (c === '|') {
      const f = top();
      f.alts.push(seq(f.items));
      f.items = [];
      i++;
    } else if (c === ')') {
      const f = top();
      if (f.root) fail('unexpected )', s);
      stack.pop();
      const body = closeAlternatives(f);
      flags = f.flags;
      top().items.push(f.cap ? { t: 'cap', sub: body } : body.t === 'alt' || body.t === 'concat' ? { t: 'concat', subs: [body] } : body);
      i++;
    } else if (c === '^') {
      top().items.push({ t: 'assert', js: flags.m ? '(?<![^\\n])' : '(?<![^])' });
      i++;
    } else if (c === '$') {
      top().items.push({ t: 'assert', js: flags.m ? '(?![^\\n])' : '(?![^])' });
      i++;
    } else if (c === '.') {
      top().items.push({ t: 'any', nl: flags.s });
      i++;
    } else if (c === '[') {
      i = parseClass(i);
    } else if (c === '*' || c === '+' || c === '?') {
      i = repeat(i, i + 1, c === '+' ? 1 : 0, c === '?' ? 1 : -1);
      isRepeat = true;
    } else if (c === '{') {
      const m = /^\{(0|[1-9][0-9]*)(?:(,)(0|[1-9][0-9]*)?)?\}/.exec(s.slice(i));
      if (!m) {
        literal('{');
        i++;
      } else {
        const big = (x: string) => (x.length > 8 ? -1 : Number(x)); // Go's parseInt gives up at 1e8
        let min = big(m[1]);
        const max = m[2] ? (m[3] !== undefined ? big(m[3]) : -1) : min;
        if (m[2] && m[3] !== undefined && max < 0) min = -1;
        const afterBrace = i + m[0].length;
        if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max)) fail('invalid repeat count', s.slice(i, afterBrace));
        i = repeat(i, afterBrace, min, max);
        isRepeat = true;
      }
    } else if (c === '\\') {
      const d = s[i + 1];
      if (d === 'A' || d === 'z' || d === 'b' || d === 'B') {
        top().items.push({ t: 'assert', js: d === 'A' ? '(?<![^])' : d === 'z' ? '(?![^])' : '\\' + d });
        i += 2;
      } else if (d === 'C') {
        fail('invalid escape sequence', '\\C');
      } else if (d === 'Q') {
        let end = s.indexOf('\\E', i + 2);
        if (end < 0) end = n;
        for (let t = i + 2; t < end; ) {
          const r = rune(t);
          literal(r);
          t += r.length;
        }
        i = Math.min(end + 2, n);
      } else {
        const u = parseUnicodeClass(i);
        const pc = u ? null : parsePerlClass(i);
        if (u) {
          top().items.push({ t: 'class', ranges: cleanRanges(u.ranges), props: u.props, neg: false, fold: flags.i });
          i = u.end;
        } else if (pc) {
          top().items.push({ t: 'class', ranges: cleanRanges(pc.ranges), props: [], neg: false, fold: flags.i });
          i = pc.end;
        } else {
          const e = parseEscape(i);
          top().items.push({ t: 'lit', cp: e.cp, fold: flags.i });
          i = e.end;
        }
      }
    } else {
      const r = rune(i);
      literal(r);
      i += r.length;
    }
    lastRepeat = isRepeat ? start : -1;
  }
  if (stack.length !== 1) fail('missing closing )', s);
  const node = closeAlternatives(stack[0]);
  if (height(node) > 1000) fail('expression nests too deeply', s);
  return { node, names };
}

function height(nd: Node): number {
  switch (nd.t) {
    case 'cap':
    case 'rep':
      return 1 + height(nd.sub);
    case 'concat':
    case 'alt':
      return 1 + Math.max(0, ...nd.subs.map(height));
    default:
      return 1;
  }
}

/** Go's repeatIsValid: nested counted repetitions may not exceed n copies in total. */
function repeatIsValid(nd: Node, n: number): boolean {
  if (nd.t === 'rep') {
    let m = nd.max;
    if (m === 0) return true;
    if (m < 0) m = nd.min;
    if (m > n) return false;
    if (m > 0) n = Math.floor(n / m);
  }
  const subs = nd.t === 'rep' || nd.t === 'cap' ? [nd.sub] : nd.t === 'concat' || nd.t === 'alt' ? nd.subs : [];
  return subs.every((x) => repeatIsValid(x, n));
}

function jsRune(cp: number): string {
  const c = String.fromCodePoint(cp);
  return /^[0-9A-Za-z]$/.test(c) ? c : '\\u{' + cp.toString(16) + '}';
}

function jsRanges(r: number[]): string {
  let out = '';
  for (let k = 0; k < r.length; k += 2) out += r[k] === r[k + 1] ? jsRune(r[k]) : jsRune(r[k]) + '-' + jsRune(r[k + 1]);
  return out;
}

/** JS source for a node; `scopedFold`: case folding is done here (not by the `i` flag). */
function emit(nd: Node, scopedFold: boolean): string {
  switch (nd.t) {
    case 'lit': {
      if (nd.fold && scopedFold) {
        const orbit = foldOrbit(nd.cp);
        if (orbit.length > 1) return '[' + jsRanges(cleanRanges(orbit.flatMap((c) => [c, c]))) + ']';
      }
      return jsRune(nd.cp);
    }
    case 'class': {
      const body = jsRanges(nd.ranges) + nd.props.join('');
      return '[' + (nd.neg ? '^' : '') + body + ']';
    }
    case 'assert':
      return nd.js;
    case 'any':
      return nd.nl ? '[^]' : '[^\\n]';
    case 'cap':
      return '(' + emit(nd.sub, scopedFold) + ')';
    case 'rep': {
      const sub = nd.sub;
      const atom = sub.t === 'lit' || sub.t === 'class' || sub.t === 'any' || sub.t === 'cap' ? emit(sub, scopedFold) : '(?:' + emit(sub, scopedFold) + ')';
      const q =
        nd.min === 0 && nd.max === -1 ? '*' : nd.min === 1 && nd.max === -1 ? '+' : nd.min === 0 && nd.max === 1 ? '?' : nd.max === -1 ? `{${nd.min},}` : nd.min === nd.max ? `{${nd.min}}` : `{${nd.min},${nd.max}}`;
      return atom + q + (nd.greedy ? '' : '?');
    }
    case 'concat':
      return nd.subs.map((x) => (x.t === 'alt' ? '(?:' + emit(x, scopedFold) + ')' : emit(x, scopedFold))).join('');
    case 'alt':
      return nd.subs.map((x) => emit(x, scopedFold)).join('|');
    case 'empty':
      return '(?:)';
  }
}

function foldUse(nd: Node, acc: { on: boolean; off: boolean }): void {
  if (nd.t === 'lit' || nd.t === 'class') {
    if (nd.fold) acc.on = true;
    else acc.off = true;
  }
  const subs = nd.t === 'rep' || nd.t === 'cap' ? [nd.sub] : nd.t === 'concat' || nd.t === 'alt' ? nd.subs : [];
  for (const x of subs) foldUse(x, acc);
}

function translate(pattern: string): { source: string; flags: string; names: (string | null)[] } {
  const { node, names } = parse(pattern);
  // Folding everywhere: JS's `i` flag (simple case folding, like Go's); mixed: fold per literal/class.
  const use = { on: false, off: false };
  foldUse(node, use);
  const global = use.on && !use.off;
  return { source: emit(node, !global), flags: global ? 'i' : '', names };
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
      expr: pattern,
      test(s: string) {
        re.lastIndex = 0;
        return re.test(s);
      },
    };
    if (compiled.size >= COMPILED_MAX) compiled.clear();
    compiled.set(pattern, r);
    return r;
  } catch (e) {
    if (!(e instanceof RegexSyntaxError)) throw e; // a translation bug, not the user's pattern
    const msg = 'error parsing regexp: ' + e.message;
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
  if (r.expr.length > 0 && s.length === 0) return [''];
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
