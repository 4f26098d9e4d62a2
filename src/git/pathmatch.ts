/**
 * werf's path matchers (pkg/path_matcher): the one filter every git-mapping consumer uses —
 * archives, patches, stageDependencies checksums, imports. A matcher answers two questions about
 * a repository path (POSIX, relative, no leading `/`):
 *  - isPathMatched(p): the path itself is selected;
 *  - shouldGoThrough(p): a directory that is not selected as a whole, but may contain selected paths.
 *
 * Glob rules (common.go): a path matches a glob when it matches the glob, the glob with its trailing
 * all-`*` components removed (`src/**\/*` → `src`), or that + `/**\/*` — so naming a directory selects
 * everything inside it. `.`, `*`, `**`, `**\/*` are "universal". Globs are relative to the base path.
 */
import { cleanPath } from '../util/gopath';
import { StapelkitError } from '../errors';
import { BadPatternError, pathMatch, simplePatternRegExp, validatePattern } from './doublestar';

export interface PathMatcher {
  isPathMatched(path: string): boolean;
  shouldGoThrough(path: string): boolean;
  /** isPathMatched || shouldGoThrough (directories and submodules). */
  isDirOrSubmodulePathMatched(path: string): boolean;
}

const SPECIAL_CHAR_HINT = "The specified glob pattern contains special characters '?[{' that need to be properly used or escaped with '\\\\'.";

/** A malformed glob: werf logs `Failed to match path … with glob …` and exits 1. */
export class GlobError extends StapelkitError {
  constructor(readonly glob: string, readonly path: string, cause: unknown) {
    super('E_GLOB', `Failed to match path ${JSON.stringify(path)} with glob ${JSON.stringify(glob)}: syntax error in pattern`, {
      hint: /[?[{]/.test(glob) ? SPECIAL_CHAR_HINT : undefined,
      cause,
    });
  }
}

function match(glob: string, p: string): boolean {
  try {
    return pathMatch(glob, p);
  } catch (e) {
    if (e instanceof BadPatternError) throw new GlobError(glob, p, e);
    throw e;
  }
}

const UNCLEAN = /(^|\/)\.{1,2}(\/|$)|\/\/|\/$/;
// Nested matchers clean the same path one after another: remember the last one.
let lastIn = '';
let lastOut = '';

/** Go's filepath.Clean, with a fast path for the already-clean paths git prints. */
function clean(p: string): string {
  if (p === lastIn && p !== '') return lastOut;
  const out = p !== '' && !UNCLEAN.test(p) ? p : cleanPath(p);
  lastIn = p;
  lastOut = out;
  return out;
}

/** werf formatPath: `""`, `"."`, `"/"` → `""`, otherwise Go's filepath.Clean. */
export function formatPath(p: string): string {
  if (p === '' || p === '.' || p === '/') return '';
  return clean(p);
}

/** werf util.SplitFilepath: cleaned, leading `/` dropped, split on `/` not preceded by `\`. */
export function splitFilepath(p: string): string[] {
  let c = clean(p);
  if (c.startsWith('/')) c = c === '/' ? '' : c.slice(1);
  if (c === '' || c === '.') return [];
  if (!c.includes('\\')) return c.split('/');
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < c.length; i++) {
    if (c[i] === '/' && !(i > 0 && c[i - 1] === '\\')) {
      out.push(c.slice(start, i));
      start = i + 1;
    }
  }
  out.push(c.slice(start));
  return out;
}

function joinParts(parts: string[]): string {
  return parts.length ? cleanPath(parts.join('/')) : '';
}

/** werf SafeTrimGlobsAndSlashesFromPath: drop trailing components made of `*` only. */
export function trimTrailingGlobs(p: string): string {
  const parts = splitFilepath(p);
  let n = parts.length;
  while (n > 0 && parts[n - 1].replace(/\*+$/, '') === '') n--;
  return joinParts(parts.slice(0, n));
}

const formsCache = new Map<string, string[]>();

/** The three forms a glob is tried in (see the file comment). */
function globForms(glob: string): string[] {
  let f = formsCache.get(glob);
  if (!f) {
    const trimmed = trimTrailingGlobs(glob);
    f = [glob, trimmed, trimmed ? trimmed + '/**/*' : '**/*'];
    if (formsCache.size > 10000) formsCache.clear();
    formsCache.set(glob, f);
  }
  return f;
}

const formsRegExpCache = new Map<string, RegExp | null>();

/** The three forms of a glob as one RegExp when each has a RegExp form (one test per path instead of three). */
function formsRegExp(glob: string): RegExp | null {
  let r = formsRegExpCache.get(glob);
  if (r === undefined) {
    const res = globForms(glob).map(simplePatternRegExp);
    r = res.every((x): x is RegExp => x !== null) ? new RegExp(`^(?:${res.map((x) => `(?:${x.source.slice(1)})`).join('|')})`, 'u') : null;
    if (formsRegExpCache.size > 10000) formsRegExpCache.clear();
    formsRegExpCache.set(glob, r);
  }
  return r;
}

function isPathMatchedByGlob(p: string, glob: string): boolean {
  const re = formsRegExp(glob);
  if (re) return re.test(p);
  for (const g of globForms(glob)) if (match(g, p)) return true;
  return false;
}

function isAnyPatternMatched(p: string, globs: string[]): boolean {
  for (const g of globs) if (isPathMatchedByGlob(p, g)) return true;
  return false;
}

export function hasUniversalGlob(globs: string[]): boolean {
  for (const g of globs) if (g === '.' || trimTrailingGlobs(g) === '') return true;
  return false;
}

const partsCache = new Map<string, string[]>();
function globParts(glob: string): string[] {
  let p = partsCache.get(glob);
  if (!p) {
    p = splitFilepath(glob);
    if (partsCache.size > 10000) partsCache.clear();
    partsCache.set(glob, p);
  }
  return p;
}

/** One path component against the first component of each glob: globs still in progress / fully matched. */
function matchGlobs(part: string, globs: string[]): { inProgress: string[]; matched: string[] } {
  const inProgress: string[] = [];
  const matched: string[] = [];
  for (const glob of globs) {
    const parts = globParts(glob);
    const first = parts[0] ?? '';
    if (!match(first, part)) continue;
    if (first.includes('**')) inProgress.push(glob);
    else if (parts.length > 1) inProgress.push(joinParts(parts.slice(1)));
    else matched.push(glob);
  }
  return { inProgress, matched };
}

abstract class Base implements PathMatcher {
  abstract isPathMatched(path: string): boolean;
  abstract shouldGoThrough(path: string): boolean;
  isDirOrSubmodulePathMatched(path: string): boolean {
    return this.isPathMatched(path) || this.shouldGoThrough(path);
  }
}

export class TrueMatcher extends Base {
  isPathMatched(): boolean { return true; }
  shouldGoThrough(): boolean { return false; }
}

export class IncludeMatcher extends Base {
  readonly globs: string[];
  constructor(globs: string[]) {
    super();
    this.globs = globs.map(formatPath);
  }
  isPathMatched(path: string): boolean {
    return this.globs.length === 0 || isAnyPatternMatched(formatPath(path), this.globs);
  }
  shouldGoThrough(path: string): boolean {
    const p = formatPath(path);
    if (this.globs.length === 0 || hasUniversalGlob(this.globs)) return false;
    if (p === '') return true;
    let inProgress = this.globs;
    for (const part of splitFilepath(p)) {
      if (inProgress.length === 0) break;
      inProgress = matchGlobs(part, inProgress).inProgress;
    }
    return inProgress.length !== 0 && !hasUniversalGlob(inProgress);
  }
}

export class ExcludeMatcher extends Base {
  readonly globs: string[];
  constructor(globs: string[]) {
    super();
    this.globs = globs.map(formatPath);
  }
  isPathMatched(path: string): boolean {
    return this.globs.length === 0 || !isAnyPatternMatched(formatPath(path), this.globs);
  }
  shouldGoThrough(path: string): boolean {
    const p = formatPath(path);
    if (this.globs.length === 0 || hasUniversalGlob(this.globs)) return false;
    if (p === '') return true;
    let inProgress = this.globs;
    let matched: string[] = [];
    for (const part of splitFilepath(p)) {
      if (inProgress.length === 0) break;
      ({ inProgress, matched } = matchGlobs(part, inProgress));
    }
    // Partially matched by some exclude and not completely matched by another.
    return matched.length === 0 && inProgress.length !== 0 && !hasUniversalGlob(inProgress);
  }
}

/** All matchers at once (AND). */
export class MultiMatcher extends Base {
  readonly matchers: PathMatcher[];
  constructor(matchers: PathMatcher[]) {
    super();
    this.matchers = matchers.length ? matchers : [new TrueMatcher()];
  }
  isPathMatched(path: string): boolean {
    for (const m of this.matchers) if (!m.isPathMatched(path)) return false;
    return true;
  }
  /** Some matcher wants to go through and every other one matches the path. */
  shouldGoThrough(path: string): boolean {
    let through = false;
    for (const m of this.matchers) {
      if (m.shouldGoThrough(path)) through = true;
      else if (!m.isPathMatched(path)) return false;
    }
    return through;
  }
}

/** werf IsSubpathOfBasePath: `path` lies strictly below `base`. */
function isSubpath(base: string, path: string): boolean {
  const b = splitFilepath(base);
  const p = splitFilepath(path);
  if (b.length > p.length) return false;
  if (b.length === p.length && b.every((x, i) => x === p[i])) return false;
  for (let i = 0; i < b.length; i++) if (b[i] !== '' && b[i] !== p[i]) return false;
  return true;
}

/** filepath.Rel for two clean relative paths (`.` when equal). */
function relPath(base: string, target: string): string {
  const b = base === '' ? [] : base.split('/');
  const t = target === '' ? [] : target.split('/');
  let i = 0;
  while (i < b.length && i < t.length && b[i] === t[i]) i++;
  const up = b.slice(i).map(() => '..');
  const rest = up.concat(t.slice(i));
  return rest.length ? rest.join('/') : '.';
}

/** Paths are selected below `basePath` only; the inner matcher sees them relative to it. */
export class BasePathMatcher extends Base {
  readonly basePath: string;
  constructor(basePath: string, readonly matcher?: PathMatcher) {
    super();
    this.basePath = formatPath(basePath);
  }
  isPathMatched(path: string): boolean {
    const p = formatPath(path);
    const below = this.below(p);
    if (below === undefined) return false;
    return this.matcher ? this.matcher.isPathMatched(below) : true;
  }
  shouldGoThrough(path: string): boolean {
    const p = formatPath(path);
    if (isSubpath(p, this.basePath)) return true; // an ancestor of the base path
    const below = this.below(p);
    return this.matcher ? this.matcher.shouldGoThrough(below ?? relPath(this.basePath, p)) : false;
  }

  /**
   * `p` relative to the base path when it is the base (`.`) or lies below it, else undefined. Clean
   * paths without `\` (all of git's, nearly always) take string prefixes: this runs per file in
   * every mapping walk, where the split-and-compare form allocated a dozen strings.
   */
  private below(p: string): string | undefined {
    const b = this.basePath;
    if (!b.includes('\\') && !p.includes('\\')) {
      if (p === b) return '.';
      if (b === '') return p;
      return p.length > b.length && p.charCodeAt(b.length) === 0x2f && p.startsWith(b) ? p.slice(b.length + 1) : undefined;
    }
    return isSubpath(b, p) || b === p ? relPath(b, p) : undefined;
  }
}

export interface PathMatcherOptions {
  basePath?: string;
  includeGlobs?: string[];
  excludeGlobs?: string[];
  matchers?: PathMatcher[];
}

/** werf NewPathMatcher: include AND NOT exclude AND extra matchers, under an optional base path. */
export function newPathMatcher(opts: PathMatcherOptions): PathMatcher {
  const ms: PathMatcher[] = [];
  if (opts.includeGlobs?.length) ms.push(new IncludeMatcher(opts.includeGlobs));
  if (opts.excludeGlobs?.length) ms.push(new ExcludeMatcher(opts.excludeGlobs));
  if (opts.matchers?.length) ms.push(...opts.matchers);
  const multi = new MultiMatcher(ms);
  return opts.basePath ? new BasePathMatcher(opts.basePath, multi) : multi;
}

/** The matcher of a git mapping or import: base = `add` without its leading `/`. */
export function exportMatcher(e: { add: string; includePaths: string[]; excludePaths: string[] }): PathMatcher {
  return newPathMatcher({ basePath: mappingAdd(e.add), includeGlobs: e.includePaths, excludeGlobs: e.excludePaths });
}

/** werf GitMappingAdd: `/` → `""`, otherwise without the leading `/`. */
export function mappingAdd(add: string): string {
  if (add === '/' || add === '') return '';
  return add.replace(/^\/+/, '');
}

/** Checks every glob of a mapping up front, so a bad glob fails before any git work. */
export function validateGlobs(globs: string[]): void {
  for (const g of globs) {
    for (const form of globForms(formatPath(g))) {
      if (!validatePattern(form)) throw new GlobError(form, '', new BadPatternError(form));
    }
  }
}
