/**
 * Glob matching with the semantics of Go's github.com/bmatcuk/doublestar/v4 `PathMatch` on a `/`
 * system (werf's glob library): `*` and `?` stop at `/`, `**` spans directories only as a whole
 * path segment (elsewhere it is a `*`), `[...]`/`[!...]`/`[^...]` classes with ranges, `{a,b}`
 * alternatives (nestable), `\` escapes. Malformed patterns raise BadPatternError — doublestar
 * reports them lazily, only when matching reaches the bad part, and so does this.
 * No npm package reproduces these rules exactly (minimatch/picomatch differ on `**` mid-segment,
 * trailing `/**` and zero-length tails), hence this implementation, table-tested in test/unit/git.
 */

export class BadPatternError extends Error {
  constructor(readonly pattern: string) {
    super(`syntax error in pattern ${JSON.stringify(pattern)}`);
  }
}

const SEP = 0x2f; // '/'
const BACKSLASH = 0x5c;

const SURROGATES = /[\ud800-\udfff]/;

/** Code points of a string (patterns and names are compared rune by rune, as Go decodes UTF-8). */
function runes(s: string): number[] {
  const out: number[] = new Array(s.length);
  if (!SURROGATES.test(s)) {
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  out.length = 0;
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

const compiled = new Map<string, number[]>();
const fastCompiled = new Map<string, RegExp | null>();
let lastName = '';
let lastRunes: number[] | undefined;

/** doublestar.PathMatch(pattern, name). Throws BadPatternError for a malformed pattern. */
export function pathMatch(pattern: string, name: string): boolean {
  let fast = fastCompiled.get(pattern);
  if (fast === undefined) {
    fast = simplePatternRegExp(pattern);
    if (fastCompiled.size > 10000) fastCompiled.clear();
    fastCompiled.set(pattern, fast);
  }
  if (fast) return fast.test(name);
  return pathMatchInterpreted(pattern, name);
}

/** pathMatch through the backtracking matcher alone (the reference the RegExp form is tested against). */
export function pathMatchInterpreted(pattern: string, name: string): boolean {
  let pat = compiled.get(pattern);
  if (!pat) {
    pat = runes(pattern);
    if (compiled.size > 10000) compiled.clear();
    compiled.set(pattern, pat);
  }
  // Callers try several patterns on one name in a row: keep its runes.
  if (name !== lastName || lastRunes === undefined) { lastName = name; lastRunes = runes(name); }
  const res = matchFrom(pat, lastRunes, -1, -1, -1, -1, 0, 0);
  if (res === BAD) throw new BadPatternError(pattern);
  return res;
}

/** Pattern rests that match an exhausted name (zeroLength's list, for patterns without braces). */
const ZERO_LENGTH_RESTS = new Set(['', '*', '**', '/**', '**/', '/**/']);
const REGEXP_SPECIAL = /[.*+?^${}()|[\]\\/]/g;

/**
 * A RegExp equal to matchFrom for a pattern made of literals, `*`, `**` and `?` only (no classes,
 * braces or escapes: those go through matchFrom). matchFrom reads tokens only while name is left
 * (`(?=[\s\S])` before each token) and, once the name is used up, accepts exactly when the rest of
 * the pattern is one of ZERO_LENGTH_RESTS (a `$` alternative at that boundary). Differential-tested
 * against matchFrom in test/unit/git/pathmatch.test.ts. Globs are matched per path in every git
 * walk: one RegExp test instead of an interpreted backtracking match per form and path.
 */
export function simplePatternRegExp(pattern: string): RegExp | null {
  if (/[\\[\]{}]/.test(pattern)) return null;
  // A rest of `**/` counts as zero-length by its text even where that `**` is a plain star; after an
  // earlier star matchFrom may not reach that boundary (its single star backtrack point moved on).
  if (pattern.endsWith('**/')) return null;
  // Tokens as matchFrom reads them, each with its RegExp source.
  const toks: { re: string; end: number; empty?: true }[] = [];
  let segStart = true;
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === '*') {
      i++;
      if (pattern[i] === '*') {
        i++;
        if (segStart && i >= pattern.length) { toks.push({ re: '[\\s\\S]*', end: i, empty: true }); continue; }
        if (segStart && pattern[i] === '/') { i++; toks.push({ re: '(?:[^/]*/)*', end: i, empty: true }); continue; }
      }
      segStart = false;
      toks.push({ re: '[^/]*', end: i, empty: true });
    } else if (c === '?') {
      segStart = false;
      i++;
      toks.push({ re: '[^/]', end: i });
    } else {
      const ch = String.fromCodePoint(pattern.codePointAt(i)!);
      i += ch.length;
      segStart = ch === '/';
      toks.push({ re: ch.replace(REGEXP_SPECIAL, '\\$&'), end: i });
    }
  }
  const endAt = (start: number) => ZERO_LENGTH_RESTS.has(pattern.slice(start));
  let src = '$';
  for (let k = toks.length - 1; k >= 0; k--) {
    const start = k === 0 ? 0 : toks[k - 1].end;
    // Literals and `?` need a character anyway; only tokens that can match nothing get the lookahead.
    const step = `${toks[k].empty ? '(?=[\\s\\S])' : ''}${toks[k].re}${src}`;
    src = endAt(start) ? `(?:$|${step})` : step;
  }
  return new RegExp(`^${src}`, 'u');
}

/** Whether the whole pattern is well formed (doublestar.ValidatePattern). */
export function validatePattern(pattern: string): boolean {
  return validRunes(runes(pattern));
}

const BAD = 'bad' as const;
type Res = boolean | typeof BAD;

/** doublestar's doMatchWithSeparator: backtrack positions of the last `**` and `*`, then the cursors. */
function matchFrom(pat: number[], name: number[], dsPat: number, dsName: number, sPat: number, sName: number, pi: number, ni: number): Res {
  const pl = pat.length;
  const nl = name.length;
  let segStart = true;
  outer: while (ni < nl) {
    step: if (pi < pl) {
      const c = pat[pi];
      if (c === 0x2a /* * */) {
        pi++;
        if (pi < pl && pat[pi] === 0x2a) {
          pi++;
          if (segStart) {
            if (pi >= pl) return true; // a trailing `/**` matches everything below
            if (pat[pi] === SEP) {
              pi++;
              dsPat = pi;
              dsName = ni;
              sPat = -1;
              sName = -1;
              continue outer;
            }
          }
        }
        // A `*` (or a `**` not forming a whole segment).
        segStart = false;
        sPat = pi;
        sName = ni;
        continue outer;
      }
      if (c === 0x3f /* ? */) {
        segStart = false;
        if (name[ni] === SEP) break step;
        pi++;
        ni++;
        continue outer;
      }
      if (c === 0x5b /* [ */) {
        segStart = false;
        pi++;
        if (pi >= pl) return BAD;
        const nr = name[ni];
        let matched = false;
        const negate = pat[pi] === 0x21 || pat[pi] === 0x5e;
        if (negate) pi++;
        if (pi >= pl || pat[pi] === 0x5d) return BAD;
        let last = -1;
        while (pi < pl && pat[pi] !== 0x5d) {
          let pr = pat[pi++];
          if (last >= 0 && pr === 0x2d /* - */ && pi < pl && pat[pi] !== 0x5d) {
            if (pat[pi] === BACKSLASH) pi++;
            const hi = pat[pi++];
            if (last <= nr && nr <= hi) { matched = true; break; }
            last = -1;
            continue;
          }
          if (pr === BACKSLASH) pr = pat[pi++];
          if (pr === nr) { matched = true; break; }
          last = pr;
        }
        if (matched === negate) {
          if (pi >= pl) return BAD;
          break step;
        }
        const close = indexUnescaped(pat, pi, 0x5d);
        if (close < 0) return BAD;
        pi = close + 1;
        ni++;
        continue outer;
      }
      if (c === 0x7b /* { */) {
        segStart = false;
        const before = pi;
        pi++;
        const close = closingBrace(pat, pi);
        if (close < 0) return BAD;
        // Try each alternative spliced into the pattern, with the current backtrack state.
        for (;;) {
          const comma = nextComma(pat, pi, close);
          const end = comma < 0 ? close : comma;
          const spliced = pat.slice(0, before).concat(pat.slice(pi, end), pat.slice(close + 1));
          const r = matchFrom(spliced, name, dsPat, dsName, sPat, sName, before, ni);
          if (comma < 0 || r !== false) return r;
          pi = comma + 1;
        }
      }
      let pr = c;
      if (c === BACKSLASH) {
        pi++;
        if (pi >= pl) return BAD;
        pr = pat[pi];
      }
      if (pr !== name[ni]) {
        // Back to the backslash before backtracking/validating (doublestar tests the previous rune only).
        if (pi > 0 && pat[pi - 1] === BACKSLASH) pi--;
        break step;
      }
      pi++;
      ni++;
      segStart = pr === SEP;
      continue outer;
    }

    // Mismatch (or pattern exhausted): backtrack to the last `*`, then to the last `**`.
    if (sPat >= 0 && name[sName] !== SEP) {
      sName++;
      pi = sPat;
      ni = sName;
      segStart = false;
      continue outer;
    }
    if (dsPat >= 0) {
      ni = dsName;
      while (ni < nl) {
        const r = name[ni++];
        if (r === SEP) {
          dsName = ni;
          pi = dsPat;
          segStart = true;
          continue outer;
        }
      }
    }
    if (pi < pl && !validRunes(pat.slice(pi))) return BAD;
    return false;
  }
  if (ni < nl) return false;
  return zeroLength(pat.slice(pi));
}

/** Whether the rest of a pattern can match the empty string (`a/**` matches `a`). */
function zeroLength(p: number[]): Res {
  const s = String.fromCodePoint(...p);
  if (s === '' || s === '*' || s === '**' || s === '/**' || s === '**/' || s === '/**/') return true;
  if (p[0] === 0x7b) {
    const close = closingBrace(p, 1);
    if (close < 0) return BAD;
    let pi = 1;
    for (;;) {
      const comma = nextComma(p, pi, close);
      const end = comma < 0 ? close : comma;
      const r = zeroLength(p.slice(pi, end).concat(p.slice(close + 1)));
      if (comma < 0 || r !== false) return r;
      pi = comma + 1;
    }
  }
  if (!validRunes(p)) return BAD;
  return false;
}

function indexUnescaped(p: number[], from: number, c: number): number {
  for (let i = from; i < p.length; i++) {
    if (p[i] === BACKSLASH) i++;
    else if (p[i] === c) return i;
  }
  return -1;
}

/** Index of the `}` closing the `{` just before `from` (nested braces and escapes skipped). */
function closingBrace(p: number[], from: number): number {
  let depth = 1;
  for (let i = from; i < p.length; i++) {
    if (p[i] === BACKSLASH) i++;
    else if (p[i] === 0x7b) depth++;
    else if (p[i] === 0x7d && --depth === 0) return i;
  }
  return -1;
}

/** Next top-level `,` in p[from, to), or -1. */
function nextComma(p: number[], from: number, to: number): number {
  let depth = 1;
  for (let i = from; i < to; i++) {
    if (p[i] === BACKSLASH) i++;
    else if (p[i] === 0x7b) depth++;
    else if (p[i] === 0x7d) depth--;
    else if (p[i] === 0x2c && depth === 1) return i;
  }
  return -1;
}

function validRunes(p: number[]): boolean {
  let depth = 0;
  const l = p.length;
  for (let i = 0; i < l; i++) {
    const c = p[i];
    if (c === BACKSLASH) {
      if (++i >= l) return false;
    } else if (c === 0x5b) {
      if (++i >= l) return false;
      if (p[i] === 0x5e || p[i] === 0x21) i++;
      if (i >= l || p[i] === 0x5d) return false;
      let closed = false;
      for (; i < l; i++) {
        if (p[i] === BACKSLASH) i++;
        else if (p[i] === 0x5d) { closed = true; break; }
      }
      if (!closed) return false;
    } else if (c === 0x7b) {
      depth++;
    } else if (c === 0x7d) {
      if (depth === 0) return false;
      depth--;
    }
  }
  return depth === 0;
}
