/**
 * GitRepo over the git command line, asynchronous throughout: every call is a child process whose
 * output is parsed as it streams (`-z` records), and blobs come from one `git cat-file --batch`
 * kept open. Works on a work-tree repository and on a bare mirror alike.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { CatFileBatch, gitRun } from './proc';
import type { TreeEntry } from './reader';
import { normalizeGitPath } from './reader';
import type { ChangedPath, CommitMeta, DiffTextOptions, GitRepo, LsTreeOpts, SizedTreeEntry, Submodule } from './repo';

const OID_RE = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** `git ls-tree` record `<mode> SP <type> SP <oid>[ SP <size>] TAB <path>`. */
function parseLsTreeRecord(rec: string, prefix: string, sizes: boolean): SizedTreeEntry {
  const tab = rec.indexOf('\t');
  const head = rec.slice(0, tab);
  const p = rec.slice(tab + 1);
  const sp1 = head.indexOf(' ');
  const sp2 = head.indexOf(' ', sp1 + 1);
  const mode = head.slice(0, sp1);
  const type = head.slice(sp1 + 1, sp2) as TreeEntry['type'];
  let oid: string;
  let size: number | undefined;
  if (sizes) {
    const rest = head.slice(sp2 + 1);
    const sp3 = rest.indexOf(' ');
    oid = rest.slice(0, sp3);
    const s = rest.slice(sp3 + 1).trim();
    size = s === '-' ? undefined : Number(s);
  } else {
    oid = head.slice(sp2 + 1);
  }
  const e: SizedTreeEntry = { path: prefix ? prefix + '/' + p : p, mode, type, oid };
  if (size !== undefined) e.size = size;
  return e;
}

/** Parse `.gitmodules` as `git config -z --list` prints it: `key\nvalue\0`. */
function parseGitmodulesList(out: string): Map<string, { path?: string; url?: string }> {
  const byName = new Map<string, { path?: string; url?: string }>();
  for (const rec of out.split('\0')) {
    if (!rec) continue;
    const nl = rec.indexOf('\n');
    const key = nl < 0 ? rec : rec.slice(0, nl);
    const value = nl < 0 ? '' : rec.slice(nl + 1);
    const m = /^submodule\.(.*)\.(path|url)$/s.exec(key);
    if (!m) continue;
    const e = byName.get(m[1]) ?? {};
    e[m[2] as 'path' | 'url'] = value;
    byName.set(m[1], e);
  }
  return byName;
}

function literal(p: string): string {
  return ':(literal)' + p;
}

export class CliGitRepo implements GitRepo {
  readonly dir: string;
  private readonly batch: CatFileBatch;
  private readonly commitKnown = new Map<string, Promise<boolean>>();
  private gitDirPromise?: Promise<string>;
  private readonly resolved = new Map<string, Promise<CommitMeta>>();
  private readonly submoduleCache = new Map<string, Promise<Submodule[]>>();
  private readonly subRepos = new Map<string, CliGitRepo>();
  private readonly entries = new Map<string, Promise<Map<string, TreeEntry>>>();
  /**
   * Whole-tree `ls-tree -r -t` listings (git order) of commit ids, with (`<oid>:l`) or without
   * blob sizes. The mapping facts and the entry index of one build ask for the same tree several
   * times; a listing without sizes is cut from one with sizes when that was asked first.
   */
  private readonly listings = new Map<string, Promise<SizedTreeEntry[]>>();

  /** `dir`: a work tree root or a (bare) git directory. */
  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.batch = new CatFileBatch(this.dir);
  }

  private run(args: string[], opts?: Parameters<typeof gitRun>[2]) {
    return gitRun(this.dir, args, opts);
  }

  /** The repository's git directory (`.git` of a work tree, the dir itself when bare). */
  gitDir(): Promise<string> {
    if (!this.gitDirPromise) {
      this.gitDirPromise = this.run(['rev-parse', '--absolute-git-dir']).then((r) => r.stdout.toString().trim());
    }
    return this.gitDirPromise;
  }

  /**
   * What the caller already read of a commit (the project's HEAD, read while loading the config):
   * resolving it then needs no git process of its own.
   */
  remember(meta: CommitMeta): void {
    if (OID_RE.test(meta.hash) && !this.resolved.has(meta.hash)) this.resolved.set(meta.hash, Promise.resolve(meta));
  }

  /**
   * The whole-tree listing of `commit` (`ls-tree -r -t -l -z --full-tree`, the command wholeTree
   * runs) as the caller already read it: the project loader reads HEAD's tree with its first git reads.
   */
  seedListing(commit: string, raw: Buffer): void {
    if (!OID_RE.test(commit) || this.listings.has(`${commit}:l`)) return;
    const out: SizedTreeEntry[] = [];
    for (const rec of raw.toString('utf8').split('\0')) if (rec) out.push(parseLsTreeRecord(rec, '', true));
    this.listings.set(`${commit}:l`, Promise.resolve(out));
  }

  resolve(ref: string): Promise<CommitMeta> {
    let p = this.resolved.get(ref);
    if (!p) {
      p = this.run(['log', '-1', '--no-walk', '--format=%H%x00%T%x00%at%x00%ai', '--end-of-options', ref + '^{commit}', '--'], { okCodes: [128] })
        .then((r) => {
          const out = r.stdout.toString().trim();
          if (r.code !== 0 || !out) {
            throw new StapelkitError('GIT_REF_NOT_FOUND', `git reference "${ref}" not found in the repository ${this.dir}`);
          }
          const [hash, tree, at, ai] = out.split('\0');
          return { hash, tree, authorTime: Number(at), tzOffset: ai.slice(-5) };
        });
      // Only immutable names are cached (branches and HEAD may move); every answer is cached by its hash.
      if (OID_RE.test(ref)) this.resolved.set(ref, p);
      const done = p;
      p.then((m) => { if (!this.resolved.has(m.hash)) this.resolved.set(m.hash, done); }, () => undefined);
      p.catch(() => this.resolved.delete(ref));
    }
    return p;
  }

  async lsTree(commit: string, opts: LsTreeOpts = {}): Promise<SizedTreeEntry[]> {
    const dir = normalizeGitPath(opts.dir ?? '');
    if (dir === '' && OID_RE.test(commit)) return this.wholeTree(commit, opts);
    return this.listTree(commit, dir, opts);
  }

  private async wholeTree(commit: string, opts: LsTreeOpts): Promise<SizedTreeEntry[]> {
    let listing = this.listings.get(`${commit}:l`);
    if (!listing && !opts.sizes) listing = this.listings.get(commit);
    if (!listing) {
      const key = opts.sizes ? `${commit}:l` : commit;
      const p = this.listTree(commit, '', { trees: true, sizes: opts.sizes, order: 'git' });
      this.listings.set(key, p);
      p.catch(() => this.listings.delete(key));
      listing = p;
    }
    const out: SizedTreeEntry[] = [];
    for (const e of await listing) {
      if (e.type === 'tree' && !opts.trees) continue;
      const c: SizedTreeEntry = { path: e.path, mode: e.mode, type: e.type, oid: e.oid };
      if (opts.sizes && e.size !== undefined) c.size = e.size;
      out.push(c);
    }
    if (opts.order !== 'git') out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
  }

  private async listTree(commit: string, dir: string, opts: LsTreeOpts): Promise<SizedTreeEntry[]> {
    const args = ['ls-tree', '-r', '-z', '--full-tree'];
    if (opts.trees) args.push('-t');
    if (opts.sizes) args.push('-l');
    // `<commit>:<dir>` names the subtree directly: no pathspec matching over the whole tree.
    args.push('--end-of-options', dir ? `${commit}:${dir}` : commit);
    const out: SizedTreeEntry[] = [];
    const r = await this.run(args, {
      okCodes: [128],
      onRecord: (rec) => { if (rec) out.push(parseLsTreeRecord(rec, dir, !!opts.sizes)); },
    });
    if (r.code !== 0) {
      if (/not a tree object|Not a valid object name|invalid object name/i.test(r.stderr)) {
        // A file, a submodule or nothing at `dir`: there is no tree to list.
        if (dir && (await this.hasCommit(commit))) return [];
      }
      throw new StapelkitError('GIT_FAILED', `git ls-tree ${commit} ${dir}: ${r.stderr.trim().split('\n')[0]}`);
    }
    // git sorts tree entries with directories as if suffixed by "/"; callers want plain path order.
    if (opts.order !== 'git') out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return out;
  }

  async entry(commit: string, p: string): Promise<TreeEntry | undefined> {
    const n = normalizeGitPath(p);
    if (n === '') {
      const meta = await this.resolve(commit);
      return { path: '', mode: '040000', type: 'tree', oid: meta.tree };
    }
    return (await this.entryIndex(commit)).get(n);
  }

  /**
   * Every entry of a commit (trees included) by path, listed once: a project with hundreds of
   * mappings asks for hundreds of entries, and one `ls-tree -r -t` beats a git process per entry.
   */
  private entryIndex(commit: string): Promise<Map<string, TreeEntry>> {
    let p = this.entries.get(commit);
    if (!p) {
      p = this.lsTree(commit, { trees: true, order: 'git' }).then((list) => new Map(list.map((e) => [e.path, { path: e.path, mode: e.mode, type: e.type, oid: e.oid }])));
      // Only immutable names are cached.
      if (OID_RE.test(commit)) this.entries.set(commit, p);
      p.catch(() => this.entries.delete(commit));
    }
    return p;
  }

  async diff(from: string, to: string, opts: { dir?: string } = {}): Promise<ChangedPath[]> {
    const dir = normalizeGitPath(opts.dir ?? '');
    const args = ['-c', 'diff.renames=false', 'diff-tree', '-r', '-z', '--raw', '--no-renames', '--full-index', '--no-commit-id', '--end-of-options', from, to];
    if (dir) args.push('--', literal(dir));
    const out: ChangedPath[] = [];
    let meta: string | undefined;
    await this.run(args, {
      onRecord: (rec) => {
        if (meta === undefined) {
          if (!rec) return;
          meta = rec;
          return;
        }
        // `:<old mode> <new mode> <old oid> <new oid> <status>` then the path.
        const [oldMode, newMode, oldOid, newOid, status] = meta.slice(1).split(' ');
        meta = undefined;
        const c: ChangedPath = { path: rec, status: status[0] as ChangedPath['status'] };
        if (c.status !== 'A') { c.oldMode = oldMode; c.oldOid = oldOid; }
        if (c.status !== 'D') { c.newMode = newMode; c.newOid = newOid; }
        out.push(c);
      },
    });
    return out;
  }

  async isAncestor(ancestor: string, commit: string): Promise<boolean> {
    const r = await this.run(['merge-base', '--is-ancestor', '--end-of-options', ancestor, commit], { okCodes: [1, 128] });
    return r.code === 0;
  }

  hasCommit(commit: string): Promise<boolean> {
    // Every image of a build asks about the same recorded commits: one answer per object id, read
    // through the running cat-file --batch instead of a git process per question.
    if (OID_RE.test(commit)) {
      let p = this.commitKnown.get(commit);
      if (!p) {
        p = this.batch.read(commit).then((o) => o?.type === 'commit');
        this.commitKnown.set(commit, p);
        // Only "present" is final: a fetch into a mirror can bring a missing commit.
        p.then((known) => { if (!known) this.commitKnown.delete(commit); }, () => this.commitKnown.delete(commit));
      }
      return p;
    }
    return this.run(['cat-file', '-e', '--end-of-options', commit + '^{commit}'], { okCodes: [1, 128] }).then((r) => r.code === 0);
  }

  async readBlob(oid: string): Promise<Buffer | undefined> {
    const o = await this.batch.read(oid);
    return o?.data;
  }

  async readBlobs(oids: string[]): Promise<Map<string, Buffer>> {
    const unique = [...new Set(oids)];
    const res = await Promise.all(unique.map((o) => this.batch.read(o)));
    const out = new Map<string, Buffer>();
    unique.forEach((o, i) => { const r = res[i]; if (r) out.set(o, r.data); });
    return out;
  }

  submodules(commit: string): Promise<Submodule[]> {
    let p = this.submoduleCache.get(commit);
    if (!p) {
      p = this.loadSubmodules(commit);
      if (OID_RE.test(commit)) this.submoduleCache.set(commit, p);
    }
    return p;
  }

  private async loadSubmodules(commit: string): Promise<Submodule[]> {
    const gm = await this.entry(commit, '.gitmodules');
    if (!gm || gm.type !== 'blob') return [];
    const cfg = await this.run(['config', '-z', '--list', '--blob', gm.oid], { okCodes: [1] });
    const byName = parseGitmodulesList(cfg.stdout.toString('utf8'));
    const byPath = new Map<string, { name: string; url: string }>();
    for (const [name, e] of byName) if (e.path !== undefined) byPath.set(normalizeGitPath(e.path), { name, url: e.url ?? '' });
    if (byPath.size === 0) return [];
    const gitlinks: Submodule[] = [];
    // Only gitlinks that .gitmodules names are submodules (git itself ignores unnamed gitlinks).
    const paths = [...byPath.keys()];
    await this.run(['ls-tree', '-z', '--full-tree', '--end-of-options', commit, '--', ...paths.map(literal)], {
      onRecord: (rec) => {
        if (!rec) return;
        const e = parseLsTreeRecord(rec, '', false);
        const named = byPath.get(e.path);
        if (e.type === 'commit' && named) gitlinks.push({ name: named.name, path: e.path, url: named.url, commit: e.oid });
      },
    });
    gitlinks.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return gitlinks;
  }

  async openSubmodule(sm: Submodule): Promise<GitRepo | undefined> {
    const cached = this.subRepos.get(sm.name);
    if (cached) return cached;
    const gitDir = await this.gitDir();
    const candidates = [path.join(gitDir, 'modules', ...sm.name.split('/'))];
    // A work tree's checkout of the submodule (its `.git` file or dir), when this is not bare.
    if (path.resolve(this.dir) !== path.resolve(gitDir)) candidates.push(path.join(this.dir, sm.path));
    for (const c of candidates) {
      if (!fs.existsSync(c)) continue;
      const repo = new CliGitRepo(c);
      try {
        // The directory must be a repository of its own (not the superproject seen from a subdir).
        const own = await repo.gitDir();
        if (path.resolve(own) === path.resolve(gitDir)) continue;
      } catch {
        continue;
      }
      if (await repo.hasCommit(sm.commit)) {
        this.subRepos.set(sm.name, repo);
        return repo;
      }
      repo.close();
    }
    return undefined;
  }

  async diffText(from: string, to: string, opts: DiffTextOptions = {}): Promise<Buffer> {
    const args = ['-c', 'diff.renames=false', '-c', 'diff.noprefix=false', '-c', 'diff.mnemonicPrefix=false'];
    if (opts.fullContext) args.push('-c', 'diff.context=999999999');
    args.push('diff', '--no-color', '--no-ext-diff', '--submodule=log');
    if (opts.binary) args.push('--binary');
    args.push('--end-of-options', from, to);
    const dir = normalizeGitPath(opts.dir ?? '');
    if (opts.paths) {
      if (opts.paths.length === 0) return Buffer.alloc(0);
      args.push('--', ...opts.paths.map(literal));
    } else if (dir) {
      args.push('--', literal(dir));
    }
    return (await this.run(args)).stdout;
  }

  close(): void {
    this.batch.close();
    for (const r of this.subRepos.values()) r.close();
  }
}
