/**
 * What the rest of Stapelkit needs from git: the HEAD commit, files and trees at that commit, and
 * the state of a path in the work tree. All paths are POSIX, relative to the repository root, with
 * no leading or trailing `/` (`""` is the root). Calls are synchronous: the template engine's
 * `.Files` functions are synchronous, and readers cache what they learn.
 */

export interface CommitInfo {
  hash: string;
  date: Date;
  /** The author time-zone offset as `+hhmm`/`-hhmm` (git's `%ai` suffix), for human formatting. */
  tzOffset: string;
  /** The commit's tree object id, when the reader has it. */
  tree?: string;
}

/** `+0300` → 180, `-0130` → -90. */
export function tzOffsetMinutes(offset: string): number {
  const m = /^([+-])(\d\d)(\d\d)$/.exec(offset);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3]);
  return m[1] === '-' ? -minutes : minutes;
}

export interface TreeEntry {
  path: string;
  /** Octal git mode: `100644`, `100755`, `120000` (symlink), `040000` (tree), `160000` (submodule). */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
}

/**
 * `committed`: the path is in the tree and the work tree agrees with it;
 * `modified`: tracked, with staged or unstaged changes (or deleted in the work tree);
 * `staged`: not in HEAD but added to the index;
 * `untracked`: present on disk only; `ignored`: present on disk and git-ignored; `missing`: nowhere.
 */
export type PathState = 'committed' | 'modified' | 'staged' | 'untracked' | 'ignored' | 'missing';

export interface GitReader {
  /** Absolute path of the work tree root. */
  readonly repoRoot: string;
  /** `true` for the work-tree (`--dev`) variant. */
  readonly worktree: boolean;
  head(): CommitInfo;
  /** File content, or `undefined` when there is no such file (directories are not files). */
  readFile(path: string): Buffer | undefined;
  /** Several files at once (one `git cat-file --batch` round trip); absent paths are left out. */
  readFiles(paths: string[]): Map<string, Buffer>;
  /**
   * Files the caller will probably read next: their contents come with the next readFiles call's
   * git process instead of one of their own (the config after the giterminism config). Optional.
   */
  /** The raw `ls-tree -r -t -l -z` listing of HEAD's commit, when the reader read one ahead (CliGitReader). */
  headListing?(): { commit: string; raw: Buffer } | undefined;
  prefetch?(paths: string[]): void;
  /** Every entry (blobs, trees, submodules) under `dir` (default: the whole tree), sorted by path. */
  listTree(dir?: string): TreeEntry[];
  /** Paths of files (blobs, symlinks) under `dir`, sorted. */
  listFiles(dir?: string): string[];
  entry(path: string): TreeEntry | undefined;
  isDir(path: string): boolean;
  exists(path: string): boolean;
  /** State of a path relative to HEAD and the work tree. */
  pathState(path: string): PathState;
}

/** Normalise a user path to the reader's form: POSIX, no `./`, no leading/trailing slash. */
export function normalizeGitPath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return '..'; // outside the tree: callers treat it as missing
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return parts.join('/');
}

/** A relative path that leaves its base directory: `..` or `../…`. */
export function isOutside(p: string): boolean {
  return p === '..' || p.startsWith('../');
}

export function isUnder(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(dir + '/');
}
