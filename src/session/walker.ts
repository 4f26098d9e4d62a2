/**
 * The sender-side directory walk of fsutil@V08 (walker.go, stat.go, followlinks.go): pre-order,
 * siblings in byte order, include/exclude/followpaths filtering, and Go-encoded Stat records.
 * It is a synchronous generator: a few lstat calls per entry are cheaper than promise round trips,
 * and the caller interleaves batches with network I/O.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { goModeFromUnix, ModeSocket } from './gomode';
import type { Stat } from './packet';
import { cleanPath } from '../util/gopath';
import { PatternMatcher, goMatch, matchPrefix, containsWildcards } from './patterns';
import { StapelkitError } from '../errors';

export interface WalkOptions {
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
  /** Go client behaviour: owners are reset to 0 so cache keys do not depend on the local user. */
  keepOwners?: boolean;
}

export interface WalkEntry {
  stat: Stat;
  /** Absolute host path of the entry. */
  absPath: string;
  /** Regular file whose contents the receiver may request. */
  isFile: boolean;
}

const SURROGATE = /[\ud800-\udfff]/;

/** Directory names in Go's sort.Strings order (UTF-8 byte order). */
function sortedNames(names: string[]): string[] {
  // UTF-16 order equals UTF-8 byte order unless surrogate pairs are involved.
  if (!names.some((n) => SURROGATE.test(n))) return names.sort();
  return names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

function isNotExist(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class WalkError extends StapelkitError {
  constructor(message: string, cause?: unknown) {
    super('E_SESSION_WALK', message, { cause });
  }
}

/** A failed file-system call `op` on `p` during the walk. */
function fsError(op: string, p: string, e: unknown): WalkError {
  return new WalkError(`${op} ${p}: ${(e as Error).message}`, e);
}

/** fsutil's dedupePaths: drop paths below an earlier one; "." means "no filter" (null). */
function dedupePaths(inp: string[]): string[] | null {
  const out: string[] = [];
  let last = '';
  for (const s of inp) {
    if (s === '.') return null;
    if (s.startsWith(last + '/')) continue;
    out.push(s);
    last = s;
  }
  return out;
}

/** fsutil FollowLinks: resolve symlinks along followpaths into extra include paths (relative to root). */
function followLinks(root: string, paths: string[]): string[] | null {
  const resolved = new Set<string>();
  const readSymlink = (p: string, allowWildcard: boolean): string[] | null => {
    const realPath = path.join(root, p);
    const base = path.posix.basename(p);
    if (allowWildcard && containsWildcards(base)) {
      let names: string[];
      try {
        names = fs.readdirSync(path.dirname(realPath));
      } catch (e) {
        if (isNotExist(e)) return null;
        throw fsError('readdir', path.dirname(realPath), e);
      }
      const out: string[] = [];
      for (const n of sortedNames(names)) {
        let ok = false;
        try { ok = goMatch(base, n); } catch { ok = false; }
        if (ok) {
          const r = readSymlink(path.posix.join(path.posix.dirname(p), n), false);
          if (r) out.push(...r);
        }
      }
      return out;
    }
    let st: fs.Stats;
    try {
      st = fs.lstatSync(realPath);
    } catch (e) {
      if (isNotExist(e)) return null;
      throw fsError('lstat', realPath, e);
    }
    if (!st.isSymbolicLink()) return null;
    const link = cleanPath(fs.readlinkSync(realPath));
    if (link.startsWith('/')) return [link];
    return [cleanPath('/' + path.posix.join(path.posix.dirname(p), link))];
  };
  const append = (p0: string): void => {
    let p = cleanPath(path.posix.join('.', p0));
    let current = '.';
    for (;;) {
      const slash = p.indexOf('/');
      const first = slash < 0 ? p : p.slice(0, slash);
      current = cleanPath(path.posix.join(current, first));
      const targets = readSymlink(current, true);
      p = slash < 0 ? '' : p.slice(slash + 1);
      if ((p === '' || targets !== null) && resolved.has(current)) return;
      if (targets !== null) {
        resolved.add(current);
        for (const t of targets) append(path.posix.join(t, p));
        return;
      }
      if (p === '') {
        resolved.add(current);
        return;
      }
    }
  };
  for (const p of paths) append(p);
  const res = [...resolved].sort();
  return dedupePaths(res);
}

/**
 * Walks `dir` like fsutil.Walk. Yields entries in the exact order the daemon's validator expects.
 * Throws WalkError for unreadable directories or a root that is not a directory.
 */
export function* walk(dir: string, opts: WalkOptions = {}): Generator<WalkEntry> {
  let root: string;
  try {
    root = fs.realpathSync(dir);
  } catch (e) {
    throw new WalkError(`failed to resolve ${dir}: ${(e as Error).message}`, e);
  }
  if (!fs.statSync(root).isDirectory()) throw new WalkError(`walk ${root}: not a directory`);

  const pm = opts.excludePatterns && opts.excludePatterns.length ? new PatternMatcher(opts.excludePatterns) : null;
  let includePatterns: string[] | null = opts.includePatterns && opts.includePatterns.length ? opts.includePatterns.map(cleanPath) : null;
  if (opts.followPaths && opts.followPaths.length) {
    const targets = followLinks(root, opts.followPaths);
    if (targets !== null) includePatterns = dedupePaths([...(includePatterns ?? []), ...targets]);
    // dedupePaths returning null ("." included) means no include filter at all.
  }
  const keepOwners = !!opts.keepOwners;
  const seenFiles = new Map<bigint, string>();
  let lastIncludedDir = '';

  // Explicit stack of directories still to list; each frame holds sorted names and a cursor.
  interface Frame { abs: string; rel: string; names: string[]; i: number }
  const listDir = (abs: string): string[] => {
    try {
      return sortedNames(fs.readdirSync(abs));
    } catch (e) {
      throw fsError('readdir', abs, e);
    }
  };
  const stack: Frame[] = [{ abs: root, rel: '', names: listDir(root), i: 0 }];

  while (stack.length) {
    const top = stack[stack.length - 1];
    if (top.i >= top.names.length) { stack.pop(); continue; }
    const name = top.names[top.i++];
    const abs = top.abs + '/' + name;
    const rel = top.rel ? top.rel + '/' + name : name;
    let st: fs.BigIntStats;
    try {
      st = fs.lstatSync(abs, { bigint: true });
    } catch (e) {
      if (isNotExist(e)) continue; // vanished since readdir, as fsutil skips it
      throw fsError('lstat', abs, e);
    }
    const isDirEntry = st.isDirectory();

    if (includePatterns !== null) {
      const skip = lastIncludedDir !== '' && rel.startsWith(lastIncludedDir + '/');
      if (!skip) {
        let matched = false;
        let partial = true;
        for (const pat of includePatterns) {
          const r = matchPrefix(pat, rel);
          if (r.matched) {
            matched = true;
            if (!r.partial) { partial = false; break; }
          }
        }
        if (!matched) continue; // for a directory this also skips its subtree
        if (!partial && isDirEntry) lastIncludedDir = rel;
      }
    }
    if (pm !== null && pm.matches(rel)) {
      let keep = false;
      if (isDirEntry && pm.hasExclusions) {
        // Descend into an excluded dir if some `!` pattern may re-include something below it.
        const dirSlash = rel + '/';
        for (const pat of pm.patterns) {
          if (pat.exclusion && (pat.text + '/').startsWith(dirSlash)) { keep = true; break; }
        }
      }
      if (!keep) continue;
    }

    const mode = (goModeFromUnix(Number(st.mode)) & ~ModeSocket) >>> 0;
    const stat: Stat = {
      path: rel,
      mode,
      uid: keepOwners ? Number(st.uid) : 0,
      gid: keepOwners ? Number(st.gid) : 0,
      size: 0n,
      modTime: st.mtimeNs,
      linkname: '',
      devmajor: 0n,
      devminor: 0n,
    };
    let isFile = false;
    if (!isDirEntry) {
      stat.size = st.size;
      if (st.isBlockDevice() || st.isCharacterDevice()) {
        const rdev = st.rdev;
        stat.devmajor = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
        stat.devminor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
      }
      let linked = false;
      if (st.nlink > 1n) {
        const old = seenFiles.get(st.ino);
        if (old !== undefined) {
          // fsutil zeroes the size here but mkstat then overwrites it with the real size again.
          stat.linkname = old;
          linked = true;
        }
      }
      if (!linked) seenFiles.set(st.ino, rel);
      if (st.isSymbolicLink()) {
        try {
          stat.linkname = fs.readlinkSync(abs);
        } catch (e) {
          if (isNotExist(e)) continue;
          throw fsError('readlink', abs, e);
        }
      }
      isFile = st.isFile();
    }
    yield { stat, absPath: abs, isFile };
    if (isDirEntry) stack.push({ abs, rel, names: listDir(abs), i: 0 });
  }
}
