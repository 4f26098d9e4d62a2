/**
 * werf's ls-tree (pkg/true_git/ls_tree) over an in-memory commit tree: which tree entries a path
 * scope + matcher select, without descending where the matcher says a whole directory is in or
 * out, and walking into submodules at their recorded commits. Its Checksum is the
 * stageDependencies checksum; with `allFiles` it lists the files of an archive.
 */
import { createHash } from 'node:crypto';
import { BasePathMatcher, MultiMatcher, TrueMatcher, formatPath, type PathMatcher } from './pathmatch';
import { loadSubmoduleTree, nodeAt, type CommitTree, type TreeNode } from './tree';
import type { Submodule } from './repo';

export interface LsEntry {
  /** Path from the superproject root (inside submodules too). */
  fullPath: string;
  node: TreeNode;
  /** The tree (repository + commit) the entry belongs to. */
  tree: CommitTree;
}

export interface LsResult {
  commit: string;
  /** Where this (sub)repository sits in the superproject (`""` for the top). */
  repoPath: string;
  entries: LsEntry[];
  submodules: LsResult[];
}

export interface LsTreeOptions {
  /** Directory or file that bounds the result (like a git pathspec); `""`/`.`: everything. */
  pathScope: string;
  matcher?: PathMatcher;
  /** Descend into fully matched directories and list files only. */
  allFiles?: boolean;
}

function join(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : a + '/' + b;
}

/** filepath.Rel for clean relative paths (`.` when equal, `..` segments when outside). */
function rel(base: string, target: string): string {
  const b = base === '' ? [] : base.split('/');
  const t = target === '' ? [] : target.split('/');
  let i = 0;
  while (i < b.length && i < t.length && b[i] === t[i]) i++;
  const out = b.slice(i).map(() => '..').concat(t.slice(i));
  return out.length ? out.join('/') : '.';
}

type Part = Omit<LsResult, 'commit' | 'repoPath'>;

/** Thrown by the synchronous walk when it needs a submodule tree not loaded yet. */
class NeedSubmodule {
  constructor(readonly parent: CommitTree, readonly sm: Submodule) {}
}

/**
 * The walk is synchronous over the in-memory tree (50k entries without a promise each); a submodule
 * tree it has not loaded yet aborts the walk, gets loaded, and the walk starts again.
 */
class Walker {
  readonly matcher: PathMatcher;
  private readonly subTrees = new Map<string, CommitTree>();
  constructor(readonly opts: LsTreeOptions) {
    const scope = formatPath(opts.pathScope);
    const scopeMatcher: PathMatcher = scope ? new BasePathMatcher(scope, new MultiMatcher([new TrueMatcher()])) : new MultiMatcher([new TrueMatcher()]);
    this.matcher = new MultiMatcher(opts.matcher ? [scopeMatcher, opts.matcher] : [scopeMatcher]);
  }

  async run(top: CommitTree): Promise<LsResult> {
    for (;;) {
      try {
        return this.runSync(top);
      } catch (e) {
        if (!(e instanceof NeedSubmodule)) throw e;
        const sub = await loadSubmoduleTree(e.parent, e.sm, { sizes: !!this.opts.allFiles });
        this.subTrees.set(this.subKey(e.parent, e.sm), sub);
      }
    }
  }

  private subKey(parent: CommitTree, sm: Submodule): string {
    return parent.repo.dir + '\0' + sm.path + '\0' + sm.commit;
  }

  private sub(parent: CommitTree, sm: Submodule): CommitTree {
    const t = this.subTrees.get(this.subKey(parent, sm));
    if (!t) throw new NeedSubmodule(parent, sm);
    return t;
  }

  /** werf lsTreeDirOrSubmoduleEntryMatchBase. */
  private dirOrSubmodule(path: string, add: () => void, check: () => void): void {
    if (this.matcher.shouldGoThrough(path)) return check();
    if (this.matcher.isPathMatched(path)) {
      if (this.opts.allFiles) return check();
      add();
    }
  }

  private runSync(top: CommitTree): LsResult {
    const res: LsResult = { commit: top.commit, repoPath: '', entries: [], submodules: [] };
    const scope = formatPath(this.opts.pathScope);
    if (scope) {
      const r = this.specific(top, '', '', scope);
      res.entries = r.entries;
      res.submodules = r.submodules;
      return res;
    }
    this.dirOrSubmodule('', () => res.entries.push({ fullPath: '', node: top.root, tree: top }), () => {
      const r: Part = { entries: [], submodules: [] };
      this.walk(top, top.root, '', '', r);
      res.entries = r.entries;
      res.submodules = r.submodules;
    });
    return res;
  }

  /** werf processSpecificEntryFilepath: the scope may lie inside a submodule. */
  private specific(t: CommitTree, repoFull: string, treeFull: string, entryPath: string): Part {
    for (const sm of t.submodules) {
      const r = rel(sm.path, entryPath);
      if (r === '.' || r === '..' || r.startsWith('../')) continue;
      const subFull = join(treeFull, sm.path);
      const inner = this.specific(this.sub(t, sm), subFull, subFull, r);
      const sr: LsResult = { commit: sm.commit, repoPath: subFull, entries: inner.entries, submodules: inner.submodules };
      return { entries: [], submodules: sr.entries.length || sr.submodules.length ? [sr] : [] };
    }
    const node = nodeAt(t, entryPath);
    const out: Part = { entries: [], submodules: [] };
    if (node) this.entry(t, repoFull, { fullPath: join(treeFull, entryPath), node, tree: t }, out);
    return out;
  }

  private walk(t: CommitTree, dir: TreeNode, repoFull: string, treeFull: string, out: Part): void {
    for (const child of dir.children ?? []) this.entry(t, repoFull, { fullPath: join(treeFull, child.name), node: child, tree: t }, out);
  }

  private entry(t: CommitTree, repoFull: string, e: LsEntry, out: Part): void {
    if (e.node.type === 'tree') {
      this.dirOrSubmodule(e.fullPath, () => out.entries.push(e), () => this.walk(t, e.node, repoFull, e.fullPath, out));
    } else if (e.node.type === 'commit') {
      this.dirOrSubmodule(e.fullPath, () => out.entries.push(e), () => {
        const smPath = rel(repoFull, e.fullPath);
        const sm = t.submodules.find((s) => s.path === smPath);
        if (!sm) return; // a gitlink .gitmodules does not name: nothing to walk into
        const sub = this.sub(t, sm);
        const r: Part = { entries: [], submodules: [] };
        this.walk(sub, sub.root, e.fullPath, e.fullPath, r);
        if (r.entries.length) out.submodules.push({ commit: sm.commit, repoPath: e.fullPath, entries: r.entries, submodules: r.submodules });
      });
    } else if (this.matcher.isPathMatched(e.fullPath)) {
      out.entries.push(e);
    }
  }
}

/** werf ls_tree.LsTree over `tree` (the top repository's commit tree). */
export function lsTree(tree: CommitTree, opts: LsTreeOptions): Promise<LsResult> {
  return new Walker(opts).run(tree);
}

export function isEmptyResult(r: LsResult): boolean {
  return r.entries.length === 0 && r.submodules.length === 0;
}

const SURROGATE = /[\ud800-\udfff]/;

/** Go string order (bytes); JS order differs only around surrogate pairs. */
function byteCompare(a: string, b: string): number {
  if (a === b) return 0;
  if (SURROGATE.test(a) || SURROGATE.test(b)) return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : 1;
}

/** `items` sorted by `key` in Go string order; one surrogate scan per item instead of one per comparison. */
function sortByBytes<T>(items: T[], key: (x: T) => string): T[] {
  const out = items.slice();
  if (out.some((x) => SURROGATE.test(key(x)))) return out.sort((a, b) => byteCompare(key(a), key(b)));
  return out.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka === kb ? 0 : ka < kb ? -1 : 1;
  });
}

/**
 * werf Result.Checksum: sha256 over each selected entry's object id and `%07o` mode, sorted by full
 * path, then the checksums of selected submodules sorted by path; `""` for an empty result.
 */
export function resultChecksum(r: LsResult): string {
  if (isEmptyResult(r)) return '';
  const h = createHash('sha256');
  const entries = sortByBytes(r.entries, (e) => e.fullPath);
  const parts: string[] = new Array(entries.length);
  for (let i = 0; i < entries.length; i++) parts[i] = entries[i].node.oid + entries[i].node.mode.padStart(7, '0');
  h.update(parts.join(''));
  const subs = sortByBytes(r.submodules, (x) => x.repoPath);
  for (const s of subs) {
    const c = resultChecksum(s);
    if (c) h.update(c);
  }
  return h.digest('hex');
}

/** Every entry of a result, submodules included (werf Result.Walk order). */
export function* resultEntries(r: LsResult): Generator<LsEntry> {
  yield* sortByBytes(r.entries, (e) => e.fullPath);
  const subs = sortByBytes(r.submodules, (x) => x.repoPath);
  for (const s of subs) yield* resultEntries(s);
}
