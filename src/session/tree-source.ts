/**
 * A virtual tree served over FileSync instead of a directory on disk: a list of entries (path,
 * type, mode, size, link target) and a `read` for file contents — e.g. files straight from git
 * objects. The walk yields them in fsutil's order (pre-order, siblings by byte order), adds the
 * parent directories a list leaves out, and applies the daemon's include/exclude patterns like the
 * disk walker does.
 */
import type { Stat } from './packet';
import { ModeDir, ModeSymlink } from './gomode';
import { PatternMatcher, matchPrefix } from './patterns';
import { cleanPath } from '../util/gopath';
import type { WalkOptions } from './walker';
import { StapelkitError } from '../errors';

export interface TreeSourceEntry {
  /** Relative POSIX path, no leading `/`. */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (e.g. 0o644, 0o755). */
  mode: number;
  size?: number;
  linkname?: string;
  /** Modification time, Unix nanoseconds (default: the source's mtime). */
  mtimeNs?: bigint;
  uid?: number;
  gid?: number;
}

export interface TreeSource {
  /** Stable identity of the content (part of the session's shared key). */
  readonly id: string;
  /** All entries, any order; parents may be left out. */
  entries(): TreeSourceEntry[] | Promise<TreeSourceEntry[]>;
  /** The contents of a `file` entry. */
  read(entry: TreeSourceEntry): Promise<Buffer>;
  /** Mode of directories the list leaves out (default 0o755). */
  readonly dirMode?: number;
  /** Default modification time, Unix nanoseconds (default 0). */
  readonly mtimeNs?: bigint;
}

export function isTreeSource(x: unknown): x is TreeSource {
  return typeof x === 'object' && x !== null && typeof (x as TreeSource).read === 'function' && typeof (x as TreeSource).entries === 'function';
}

export interface TreeWalkEntry { stat: Stat; entry: TreeSourceEntry; isFile: boolean }

/** fsutil walk order: compare path segments, so `a/b` comes before `a-c` (a directory's subtree first). */
function walkOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a.replace(/\//g, '\0')), Buffer.from(b.replace(/\//g, '\0')));
}

/** Entries in walk order with missing parents added; duplicate or escaping paths are errors. */
export function normalizeTree(list: TreeSourceEntry[], dirMode = 0o755): TreeSourceEntry[] {
  const byPath = new Map<string, TreeSourceEntry>();
  for (const e of list) {
    const p = cleanPath(e.path);
    if (p === '.' || p.startsWith('/') || p === '..' || p.startsWith('../')) throw new StapelkitError('E_SESSION_TREE', `invalid path ${JSON.stringify(e.path)} in a virtual tree`);
    if (byPath.has(p)) throw new StapelkitError('E_SESSION_TREE', `duplicate path ${p} in a virtual tree`);
    byPath.set(p, p === e.path ? e : { ...e, path: p });
  }
  for (const p of [...byPath.keys()]) {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
      const parent = p.slice(0, i);
      const existing = byPath.get(parent);
      if (existing) {
        if (existing.type !== 'dir') throw new StapelkitError('E_SESSION_TREE', `${parent} is both a ${existing.type} and a directory in a virtual tree`);
        break;
      }
      byPath.set(parent, { path: parent, type: 'dir', mode: dirMode });
    }
  }
  return [...byPath.values()].sort((a, b) => walkOrder(a.path, b.path));
}

/** Like walker.walk for a virtual tree (include/exclude patterns as fsutil applies them; no followpaths). */
export function* walkTree(entries: TreeSourceEntry[], opts: WalkOptions & { mtimeNs?: bigint } = {}): Generator<TreeWalkEntry> {
  const pm = opts.excludePatterns && opts.excludePatterns.length ? new PatternMatcher(opts.excludePatterns) : null;
  const includes = opts.includePatterns && opts.includePatterns.length ? opts.includePatterns.map(cleanPath) : null;
  let lastIncludedDir = '';
  /** Directories skipped with their subtree (excluded, or not included at all). */
  let skipBelow = '';
  for (const e of entries) {
    const rel = e.path;
    if (skipBelow && rel.startsWith(skipBelow + '/')) continue;
    skipBelow = '';
    const isDir = e.type === 'dir';
    if (includes) {
      const under = lastIncludedDir !== '' && rel.startsWith(lastIncludedDir + '/');
      if (!under) {
        let matched = false;
        let partial = true;
        for (const pat of includes) {
          const r = matchPrefix(pat, rel);
          if (r.matched) { matched = true; if (!r.partial) { partial = false; break; } }
        }
        if (!matched) { if (isDir) skipBelow = rel; continue; }
        if (!partial && isDir) lastIncludedDir = rel;
      }
    }
    if (pm && pm.matches(rel)) {
      let keep = false;
      if (isDir && pm.hasExclusions) {
        const dirSlash = rel + '/';
        for (const pat of pm.patterns) if (pat.exclusion && (pat.text + '/').startsWith(dirSlash)) { keep = true; break; }
      }
      if (!keep) { if (isDir) skipBelow = rel; continue; }
    }
    const typeBits = isDir ? ModeDir : e.type === 'symlink' ? ModeSymlink : 0;
    const stat: Stat = {
      path: rel,
      mode: ((e.mode & 0o777) | typeBits) >>> 0,
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      size: isDir ? 0n : BigInt(e.type === 'symlink' ? Buffer.byteLength(e.linkname ?? '') : e.size ?? 0),
      modTime: e.mtimeNs ?? opts.mtimeNs ?? 0n,
      linkname: e.type === 'symlink' ? e.linkname ?? '' : '',
      devmajor: 0n,
      devminor: 0n,
    };
    yield { stat, entry: e, isFile: e.type === 'file' };
  }
}
