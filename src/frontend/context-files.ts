/**
 * The build context as the config layer's `GitReader`, for the frontend: BuildKit hands us the
 * context as a solved ref (no git history), and the config layer reads synchronously (the template
 * engine's `.Files` functions are synchronous). So the reader answers from what has been fetched
 * and records what it lacked; `loadFromContext` renders, fetches the misses over the gateway,
 * and renders again until a pass needs nothing new. Usually two passes: werf.yaml, the
 * giterminism file and `.werf/**` in the first, `.Files.Get` targets in the second.
 *
 * Every file in the context counts as "committed": the context is the snapshot the user sent.
 * `.git` is hidden from listings as git hides it; when the context carries it, head() reads
 * the HEAD commit from it (loose objects only; see headFromDotGit).
 */
import * as crypto from 'node:crypto';
import * as zlib from 'node:zlib';
import type { Gateway, GatewayRef, GatewayStat } from '../build/gateway';
import type { CommitInfo, GitReader, PathState, TreeEntry } from '../git/reader';
import { isUnder, normalizeGitPath } from '../git/reader';

/** Go's os.FileMode type bits as fsutil sends them. */
const MODE_DIR = 0x80000000;
const MODE_SYMLINK = 0x08000000;

function isDirStat(s: GatewayStat): boolean {
  return (s.mode & MODE_DIR) !== 0;
}

function gitMode(s: GatewayStat): string {
  if (isDirStat(s)) return '040000';
  if ((s.mode & MODE_SYMLINK) !== 0) return '120000';
  return (s.mode & 0o111) !== 0 ? '100755' : '100644';
}

const join = (dir: string, name: string) => (dir === '' ? name : `${dir}/${name}`);
const parentOf = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

/** Git's blob id of `data` (what `git hash-object` prints). */
export function gitBlobId(data: Buffer): string {
  return crypto.createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

export interface ContextEntry {
  stat: GatewayStat;
  isDir: boolean;
}

/** What the context reader knows, what it lacked, and how to fetch it. */
export class ContextFiles {
  /** dir → its entries by name (only listed dirs). */
  private readonly dirs = new Map<string, Map<string, ContextEntry>>();
  /** Directories whose whole subtree is listed. */
  private readonly trees = new Set<string>();
  private readonly contents = new Map<string, Buffer>();
  private readonly missingDirs = new Set<string>();
  private readonly missingTrees = new Set<string>();
  private readonly missingFiles = new Set<string>();
  /** Files read before their directory was listed: listed and fetched in one round. */
  private readonly wantedFiles = new Set<string>();
  /** How many bridge calls the fetches made (for logs). */
  calls = 0;

  constructor(
    private readonly gw: Gateway,
    private readonly ref: GatewayRef,
    /** Files served from elsewhere (werf.yaml from the `dockerfile` local). */
    private readonly overlay: Map<string, Buffer> = new Map(),
  ) {}

  /** Everything asked for so far was there (or is known not to be). */
  get complete(): boolean {
    return this.missingDirs.size + this.missingTrees.size + this.missingFiles.size + this.wantedFiles.size === 0;
  }

  /** The entries of `dir`, or undefined (recorded as a miss) when it was not listed yet. */
  listing(dir: string): Map<string, ContextEntry> | undefined {
    const l = this.dirs.get(dir);
    if (!l) this.missingDirs.add(dir);
    return l;
  }

  /**
   * The entry at `p` ('' = the root), null when it does not exist, undefined when unknown yet (a
   * miss is recorded unless `quiet`).
   */
  lookup(p: string, quiet = false): ContextEntry | null | undefined {
    if (p === '') return { stat: { path: '', mode: MODE_DIR | 0o755, uid: 0, gid: 0, size: 0, modTime: 0 }, isDir: true };
    const o = this.overlay.get(p);
    if (o) return { stat: { path: p, mode: 0o644, uid: 0, gid: 0, size: o.length, modTime: 0 }, isDir: false };
    const parent = parentOf(p);
    const up = this.lookup(parent, quiet);
    if (up === undefined) return undefined;
    if (up === null || !up.isDir) return null;
    const l = quiet ? this.dirs.get(parent) : this.listing(parent);
    if (!l) return undefined;
    return l.get(p.slice(parent === '' ? 0 : parent.length + 1)) ?? null;
  }

  /** Content of a file (overlay first); undefined when absent or unknown yet (recorded). */
  content(p: string): Buffer | undefined {
    const o = this.overlay.get(p);
    if (o) return o;
    const e = this.lookup(p);
    if (e === undefined) this.wantedFiles.add(p);
    if (!e || e.isDir) return undefined;
    const c = this.contents.get(p);
    if (c) return c;
    // Known to exist, not fetched yet: an empty stand-in lets the pass go on and collect more misses
    // (the pass is discarded, see loadFromContext).
    this.missingFiles.add(p);
    return Buffer.alloc(0);
  }

  /** All file paths under `dir` (sorted; `.git` skipped); undefined until the subtree is listed. */
  files(dir: string, withTrees = false): { path: string; entry: ContextEntry }[] | undefined {
    if (!this.trees.has(dir)) {
      const e = this.lookup(dir);
      if (e === null || (e && !e.isDir)) return [];
      this.missingTrees.add(dir);
      return undefined;
    }
    const out: { path: string; entry: ContextEntry }[] = [];
    const walk = (d: string) => {
      for (const [name, e] of this.dirs.get(d) ?? []) {
        if (name === '.git') continue;
        const p = join(d, name);
        if (e.isDir) {
          if (withTrees) out.push({ path: p, entry: e });
          walk(p);
        } else out.push({ path: p, entry: e });
      }
    };
    walk(dir);
    for (const p of this.overlay.keys()) if (isUnder(p, dir) && !out.some((o) => o.path === p)) out.push({ path: p, entry: { stat: { path: p, mode: 0o644, uid: 0, gid: 0, size: this.overlay.get(p)!.length, modTime: 0 }, isDir: false } });
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  private async listDir(dir: string): Promise<void> {
    if (this.dirs.has(dir)) return;
    this.calls++;
    let ents: GatewayStat[];
    try {
      ents = await this.gw.readDir(this.ref, dir === '' ? '/' : dir);
    } catch (e) {
      if ((e as { code?: string }).code !== 'FILE_NOT_FOUND') throw e;
      ents = [];
    }
    const m = new Map<string, ContextEntry>();
    for (const s of ents) {
      const name = s.path.includes('/') ? s.path.slice(s.path.lastIndexOf('/') + 1) : s.path;
      m.set(name, { stat: s, isDir: isDirStat(s) });
    }
    this.dirs.set(dir, m);
  }

  private async listTree(dir: string): Promise<void> {
    if (this.trees.has(dir)) return;
    await this.listDir(dir);
    const subdirs = [...(this.dirs.get(dir) ?? [])].filter(([name, e]) => e.isDir && name !== '.git').map(([name]) => join(dir, name));
    await Promise.all(subdirs.map((d) => this.listTree(d)));
    this.trees.add(dir);
  }

  /** Fetches what the last pass lacked. Returns false when there was nothing to fetch. */
  async fetchMissing(): Promise<boolean> {
    if (this.complete) return false;
    const dirs = [...this.missingDirs];
    const trees = [...this.missingTrees];
    const files = [...this.missingFiles];
    const wanted = [...this.wantedFiles];
    this.missingDirs.clear();
    this.missingTrees.clear();
    this.missingFiles.clear();
    this.wantedFiles.clear();
    // Root first, then down: a dir is listed once its parent is known to hold it as a dir.
    const listDown = async (dirs: string[]) => {
      for (const a of dirs) {
        if (this.dirs.has(a)) continue;
        if (!this.lookup(a, true)?.isDir) return;
        await this.listDir(a);
      }
    };
    for (const d of dirs) await listDown([...this.ancestors(d), d]);
    for (const p of wanted) {
      await listDown(this.ancestors(p));
      if (this.lookup(p, true)?.isDir === false) files.push(p);
    }
    await Promise.all(trees.map((d) => this.listTree(d)));
    await Promise.all(
      [...new Set(files)].filter((p) => !this.contents.has(p)).map(async (p) => {
        this.calls++;
        this.contents.set(p, await this.gw.readFile(this.ref, p));
      }),
    );
    this.missingDirs.clear();
    return true;
  }

  private ancestors(p: string): string[] {
    const out = [''];
    if (p === '') return out;
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
    return out;
  }

  /** Reads a small file for head(): undefined when absent (no miss recording beyond the lookups). */
  peek(p: string): Buffer | undefined {
    return this.content(p);
  }
}

/**
 * The HEAD commit from a `.git` directory in the context: `HEAD` → ref file or `packed-refs` →
 * hash; the author time from the loose commit object when there is one. Undefined without `.git`.
 */
export function headFromDotGit(read: (p: string) => Buffer | undefined): CommitInfo | undefined {
  const head = read('.git/HEAD')?.toString().trim();
  if (!head) return undefined;
  let hash: string | undefined;
  const m = /^ref: (.+)$/.exec(head);
  if (m) {
    hash = read(`.git/${m[1]}`)?.toString().trim();
    if (!hash) {
      const packed = read('.git/packed-refs')?.toString() ?? '';
      hash = packed.split('\n').find((l) => l.endsWith(` ${m[1]}`))?.split(' ')[0];
    }
  } else hash = head;
  if (!hash || !/^[0-9a-f]{40}$/.test(hash)) return undefined;
  let date = new Date(0);
  let tzOffset = '+0000';
  const obj = read(`.git/objects/${hash.slice(0, 2)}/${hash.slice(2)}`);
  if (obj) {
    try {
      const text = zlib.inflateSync(obj).toString('utf8');
      const a = /\nauthor [^\n]* (\d+) ([+-]\d{4})\n/.exec(text);
      if (a) {
        date = new Date(Number(a[1]) * 1000);
        tzOffset = a[2];
      }
    } catch {
      /* a corrupt object: keep the epoch */
    }
  }
  return { hash, date, tzOffset };
}

/** The config layer's GitReader over a ContextFiles. */
export class ContextGitReader implements GitReader {
  readonly worktree = false;

  constructor(
    readonly repoRoot: string,
    private readonly files: ContextFiles,
    /** The commit when the context has no `.git` (SOURCE_DATE_EPOCH or the epoch; empty hash). */
    private readonly fallbackCommit: CommitInfo,
  ) {}

  head(): CommitInfo {
    return headFromDotGit((p) => this.files.peek(p)) ?? this.fallbackCommit;
  }

  readFile(p: string): Buffer | undefined {
    const n = normalizeGitPath(p);
    if (n === '.git' || n.startsWith('.git/')) return undefined;
    return this.files.content(n);
  }

  readFiles(paths: string[]): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    for (const p of paths) {
      const b = this.readFile(p);
      if (b) out.set(p, b);
    }
    return out;
  }

  listTree(dir = ''): TreeEntry[] {
    const d = normalizeGitPath(dir);
    return (this.files.files(d, true) ?? []).map(({ path, entry }) => ({ path, mode: gitMode(entry.stat), type: entry.isDir ? 'tree' : 'blob', oid: '' }));
  }

  listFiles(dir = ''): string[] {
    return (this.files.files(normalizeGitPath(dir)) ?? []).map((f) => f.path);
  }

  entry(p: string): TreeEntry | undefined {
    const n = normalizeGitPath(p);
    const e = this.files.lookup(n);
    if (!e) return undefined;
    const c = e.isDir ? undefined : this.files.content(n);
    return { path: n, mode: gitMode(e.stat), type: e.isDir ? 'tree' : 'blob', oid: c ? gitBlobId(c) : '' };
  }

  isDir(p: string): boolean {
    const n = normalizeGitPath(p);
    return n === '' || !!this.files.lookup(n)?.isDir;
  }

  exists(p: string): boolean {
    const n = normalizeGitPath(p);
    if (n === '.git' || n.startsWith('.git/')) return false;
    return n === '' || !!this.files.lookup(n);
  }

  pathState(p: string): PathState {
    return this.exists(p) ? 'committed' : 'missing';
  }
}

export { MODE_DIR, MODE_SYMLINK };
