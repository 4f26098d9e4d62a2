/**
 * Path pattern semantics the daemon expects from a FileSync sender, ported from Go:
 *  - goMatch: filepath.Match (Go ≥ 1.16 behaviour: syntax errors are reported even after a mismatch).
 *  - PatternMatcher: Docker's pkg/fileutils.PatternMatcher (moby v20.10, used by fsutil@V08 for
 *    .dockerignore-style exclude patterns): patterns become anchored regexps, `**` spans directories,
 *    `!` re-includes, and a pattern also matches any path below a matching parent directory.
 *  - matchPrefix: fsutil walker's include-pattern test, which also accepts parents of possible matches.
 */
import { StapelkitError } from '../errors';
import { cleanPath } from '../util/gopath';

export class BadPatternError extends StapelkitError {
  constructor(pattern: string, detail = 'syntax error in pattern') {
    super('E_SESSION_PATTERN', `invalid path pattern ${JSON.stringify(pattern)}: ${detail}`);
  }
}

// ---------------- filepath.Match ----------------

type Chunk = string[]; // code points

function scanChunk(pattern: string[], start: number): { star: boolean; chunk: Chunk; rest: number } {
  let i = start;
  let star = false;
  while (i < pattern.length && pattern[i] === '*') { i++; star = true; }
  const chunkStart = i;
  let inrange = false;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') { if (i + 1 < pattern.length) i++; }
    else if (c === '[') inrange = true;
    else if (c === ']') inrange = false;
    else if (c === '*' && !inrange) break;
  }
  return { star, chunk: pattern.slice(chunkStart, i), rest: i };
}

const BAD = Symbol('bad pattern');

/** Returns the unmatched remainder index of `s` from `si`, -1 for no match, or BAD. */
function matchChunk(chunk: Chunk, s: string[], si: number): number | typeof BAD {
  let failed = false;
  let ci = 0;
  while (ci < chunk.length) {
    if (!failed && si >= s.length) failed = true;
    const c = chunk[ci];
    if (c === '[') {
      let r = '';
      if (!failed) r = s[si++];
      ci++;
      let negated = false;
      if (ci < chunk.length && chunk[ci] === '^') { negated = true; ci++; }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (ci < chunk.length && chunk[ci] === ']' && nrange > 0) { ci++; break; }
        const lo = getEsc(chunk, ci);
        if (lo === BAD) return BAD;
        ci = lo.next;
        let hi = lo;
        if (chunk[ci] === '-') {
          const h = getEsc(chunk, ci + 1);
          if (h === BAD) return BAD;
          hi = h;
          ci = h.next;
        }
        if (!failed && lo.cp <= r.codePointAt(0)! && r.codePointAt(0)! <= hi.cp) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === '?') {
      if (!failed) {
        if (s[si] === '/') failed = true;
        si++;
      }
      ci++;
    } else {
      if (c === '\\') {
        ci++;
        if (ci >= chunk.length) return BAD;
      }
      if (!failed) {
        if (chunk[ci] !== s[si]) failed = true;
        si++;
      }
      ci++;
    }
  }
  return failed ? -1 : si;
}

function getEsc(chunk: Chunk, i: number): { cp: number; next: number } | typeof BAD {
  if (i >= chunk.length || chunk[i] === '-' || chunk[i] === ']') return BAD;
  if (chunk[i] === '\\') {
    i++;
    if (i >= chunk.length) return BAD;
  }
  const cp = chunk[i].codePointAt(0)!;
  const next = i + 1;
  if (next >= chunk.length) return BAD;
  return { cp, next };
}

/** Go's filepath.Match on Unix. Throws BadPatternError for a malformed pattern. */
export function goMatch(pattern: string, name: string): boolean {
  const pat = Array.from(pattern);
  let s = Array.from(name);
  let pi = 0;
  outer: while (pi < pat.length) {
    const { star, chunk, rest } = scanChunk(pat, pi);
    pi = rest;
    if (star && chunk.length === 0) return !s.includes('/');
    const t = matchChunk(chunk, s, 0);
    if (t !== BAD && t >= 0 && (t === s.length || pi < pat.length)) {
      s = s.slice(t);
      continue;
    }
    if (t === BAD) throw new BadPatternError(pattern);
    if (star) {
      for (let i = 0; i < s.length && s[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, s, i + 1);
        if (t2 !== BAD && t2 >= 0) {
          if (pi >= pat.length && t2 < s.length) continue;
          s = s.slice(t2);
          continue outer;
        }
        if (t2 === BAD) throw new BadPatternError(pattern);
      }
    }
    // Mismatch: still report a syntax error anywhere in the rest of the pattern.
    while (pi < pat.length) {
      const sc = scanChunk(pat, pi);
      pi = sc.rest;
      if (matchChunk(sc.chunk, [], 0) === BAD) throw new BadPatternError(pattern);
    }
    return false;
  }
  return s.length === 0;
}

// ---------------- Docker PatternMatcher ----------------

const REGEXP_SPECIAL = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}', '/']);

export interface DockerPattern {
  /** Cleaned pattern without the leading '!'. */
  readonly text: string;
  readonly exclusion: boolean;
  readonly dirs: number; // number of '/'-separated components
  readonly regexp: RegExp;
}

/**
 * Docker's pattern → regexp translation. Characters Go's filepath.Match treats specially are mapped
 * ('*' → [^/]*, '**' → any depth, '?' → [^/], '\x' → literal x); '.' and '$' are escaped; other
 * characters pass through as regexp syntax exactly as Docker does (so `[a-z]` is a class). Deviation:
 * braces are escaped, because JavaScript rejects lone quantifier braces that Go reads literally.
 */
function compileDockerPattern(p: string): RegExp {
  const cps = Array.from(p);
  let re = '^';
  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i];
    if (ch === '*') {
      if (cps[i + 1] === '*') {
        i++;
        if (cps[i + 1] === '/') i++;
        if (i + 1 >= cps.length) re += '.*';
        else re += '(.*/)?';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '.' || ch === '$' || ch === '{' || ch === '}') re += '\\' + ch;
    else if (ch === '\\') {
      if (i + 1 < cps.length) {
        const next = cps[++i];
        re += REGEXP_SPECIAL.has(next) ? '\\' + next : next;
      } else re += '\\\\';
    } else if (ch === '/') re += '\\/';
    else re += ch;
  }
  re += '$';
  try {
    return new RegExp(re, 'u');
  } catch (e) {
    throw new BadPatternError(p, `cannot compile (${(e as Error).message})`);
  }
}

export class PatternMatcher {
  readonly patterns: DockerPattern[] = [];
  readonly hasExclusions: boolean;

  constructor(patterns: string[]) {
    let exclusions = false;
    for (const raw of patterns) {
      let p = raw.trim();
      if (p === '') continue;
      p = cleanPath(p);
      let exclusion = false;
      if (p[0] === '!') {
        if (p.length === 1) throw new BadPatternError(raw, 'illegal exclusion pattern: "!"');
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      goMatch(p, '.'); // syntax check, as Docker does
      this.patterns.push({ text: p, exclusion, dirs: p.split('/').length, regexp: compileDockerPattern(p) });
    }
    this.hasExclusions = exclusions;
  }

  /** True if `file` ('/'-separated, relative) is excluded by the pattern list. */
  matches(file: string): boolean {
    let matched = false;
    const lastSlash = file.lastIndexOf('/');
    const parentPath = lastSlash < 0 ? '.' : cleanPath(file.slice(0, lastSlash) || '/');
    const parentDirs = parentPath.split('/');
    for (const pat of this.patterns) {
      // A later positive pattern cannot change an already-excluded result, and vice versa.
      if (pat.exclusion ? !matched : matched) continue;
      let match = pat.regexp.test(file);
      if (!match && parentPath !== '.' && pat.dirs <= parentDirs.length) {
        match = pat.regexp.test(parentDirs.slice(0, pat.dirs).join('/'));
      }
      if (match) matched = !pat.exclusion;
    }
    return matched;
  }
}

// ---------------- fsutil include patterns ----------------

/**
 * fsutil walker's matchPrefix: a pattern with more components than `name` is cut to the same depth,
 * so parent directories of possible matches pass (partial = true).
 */
export function matchPrefix(pattern: string, name: string): { matched: boolean; partial: boolean } {
  const count = countSlashes(name);
  let partial = false;
  if (countSlashes(pattern) > count) {
    pattern = trimUntilIndex(pattern, count);
    partial = true;
  }
  let m = false;
  try { m = goMatch(pattern, name); } catch { m = false; }
  return { matched: m, partial };
}

function countSlashes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 47) n++;
  return n;
}

/** The first count+1 '/'-separated components of str. */
function trimUntilIndex(str: string, count: number): string {
  let idx = -1;
  for (let c = 0; c <= count; c++) {
    idx = str.indexOf('/', idx + 1);
    if (idx < 0) return str;
  }
  return str.slice(0, idx);
}

/** Go's filepath.Match-based wildcard check used by fsutil's followpaths resolver. */
export function containsWildcards(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    if (ch === '\\') i++;
    else if (ch === '*' || ch === '?' || ch === '[') return true;
  }
  return false;
}
