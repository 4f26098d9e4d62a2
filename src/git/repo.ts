/**
 * The build's asynchronous view of a git repository (local project repo or a remote mirror). Every
 * call runs git in a child process (never blocking the event loop that serves the session), and
 * long outputs stream. Paths are POSIX, relative to the repository root, no leading `/`.
 *
 * The synchronous GitReader (reader.ts) stays for the template engine; build code uses this.
 */
import type { TreeEntry } from './reader';

/** A tree entry with its blob size (`lsTree(…, { sizes: true })`; undefined for trees and gitlinks). */
export interface SizedTreeEntry extends TreeEntry {
  size?: number;
}

export interface Submodule {
  /** The name in `.gitmodules` (`submodule.<name>.path`). */
  name: string;
  path: string;
  url: string;
  /** The commit the superproject records (gitlink). */
  commit: string;
}

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
  lsTree(commit: string, opts?: LsTreeOpts): Promise<SizedTreeEntry[]>;
  /** The entry at `path` in `commit` (`""`: the root tree), or undefined. */
  entry(commit: string, path: string): Promise<TreeEntry | undefined>;
  /** Changes from `from` to `to`, limited to paths under `dir` (recursive, no rename detection). */
  diff(from: string, to: string, opts?: { dir?: string }): Promise<ChangedPath[]>;
  /** Whether `ancestor` is an ancestor of (or equal to) `commit`; false when either is unknown. */
  isAncestor(ancestor: string, commit: string): Promise<boolean>;
  /** Whether the object exists in this repository. */
  hasCommit(commit: string): Promise<boolean>;
  /** Blob contents by object id, in one batch (`git cat-file --batch`). */
  readBlobs(oids: string[]): Promise<Map<string, Buffer>>;
  /** One blob by object id (from the open `cat-file --batch`); undefined when missing. */
  readBlob(oid: string): Promise<Buffer | undefined>;
  /** Submodules recorded at `commit` (gitlinks named in `.gitmodules`), sorted by path. */
  submodules(commit: string): Promise<Submodule[]>;
  /** The submodule's own repository (`.git/modules/<name>`, or its checkout), undefined when absent. */
  openSubmodule(sm: Submodule): Promise<GitRepo | undefined>;
  /** `git diff` text between two commits limited to `dir` (see CliGitRepo.diffText). */
  diffText(from: string, to: string, opts?: DiffTextOptions): Promise<Buffer>;
  /** Ends the long-lived helper processes (blob reader). Further calls reopen them. */
  close(): void;
}

export interface LsTreeOpts {
  dir?: string;
  /** Include tree entries (`-t`). */
  trees?: boolean;
  /** Blob sizes (`-l`). */
  sizes?: boolean;
  /** `'git'`: git's tree-walk order (parents first, siblings in git order) instead of path order. */
  order?: 'path' | 'git';
}

export interface DiffTextOptions {
  dir?: string;
  /** `--binary` (werf's gitCache size measure). */
  binary?: boolean;
  /** Whole files as context (`-c diff.context=999999999`). */
  fullContext?: boolean;
  /** Only these paths (exact, relative to the repo root); default: everything under `dir`. */
  paths?: string[];
}
