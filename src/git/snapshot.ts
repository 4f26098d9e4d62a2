/**
 * A GitRepo over a snapshot of files with no history (the build context inside BuildKit): one
 * commit whose tree holds the given files. Object ids are computed as git computes them (blob id =
 * sha1 of `blob <size>\0<content>`, tree ids from the entries), so werf's ls-tree checksums
 * (stageDependencies) over a snapshot equal the real repository's whenever the files equal the
 * commit's. Diffs are empty (one commit), there are no submodules (their checked-out files are
 * plain files of the snapshot). Files may come without their bytes (a stand-in id): then ids above
 * them are not git's, but checksums over the files that were read still are. Pure: the caller
 * reads the files.
 */
import { createHash } from 'node:crypto';
import { StapelkitError } from '../errors';
import type { ChangedPath, CommitMeta, GitRepo, SizedTreeEntry, Submodule } from './repo';
import type { TreeEntry } from './reader';

export interface SnapshotFile {
  /** POSIX path from the snapshot root, no leading `/`. */
  path: string;
  /** Git mode: `100644`, `100755` or `120000` (content = link target). */
  mode: '100644' | '100755' | '120000';
  /** The bytes (its id is git's blob id) … */
  content?: Buffer;
  /** … or, for a file whose bytes were not read, a stand-in id (e.g. from its size and mtime). */
  oid?: string;
}

export function gitBlobOid(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

interface Dir {
  name: string;
  path: string;
  dirs: Map<string, Dir>;
  files: Map<string, SnapshotFile & { oid: string }>;
  oid?: string;
}

/** git's tree order: a tree sorts as if its name ended in `/`. */
function gitOrder(a: { name: string; tree: boolean }, b: { name: string; tree: boolean }): number {
  const ka = Buffer.from(a.tree ? a.name + '/' : a.name);
  const kb = Buffer.from(b.tree ? b.name + '/' : b.name);
  return Buffer.compare(ka, kb);
}

function children(d: Dir): { name: string; tree: boolean }[] {
  return [...[...d.dirs.keys()].map((name) => ({ name, tree: true })), ...[...d.files.keys()].map((name) => ({ name, tree: false }))].sort(gitOrder);
}

function treeOid(d: Dir): string {
  if (d.oid) return d.oid;
  const parts: Buffer[] = [];
  for (const c of children(d)) {
    const mode = c.tree ? '40000' : d.files.get(c.name)!.mode;
    const oid = c.tree ? treeOid(d.dirs.get(c.name)!) : d.files.get(c.name)!.oid;
    parts.push(Buffer.from(`${mode} ${c.name}\0`), Buffer.from(oid, 'hex'));
  }
  const body = Buffer.concat(parts);
  d.oid = createHash('sha1').update(`tree ${body.length}\0`).update(body).digest('hex');
  return d.oid;
}

export class SnapshotRepo implements GitRepo {
  private readonly root: Dir = { name: '', path: '', dirs: new Map(), files: new Map() };
  private readonly blobs = new Map<string, Buffer>();
  /** The snapshot's only commit. */
  readonly commit: string;
  /** Whether every file came with its bytes (then every id is git's). */
  readonly allContent: boolean = true;

  /**
   * `commit`: the id to answer for (e.g. the `.git` HEAD of the context); default a content id,
   * sha1 of `stapelkit-snapshot <root tree id>` — it changes exactly when a file, mode or path does.
   */
  constructor(
    files: SnapshotFile[],
    private readonly meta: { commit?: string; authorTime?: number; tzOffset?: string; dir?: string } = {},
  ) {
    for (const f of files) {
      const segs = f.path.split('/');
      let d = this.root;
      for (let i = 0; i < segs.length - 1; i++) {
        let n = d.dirs.get(segs[i]);
        if (!n) d.dirs.set(segs[i], (n = { name: segs[i], path: segs.slice(0, i + 1).join('/'), dirs: new Map(), files: new Map() }));
        d = n;
      }
      let oid: string;
      if (f.content) {
        oid = gitBlobOid(f.content);
        this.blobs.set(oid, f.content);
      } else {
        if (!f.oid) throw new StapelkitError('INTERNAL', `snapshot file ${f.path}: neither content nor id`);
        oid = f.oid;
        this.allContent = false;
      }
      d.files.set(segs[segs.length - 1], { ...f, oid });
    }
    this.commit = meta.commit ?? createHash('sha1').update(`stapelkit-snapshot ${treeOid(this.root)}`).digest('hex');
  }

  get dir(): string {
    return this.meta.dir ?? '(build context)';
  }

  private check(ref: string): void {
    if (ref !== this.commit && ref !== 'HEAD') throw new StapelkitError('GIT_REF_NOT_FOUND', `git reference "${ref}" not found in the build context (it has no history; its only commit is ${this.commit})`);
  }

  async resolve(ref: string): Promise<CommitMeta> {
    this.check(ref);
    return { hash: this.commit, tree: treeOid(this.root), authorTime: this.meta.authorTime ?? 0, tzOffset: this.meta.tzOffset ?? '+0000' };
  }

  private find(p: string): Dir | undefined {
    if (p === '') return this.root;
    let d: Dir | undefined = this.root;
    for (const s of p.split('/')) {
      d = d.dirs.get(s);
      if (!d) return undefined;
    }
    return d;
  }

  async lsTree(commit: string, opts: { dir?: string; trees?: boolean; sizes?: boolean; order?: 'path' | 'git' } = {}): Promise<SizedTreeEntry[]> {
    this.check(commit);
    const out: SizedTreeEntry[] = [];
    const walk = (d: Dir) => {
      for (const c of children(d)) {
        const p = d.path === '' ? c.name : `${d.path}/${c.name}`;
        if (c.tree) {
          const sub = d.dirs.get(c.name)!;
          if (opts.trees) out.push({ path: p, mode: '040000', type: 'tree', oid: treeOid(sub) });
          walk(sub);
        } else {
          const f = d.files.get(c.name)!;
          out.push({ path: p, mode: f.mode, type: 'blob', oid: f.oid, ...(opts.sizes ? { size: f.content?.length ?? 0 } : {}) });
        }
      }
    };
    const start = this.find(opts.dir ?? '');
    if (start) walk(start);
    if (opts.order !== 'git') out.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
    return out;
  }

  async entry(commit: string, p: string): Promise<TreeEntry | undefined> {
    this.check(commit);
    if (p === '') return { path: '', mode: '040000', type: 'tree', oid: treeOid(this.root) };
    const d = this.find(p);
    if (d) return { path: p, mode: '040000', type: 'tree', oid: treeOid(d) };
    const slash = p.lastIndexOf('/');
    const f = this.find(slash < 0 ? '' : p.slice(0, slash))?.files.get(p.slice(slash + 1));
    return f ? { path: p, mode: f.mode, type: 'blob', oid: f.oid } : undefined;
  }

  async diff(from: string, to: string): Promise<ChangedPath[]> {
    this.check(from);
    this.check(to);
    return [];
  }

  async isAncestor(a: string, b: string): Promise<boolean> {
    return a === this.commit && b === this.commit;
  }

  async hasCommit(c: string): Promise<boolean> {
    return c === this.commit;
  }

  async readBlobs(oids: string[]): Promise<Map<string, Buffer>> {
    const m = new Map<string, Buffer>();
    for (const o of oids) {
      const b = this.blobs.get(o);
      if (b) m.set(o, b);
    }
    return m;
  }

  async readBlob(oid: string): Promise<Buffer | undefined> {
    return this.blobs.get(oid);
  }

  async submodules(): Promise<Submodule[]> {
    return [];
  }

  async openSubmodule(): Promise<GitRepo | undefined> {
    return undefined;
  }

  async diffText(from: string, to: string): Promise<Buffer> {
    this.check(from);
    this.check(to);
    return Buffer.alloc(0);
  }

  close(): void {
    /* nothing open */
  }
}
