/**
 * The build's asynchronous view of a git repository (local project repo or a remote mirror). Every
 * call runs git in a child process (never blocking the event loop that serves the session), and
 * long outputs stream. Paths are POSIX, relative to the repository root, no leading `/`.
 *
 * The synchronous GitReader (reader.ts) stays for the template engine; build code uses this.
 */
import type { TreeEntry } from './reader';

export interface CommitMeta {
  hash: string;
  /** Tree object id of the commit. */
  tree: string;
  /** Author time, unix seconds. */
  authorTime: number;
  /** `+hhmm` / `-hhmm`. */
  tzOffset: string;
}

export interface ChangedPath {
  path: string;
  /** A added, M modified (content or mode), D deleted, T type changed (file ↔ symlink ↔ submodule). */
  status: 'A' | 'M' | 'D' | 'T';
  oldMode?: string;
  newMode?: string;
  oldOid?: string;
  newOid?: string;
}

export interface GitRepo {
  /** Absolute path of the repository (work tree root, or the bare mirror dir). */
  readonly dir: string;
  /** Resolve `HEAD`, a branch, tag or commit to its commit. Throws GIT_REF_NOT_FOUND. */
  resolve(ref: string): Promise<CommitMeta>;
  /** Entries under `dir` at `commit` (recursive; trees included when `trees`), sorted by path. */
  lsTree(commit: string, opts?: { dir?: string; trees?: boolean }): Promise<TreeEntry[]>;
  /** Changes from `from` to `to`, limited to paths under `dir` (recursive, no rename detection). */
  diff(from: string, to: string, opts?: { dir?: string }): Promise<ChangedPath[]>;
  /** Whether `ancestor` is an ancestor of (or equal to) `commit`; false when either is unknown. */
  isAncestor(ancestor: string, commit: string): Promise<boolean>;
  /** Whether the object exists in this repository. */
  hasCommit(commit: string): Promise<boolean>;
  /** Blob contents by object id, in one batch (`git cat-file --batch`). */
  readBlobs(oids: string[]): Promise<Map<string, Buffer>>;
  /** Submodules recorded at `commit`: path → { url, commit }. */
  submodules(commit: string): Promise<{ path: string; url: string; commit: string }[]>;
}
