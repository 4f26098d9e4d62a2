/**
 * A commit's whole tree in memory (one `git ls-tree -r -t` per commit, cached per repository), the
 * structure werf's ls-tree walks over. Submodule repositories are opened lazily, once.
 */
import { StapelkitError } from '../errors';
import type { GitRepo, Submodule } from './repo';

export interface TreeNode {
  /** Name within its parent tree. */
  name: string;
  /** Path from this repository's root (`""` for the root). */
  path: string;
  /** Octal git mode as git prints it (`100644`, `040000`, `160000`, …). */
  mode: string;
  type: 'blob' | 'tree' | 'commit';
  oid: string;
  size?: number;
  /** Tree entries in git's order (trees sort as if their name ended in `/`). */
  children?: TreeNode[];
}

export interface CommitTree {
  repo: GitRepo;
  commit: string;
  root: TreeNode;
  /** Every node by path (`""`: the root); built on first use. */
  readonly byPath: Map<string, TreeNode>;
  submodules: Submodule[];
}

class Tree implements CommitTree {
  private index?: Map<string, TreeNode>;
  constructor(readonly repo: GitRepo, readonly commit: string, readonly root: TreeNode, public submodules: Submodule[]) {}
  get byPath(): Map<string, TreeNode> {
    if (!this.index) {
      const m = new Map<string, TreeNode>();
      const visit = (n: TreeNode) => { m.set(n.path, n); if (n.children) for (const c of n.children) visit(c); };
      visit(this.root);
      this.index = m;
    }
    return this.index;
  }
}

const cache = new WeakMap<GitRepo, Map<string, Promise<CommitTree>>>();

/** The tree of `commit` (a full commit id; sizes of blobs included when `sizes`). */
export function loadCommitTree(repo: GitRepo, commit: string, opts: { sizes?: boolean } = {}): Promise<CommitTree> {
  let m = cache.get(repo);
  if (!m) cache.set(repo, (m = new Map()));
  const key = commit + (opts.sizes ? ':sizes' : '');
  let p = m.get(key);
  if (!p) {
    p = buildTree(repo, commit, !!opts.sizes);
    m.set(key, p);
    p.catch(() => m!.delete(key));
  }
  return p;
}

async function buildTree(repo: GitRepo, commit: string, sizes: boolean): Promise<CommitTree> {
  const [meta, entries] = await Promise.all([repo.resolve(commit), repo.lsTree(commit, { trees: true, sizes, order: 'git' })]);
  const root: TreeNode = { name: '', path: '', mode: '040000', type: 'tree', oid: meta.tree, children: [] };
  // git's tree-walk order is pre-order with siblings in tree order: a stack of the open directories
  // finds each entry's parent without a lookup table.
  const stack: TreeNode[] = [root];
  for (const e of entries) {
    const slash = e.path.lastIndexOf('/');
    const parentPath = slash < 0 ? '' : e.path.slice(0, slash);
    while (stack.length > 1 && stack[stack.length - 1].path !== parentPath) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent.path !== parentPath) throw new StapelkitError('GIT_FAILED', `git ls-tree: entry ${e.path} out of order`);
    const node: TreeNode = { name: e.path.slice(slash + 1), path: e.path, mode: e.mode, type: e.type, oid: e.oid };
    if (e.size !== undefined) node.size = e.size;
    parent.children!.push(node);
    if (e.type === 'tree') { node.children = []; stack.push(node); }
  }
  // Submodules only exist with a .gitmodules at the root: no extra git call otherwise.
  const gm = root.children!.find((n) => n.name === '.gitmodules');
  const submodules = gm && gm.type === 'blob' ? await repo.submodules(meta.hash) : [];
  return new Tree(repo, meta.hash, root, submodules);
}

/** The node at `p` (`""`: the root) by walking the tree, without the full index. */
export function nodeAt(t: CommitTree, p: string): TreeNode | undefined {
  if (p === '') return t.root;
  let n: TreeNode | undefined = t.root;
  for (const seg of p.split('/')) {
    n = n.children?.find((c) => c.name === seg);
    if (!n) return undefined;
  }
  return n;
}

/** The tree of a submodule at its recorded commit; a clear error when its repository is absent. */
export async function loadSubmoduleTree(parent: CommitTree, sm: Submodule, opts: { sizes?: boolean } = {}): Promise<CommitTree> {
  const repo = await parent.repo.openSubmodule(sm);
  if (!repo) {
    throw new StapelkitError('GIT_SUBMODULE', `submodule "${sm.name}" (${sm.path}) at commit ${sm.commit} is not available in ${parent.repo.dir}`, {
      hint: 'run `git submodule update --init --recursive`',
    });
  }
  return loadCommitTree(repo, sm.commit, opts);
}
