/**
 * GitReader over the `git` command line. One `ls-tree -r -t -z` lists the HEAD tree once, file
 * contents come in batches from `cat-file --batch` by object id, and one `status --porcelain=v1 -z`
 * gives the work-tree state of every path. The work-tree variant (`--dev`) sees the files git
 * tracks (the index) with their current contents on disk.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { CommitInfo, GitReader, PathState, TreeEntry, isUnder, normalizeGitPath } from './reader';

const MAX_BUFFER = 1 << 30;

export function runGit(cwd: string, args: string[], input?: Buffer | string): Buffer {
  const res = spawnSync('git', args, { cwd, input, maxBuffer: MAX_BUFFER, env: gitEnv() });
  if (res.error) {
    throw new StapelkitError('GIT_EXEC', `cannot run git: ${res.error.message}`, { cause: res.error });
  }
  return gitOutput(args, { status: res.status, stdout: res.stdout, stderr: res.stderr });
}

/** What one git command of runGitParallel left. */
export interface GitRun {
  status: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** stdout of a finished git command, or runGit's error for it. */
function gitOutput(args: string[], r: GitRun): Buffer {
  if (r.status !== 0) {
    const msg = r.stderr.toString().trim().split('\n')[0] || `exit code ${r.status}`;
    throw new StapelkitError('GIT_FAILED', `git ${args[0]} failed: ${msg}`);
  }
  return r.stdout;
}

function gitEnv(): NodeJS.ProcessEnv {
  // Stable, machine-readable output whatever the user's configuration.
  return { ...process.env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0' };
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** One command of runGitParallel. */
export interface GitStep {
  args: string[];
  /** Runs after step `after` and gets the first line of its stdout as one more (last) argument. */
  after?: number;
  /**
   * With `after`: that line goes to stdin instead, as `<line>:./<path>` per path (`cat-file --batch`
   * names of files relative to the cwd at that commit).
   */
  revPaths?: string[];
}

/** The `sh` script of runGitParallel: every step, each writing `$1/<i>.out|err|rc`. */
function parallelScript(norm: GitStep[]): string {
  const run = (i: number) => {
    const s: GitStep = norm[i];
    const git = `git ${s.args.map(shQuote).join(' ')}`;
    const out = `>"$1/${i}.out" 2>"$1/${i}.err"`;
    const cmd = s.after === undefined ? `${git} ${out} </dev/null` : s.revPaths ? `printf '%s\\n' ${s.revPaths.map((p) => `"$h":${shQuote(`./${p}`)}`).join(' ')} | ${git} ${out}` : `${git} "$h" ${out} </dev/null`;
    return `${cmd}; echo $? >"$1/${i}.rc"`;
  };
  const chain = (i: number): string[] => {
    const next = norm.flatMap((s, j) => (s.after === i ? [j] : []));
    // The steps after this one run side by side too, once it is done.
    return [run(i), ...next.map((j) => `{ read -r h <"$1/${i}.out"\n${chain(j).join('\n')}\n} &`), ...(next.length ? ['wait'] : [])];
  };
  return [...norm.flatMap((s, i) => (s.after === undefined ? [`{ ${chain(i).join('\n')}\n} &`] : [])), 'wait'].join('\n');
}

/** What the steps left in `dir` (then removed). */
function collectRuns(dir: string, count: number): GitRun[] {
  try {
    return Array.from({ length: count }, (_, i) => {
      const read = (ext: string) => {
        try {
          return fs.readFileSync(path.join(dir, `${i}.${ext}`));
        } catch {
          return Buffer.alloc(0); // sh died before the step ran
        }
      };
      const rc = read('rc').toString().trim();
      const status = rc === '' ? null : Number(rc);
      // 127: sh found no git.
      if (status === 127) throw new StapelkitError('GIT_EXEC', `cannot run git: ${read('err').toString().trim() || 'not found'}`);
      return { status, stdout: read('out'), stderr: read('err') };
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const normSteps = (steps: Array<string[] | GitStep>): GitStep[] => steps.map((s) => (Array.isArray(s) ? { args: s } : s));
const runDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-git-'));

/**
 * Several git commands at once, from one synchronous call: one `sh` starts them (a step with
 * `after` runs behind the step it reads from) and waits for all; outputs go to a private temp
 * dir. The loader's first reads (work-tree root, HEAD and its tree, the status) are independent;
 * run one after another they were a third of a no-op build's start.
 */
export function runGitParallel(cwd: string, steps: Array<string[] | GitStep>): GitRun[] {
  const norm = normSteps(steps);
  const dir = runDir();
  const res = spawnSync('sh', ['-c', parallelScript(norm), 'sh', dir], { cwd, env: gitEnv() });
  if (res.error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new StapelkitError('GIT_EXEC', `cannot run git: ${res.error.message}`, { cause: res.error });
  }
  return collectRuns(dir, norm.length);
}

/**
 * runGitParallel without blocking the event loop: `stapelkit build` dials the daemon, and loads
 * the modules it needs next, while git runs.
 */
export function runGitParallelAsync(cwd: string, steps: Array<string[] | GitStep>): Promise<GitRun[]> {
  const norm = normSteps(steps);
  const dir = runDir();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', parallelScript(norm), 'sh', dir], { cwd, env: gitEnv(), stdio: 'ignore' });
    child.once('error', (e) => {
      fs.rmSync(dir, { recursive: true, force: true });
      reject(new StapelkitError('GIT_EXEC', `cannot run git: ${e.message}`, { cause: e }));
    });
    child.once('close', () => {
      try {
        resolve(collectRuns(dir, norm.length));
      } catch (e) {
        reject(e);
      }
    });
  });
}

const TOPLEVEL_ARGS = ['rev-parse', '--show-toplevel'];
// werf's .Commit.Date is the AUTHOR time in the author's own offset (go-git's Author.When).
// The hash has a line of its own: open() lists the tree of exactly that commit (GitStep.after).
const HEAD_ARGS = ['log', '-1', '--format=%H%n%at%x00%ai%x00%T', 'HEAD'];
/**
 * The tree of the commit HEAD_ARGS printed (read ahead, or listed by hash later), with blob sizes when the caller wants the
 * listing for the build's git layer too (CliGitRepo.seedListing; the same command it runs).
 */
const treeOfArgs = (sizes: boolean) => ['ls-tree', '-r', '-z', '--full-tree', '-t', ...(sizes ? ['-l'] : []), '--end-of-options'];
// Porcelain paths are relative to the repository root whatever the cwd.
const STATUS_ARGS = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--ignore-submodules=none'];

function repoRootOf(dir: string, res: { error?: Error; status: number | null; stdout: Buffer }): string {
  if (res.error || res.status !== 0) {
    throw new StapelkitError('GIT_NO_REPO', `the project directory "${dir}" is not inside a git work tree (werf reads the configuration from the project git repository)`);
  }
  return fs.realpathSync(res.stdout.toString().trim());
}

/** Absolute repository root of the work tree containing `dir`. */
export function findRepoRoot(dir: string): string {
  return repoRootOf(dir, spawnSync('git', TOPLEVEL_ARGS, { cwd: dir, env: gitEnv() }));
}

/** The records of `git cat-file --batch` output in order: a blob's id, type and bytes, or undefined for `<name> missing`. */
function catFileRecords(out: Buffer): Array<{ oid: string; type: string; bytes: Buffer } | undefined> {
  const records: Array<{ oid: string; type: string; bytes: Buffer } | undefined> = [];
  let off = 0;
  for (;;) {
    const nl = out.indexOf(0x0a, off);
    if (nl < 0) break;
    const header = out.subarray(off, nl).toString();
    off = nl + 1;
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      records.push(undefined);
      continue;
    }
    const [oid, type, sizeText] = header.split(' ');
    const size = Number(sizeText);
    if (!Number.isFinite(size)) throw new StapelkitError('GIT_FAILED', `unexpected git cat-file output: ${header}`);
    records.push({ oid, type, bytes: out.subarray(off, off + size) });
    off += size + 1;
  }
  return records;
}

/** Parse `git cat-file --batch` output: `<oid> <type> <size>\n<bytes>\n` or `<name> missing\n`. */
export function parseCatFileBatch(out: Buffer, names: string[]): Map<string, Buffer> {
  const result = new Map<string, Buffer>();
  catFileRecords(out).forEach((r, i) => {
    if (r && i < names.length) result.set(names[i], r.bytes);
  });
  return result;
}

/** The blobs of a `cat-file --batch` output by object id (missing names skipped). */
function catFileBlobs(out: Buffer): Map<string, Buffer> {
  const blobs = new Map<string, Buffer>();
  for (const r of catFileRecords(out)) if (r?.type === 'blob') blobs.set(r.oid, r.bytes);
  return blobs;
}

/** What CliGitReader.open reads ahead (see there). */
export interface OpenOptions {
  worktree?: boolean;
  status?: boolean;
  treeSizes?: boolean;
  preread?: string[];
}

// open()'s steps: 0 the root, 1 HEAD, 2 its tree, then the status (with `status`), then the preread.
const STATUS_STEP = 3;
function openSteps(opts: OpenOptions): GitStep[] {
  const steps: GitStep[] = [{ args: TOPLEVEL_ARGS }, { args: HEAD_ARGS }, { args: treeOfArgs(!!opts.treeSizes), after: 1 }];
  if (opts.status) steps.push({ args: STATUS_ARGS });
  // Files the caller reads first (werf-giterminism.yaml, werf.yaml), by path at HEAD's commit.
  if (opts.preread?.length) steps.push({ args: ['cat-file', '--batch'], after: 1, revPaths: opts.preread });
  return steps;
}

/** porcelain XY per path (directories without their trailing `/`), renames recorded for the new path. */
function parseStatus(out: Buffer): Map<string, string> {
  const codes = new Map<string, string>();
  const fields = out.toString('utf8').split('\0');
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    if (f.length < 4) continue;
    const xy = f.slice(0, 2);
    const p = f.slice(3);
    codes.set(p.replace(/\/$/, ''), xy);
    if (xy[0] === 'R' || xy[0] === 'C') i++; // the next field is the source path
  }
  return codes;
}

export class CliGitReader implements GitReader {
  readonly repoRoot: string;
  readonly worktree: boolean;
  private headInfo?: CommitInfo;
  private tree?: Map<string, TreeEntry>;
  private wtree?: Map<string, TreeEntry>;
  private sorted?: TreeEntry[];
  private status?: Map<string, string>;
  private index?: Set<string>;
  /** Paths whose blobs the next readFiles fetches too, and the blobs so fetched, by object id. */
  private prefetchPaths: string[] = [];
  private readonly prefetched = new Map<string, Buffer>();
  /** Results of commands open() ran ahead (consumed by head(), headTree(), workStatus()). */
  private readonly preloaded = new Map<string, GitRun>();
  private sizedTree?: GitRun;

  constructor(repoRoot: string, opts: { worktree?: boolean } = {}) {
    this.repoRoot = repoRoot;
    this.worktree = opts.worktree ?? false;
  }

  /**
   * The reader of the work tree containing `dir`. `status`: the caller will ask for path states
   * (giterminism checks), so the status is read ahead with the root, HEAD and its tree, all at once.
   */
  static open(dir: string, opts: OpenOptions = {}): CliGitReader {
    if (opts.worktree) return new CliGitReader(findRepoRoot(dir), opts);
    return CliGitReader.fromRuns(dir, opts, runGitParallel(dir, openSteps(opts)));
  }

  /** open() without blocking the event loop while git runs. */
  static async openAsync(dir: string, opts: OpenOptions = {}): Promise<CliGitReader> {
    if (opts.worktree) return CliGitReader.open(dir, opts);
    return CliGitReader.fromRuns(dir, opts, await runGitParallelAsync(dir, openSteps(opts)));
  }

  private static fromRuns(dir: string, opts: OpenOptions, runs: GitRun[]): CliGitReader {
    const [top, head, tree] = runs;
    const reader = new CliGitReader(repoRootOf(dir, top), opts);
    reader.preloaded.set('head', head);
    reader.preloaded.set('tree', tree);
    if (opts.status) reader.preloaded.set('status', runs[STATUS_STEP]);
    const pre = opts.preread?.length ? runs[opts.status ? STATUS_STEP + 1 : STATUS_STEP] : undefined;
    if (pre && pre.status === 0) {
      for (const [oid, bytes] of catFileBlobs(pre.stdout)) reader.prefetched.set(oid, bytes);
    }
    if (opts.treeSizes) reader.sizedTree = tree;
    return reader;
  }

  /**
   * The raw `ls-tree -r -t -l -z` listing of HEAD's commit that open() read (with `treeSizes`), for
   * the build's git layer: it then lists that tree without a git process of its own.
   */
  headListing(): { commit: string; raw: Buffer } | undefined {
    const t = this.sizedTree;
    if (!t || t.status !== 0) return undefined;
    return { commit: this.head().hash, raw: t.stdout };
  }

  /** A command's output: as open() ran it ahead, else run now. */
  private git(key: string, args: string[]): Buffer {
    const r = this.preloaded.get(key);
    if (!r) return runGit(this.repoRoot, args);
    this.preloaded.delete(key);
    return gitOutput(args, r);
  }

  head(): CommitInfo {
    if (!this.headInfo) {
      const pre = this.preloaded.get('head');
      this.preloaded.delete('head');
      const res = pre ?? spawnSync('git', HEAD_ARGS, { cwd: this.repoRoot, env: gitEnv() });
      if (res.status !== 0) {
        throw new StapelkitError('GIT_NO_COMMIT', `the project git repository "${this.repoRoot}" has no commits: werf reads the configuration from the HEAD commit, commit it first`);
      }
      const [hash, at, ai, tree] = res.stdout.toString().trim().split(/\n|\0/);
      this.headInfo = { hash, date: new Date(Number(at) * 1000), tzOffset: ai.slice(-5), tree };
    }
    return this.headInfo;
  }

  private headTree(): Map<string, TreeEntry> {
    if (!this.tree) {
      // head() first: no commit is GIT_NO_COMMIT, not an ls-tree failure.
      const out = this.git('tree', [...treeOfArgs(false), this.head().hash]);
      const tree = new Map<string, TreeEntry>();
      for (const rec of out.toString('utf8').split('\0')) {
        if (!rec) continue;
        const tab = rec.indexOf('\t');
        const [mode, type, oid] = rec.slice(0, tab).split(' ');
        const p = rec.slice(tab + 1);
        tree.set(p, { path: p, mode, type: type as TreeEntry['type'], oid });
      }
      this.tree = tree;
    }
    return this.tree;
  }

  private workStatus(): Map<string, string> {
    if (!this.status) {
      this.status = parseStatus(this.git('status', STATUS_ARGS));
    }
    return this.status;
  }

  /** Paths in the index (work-tree mode), submodules included. */
  private indexPaths(): Set<string> {
    if (!this.index) {
      const out = runGit(this.repoRoot, ['ls-files', '-z', '--cached']);
      this.index = new Set(out.toString('utf8').split('\0').filter((p) => p !== ''));
    }
    return this.index;
  }

  private worktreeEntries(): Map<string, TreeEntry> {
    if (!this.wtree) {
      // Files of the index as they are on disk now; directories derived from their paths.
      const tree = new Map<string, TreeEntry>();
      const out = runGit(this.repoRoot, ['ls-files', '-z', '--cached', '-s']);
      for (const rec of out.toString('utf8').split('\0')) {
        if (!rec) continue;
        const tab = rec.indexOf('\t');
        const [mode, oid] = rec.slice(0, tab).split(' ');
        const p = rec.slice(tab + 1);
        const abs = path.join(this.repoRoot, p);
        let st: fs.Stats | undefined;
        try {
          st = fs.lstatSync(abs);
        } catch {
          continue; // deleted in the work tree
        }
        const type: TreeEntry['type'] = mode === '160000' ? 'commit' : 'blob';
        const fileMode = type === 'commit' ? mode : st.isSymbolicLink() ? '120000' : st.mode & 0o111 ? '100755' : '100644';
        tree.set(p, { path: p, mode: fileMode, type, oid: type === 'commit' ? oid : '' });
        let dir = path.posix.dirname(p);
        while (dir !== '.' && !tree.has(dir)) {
          tree.set(dir, { path: dir, mode: '040000', type: 'tree', oid: '' });
          dir = path.posix.dirname(dir);
        }
      }
      this.wtree = tree;
    }
    return this.wtree;
  }

  private entries(): Map<string, TreeEntry> {
    return this.worktree ? this.worktreeEntries() : this.headTree();
  }

  listTree(dir = ''): TreeEntry[] {
    if (!this.sorted) {
      this.sorted = [...this.entries().values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    const d = normalizeGitPath(dir);
    if (d === '') return this.sorted.slice();
    return this.sorted.filter((e) => e.path !== d && isUnder(e.path, d));
  }

  listFiles(dir = ''): string[] {
    return this.listTree(dir)
      .filter((e) => e.type === 'blob')
      .map((e) => e.path);
  }

  entry(p: string): TreeEntry | undefined {
    const n = normalizeGitPath(p);
    if (n === '') return { path: '', mode: '040000', type: 'tree', oid: '' };
    return this.entries().get(n);
  }

  isDir(p: string): boolean {
    const e = this.entry(p);
    return e !== undefined && (e.type === 'tree' || e.type === 'commit');
  }

  exists(p: string): boolean {
    return this.entry(p) !== undefined;
  }

  readFile(p: string): Buffer | undefined {
    return this.readFiles([p]).get(p);
  }

  prefetch(paths: string[]): void {
    if (!this.worktree) this.prefetchPaths.push(...paths);
  }

  readFiles(paths: string[]): Map<string, Buffer> {
    const result = new Map<string, Buffer>();
    const wanted: { name: string; oid: string }[] = [];
    for (const p of paths) {
      const e = this.entry(p);
      if (!e || e.type !== 'blob') continue;
      if (this.worktree) {
        const abs = path.join(this.repoRoot, e.path);
        try {
          result.set(p, e.mode === '120000' ? Buffer.from(fs.readlinkSync(abs)) : fs.readFileSync(abs));
        } catch {
          /* vanished since listing */
        }
      } else {
        const b = this.prefetched.get(e.oid);
        if (b) result.set(p, b);
        else wanted.push({ name: p, oid: e.oid });
      }
    }
    if (wanted.length > 0) {
      const extra: string[] = [];
      for (const p of this.prefetchPaths.splice(0)) {
        const e = this.entry(p);
        if (e && e.type === 'blob' && !this.prefetched.has(e.oid) && !wanted.some((w) => w.oid === e.oid)) extra.push(e.oid);
      }
      const oids = [...wanted.map((w) => w.oid), ...extra];
      const byOid = parseCatFileBatch(runGit(this.repoRoot, ['cat-file', '--batch'], oids.join('\n') + '\n'), oids);
      for (const w of wanted) {
        const b = byOid.get(w.oid);
        if (b) result.set(w.name, b);
      }
      for (const oid of extra) {
        const b = byOid.get(oid);
        if (b) this.prefetched.set(oid, b);
      }
    }
    return result;
  }

  pathState(p: string): PathState {
    const n = normalizeGitPath(p);
    const codes = this.workStatus();
    const code = codes.get(n);
    const inHead = this.headTree().has(n);
    // Ignored paths are not listed (no --ignored); they are told apart below with check-ignore.
    if (code === '??') return 'untracked';
    if (code !== undefined) return inHead || code[0] === ' ' ? 'modified' : 'staged';
    if (inHead) {
      // A directory is modified when anything below it is.
      for (const k of codes.keys()) if (isUnder(k, n) && k !== n) return 'modified';
      return 'committed';
    }
    // Not in HEAD and not reported: ignored files, untracked dirs reported by their files, or nothing.
    for (const [k, c] of codes) if (isUnder(k, n)) return c === '??' ? 'untracked' : 'staged';
    if (fs.existsSync(path.join(this.repoRoot, n))) {
      return this.isIgnored(n) ? 'ignored' : 'untracked';
    }
    if (this.worktree && this.indexPaths().has(n)) return 'staged';
    return 'missing';
  }

  private isIgnored(p: string): boolean {
    const res = spawnSync('git', ['check-ignore', '-q', '--', p], { cwd: this.repoRoot, env: gitEnv() });
    return res.status === 0;
  }
}

/** Read a path from the work tree on disk (for files giterminism allows to be uncommitted). */
export function readWorktreeFile(repoRoot: string, p: string): Buffer | undefined {
  const abs = path.join(repoRoot, normalizeGitPath(p));
  try {
    const st = fs.statSync(abs);
    if (!st.isFile()) return undefined;
    return fs.readFileSync(abs);
  } catch {
    return undefined;
  }
}
