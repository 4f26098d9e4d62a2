/**
 * Git mappings in the frontend: inside BuildKit there is no git history, only the build context.
 * The context's files under the mappings' `add` paths become a one-commit SnapshotRepo (git's own
 * object ids computed from the contents), and the shared src/git code gives the facts over it
 * exactly as over a repository: werf's matcher (include/exclude), file or directory `add`,
 * stageDependencies checksums (equal to werf's when the files equal the commit's: the files their
 * masks select are read, see contentNeeded). The commit is the context's `.git` HEAD when it has
 * one, else a content id of the mapped files (SnapshotRepo; bytes for the files read, size + mtime
 * + mode for the others).
 *
 * The files reach the stages as LLB States, no session: FileOp copies of the selected paths from
 * the context State (explicit per-path copies, whole directories where the matcher takes all of
 * one: dockerd's BuildKit v0.8 has no copy include patterns). `archiveSource` holds only the files
 * the user stages depend on, so BuildKit's content cache re-runs install/beforeSetup/setup exactly
 * when their stageDependencies change; gitLatestPatch lays the whole mapping after them.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import type { Gateway, GatewayRef } from '../build/gateway';
import type { MappingFactsSource, SourceHost } from '../build/mapping-git';
import type { GitMapping } from '../config/model';
import { StapelkitError } from '../errors';
import { archiveEntries, mappingMatcher, paramshash, stageChecksum } from '../git/mapping';
import { lsTree } from '../git/lstree';
import { MultiMatcher, mappingAdd, newPathMatcher } from '../git/pathmatch';
import { SnapshotRepo, type SnapshotFile } from '../git/snapshot';
import { loadCommitTree, nodeAt, type TreeNode } from '../git/tree';
import { copy, scratch, type FileAction, type State } from '../llb';
import type { GitMappingFacts, PatchFacts } from '../stages';
import { MODE_DIR, MODE_SYMLINK } from './context-files';

/** One copy from the context into a mapping's source State (paths absolute, POSIX). */
export interface ContextCopy {
  src: string;
  dest: string;
  dir: boolean;
}

export interface ContextSnapshot {
  repo: SnapshotRepo;
  /** Directories of the context that hold a `.git` (never copied: git archives have none). */
  gitDirs: Set<string>;
}

const rel = (scope: string, full: string) => (scope === '' ? full : full === scope ? '' : full.slice(scope.length + 1));

/**
 * The copies that lay the mapping's files matched by its filters (and by `masks` when given), as
 * the stage layer reads a source: the contents of `add`, or the single file basename(add).
 */
export async function mappingCopies(snap: ContextSnapshot, m: GitMapping, masks?: string[]): Promise<ContextCopy[]> {
  const repo = snap.repo;
  const add = mappingAdd(m.add);
  const t = await loadCommitTree(repo, repo.commit);
  const node = add === '' ? t.root : nodeAt(t, add);
  if (!node) return [];
  const base = mappingMatcher(m);
  const matcher = masks ? new MultiMatcher([base, newPathMatcher({ basePath: add, includeGlobs: masks })]) : base;
  if (node.type === 'blob') return matcher.isPathMatched(add) ? [{ src: '/' + add, dest: '/' + path.posix.basename(add), dir: false }] : [];
  const res = await lsTree(t, { pathScope: add, matcher, allFiles: false });
  const out: ContextCopy[] = [];
  // A whole directory is one copy, unless it holds a `.git`: then its entries one by one.
  const lay = (full: string, n: TreeNode) => {
    if (n.type === 'tree' && snap.gitDirs.has(full)) {
      for (const c of n.children ?? []) lay(full === '' ? c.name : `${full}/${c.name}`, c);
      return;
    }
    out.push({ src: '/' + full, dest: '/' + rel(add, full), dir: n.type === 'tree' });
  };
  for (const e of res.entries) lay(e.fullPath, e.node);
  return out.sort((a, b) => (a.dest < b.dest ? -1 : a.dest > b.dest ? 1 : 0));
}

/** The State holding exactly `copies` from `context`. */
export function copiesState(context: State, copies: ContextCopy[], what: string): State {
  let chain: FileAction | undefined;
  for (const c of copies) {
    const opts = { createDestPath: true, followSymlinks: false, allowWildcard: false, ...(c.dir ? { dirCopyContents: true } : {}) };
    chain = chain ? chain.copy(context, c.src, c.dest, opts) : copy(context, c.src, c.dest, opts);
  }
  return scratch().file(chain!, { customName: `[internal] ${what} from the build context` });
}

export class ContextMappingFacts implements MappingFactsSource {
  private snapP?: Promise<ContextSnapshot>;

  constructor(
    private readonly snapshot: () => Promise<ContextSnapshot>,
    /** The build context as LLB (the same source the frontend solved). */
    private readonly context: State,
    private readonly warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {}

  async facts(host: SourceHost, m: GitMapping): Promise<GitMappingFacts> {
    if (m.type === 'remote') throw new StapelkitError('FRONTEND_UNSUPPORTED', `git mapping url ${m.url}: remote repositories are not fetched by the frontend (it has no network; build with \`stapelkit build\`)`, { pos: m.pos });
    const snap = await (this.snapP ??= this.snapshot());
    const repo = snap.repo;
    const commit = repo.commit;
    const archive = await archiveEntries(repo, commit, m).catch((e) => {
      if (e instanceof StapelkitError && !e.pos) throw new StapelkitError(e.code, e.message, { pos: m.pos, hint: e.hint, cause: e });
      throw e;
    });
    const ph = paramshash(m);
    const add = mappingAdd(m.add);
    // git's tree id of `add` when its bytes were all read (a file add always is).
    const tree = !repo.allContent && archive.type === 'directory' ? undefined : add === '' ? (await repo.resolve(commit)).tree : (await repo.entry(commit, add))?.oid;
    const warned = new Set<string>();
    const onWarning = (w: { message: string }) => {
      if (!warned.has(w.message)) {
        warned.add(w.message);
        this.warn(w.message.replace(/in own git$/, 'in the build context'));
      }
    };
    const [install, beforeSetup, setup] = await Promise.all((['install', 'beforeSetup', 'setup'] as const).map((s) => stageChecksum(repo, commit, m, s, { onWarning })));
    const id = `${ph.slice(0, 16)}-${commit.slice(0, 12)}`;
    const full = await mappingCopies(snap, m);
    const source = host.defineStateSource(`context-git-${id}`, copiesState(this.context, full, `git ${m.add}`));
    const masks = allMasks(m);
    let archiveSource = '';
    if (masks.length) {
      const deps = await mappingCopies(snap, m, masks);
      if (JSON.stringify(deps) === JSON.stringify(full)) archiveSource = source;
      else if (deps.length) archiveSource = host.defineStateSource(`context-gitdeps-${id}`, copiesState(this.context, deps, `git ${m.add} (stageDependencies)`));
    }
    return { paramshash: ph, commit, tree, type: archive.type, stageDependencies: { install, beforeSetup, setup }, source, archiveSource };
  }

  patch(_host: SourceHost, m: GitMapping, _g: GitMappingFacts, from: string): Promise<PatchFacts> {
    // Without stages storage every chosen stage was built now, at the context's only commit.
    return Promise.reject(new StapelkitError('INTERNAL', `git mapping add: ${m.add}: a patch from ${from} was asked, but the build context has no history`, { pos: m.pos }));
  }
}

const isUnderAny = (p: string, prefixes: string[]) => prefixes.some((a) => a === '' || p === a || p.startsWith(a + '/'));
const overlaps = (dir: string, prefixes: string[]) => dir === '' || prefixes.some((a) => a === '' || dir === a || dir.startsWith(a + '/') || a.startsWith(dir + '/'));

/** werf's stageDependencies masks of all three user stages, de-duplicated. */
function allMasks(m: GitMapping): string[] {
  const sd = m.stageDependencies ?? { install: [], beforeSetup: [], setup: [] };
  return [...new Set([...(sd.install ?? []), ...(sd.beforeSetup ?? []), ...(sd.setup ?? [])])];
}

/**
 * Which context files must be read for the facts: those a stageDependencies mask selects (their
 * checksums are over git blob ids) and file adds. The rest get a stand-in id from their size,
 * mtime and mode: they only enter the content commit, never a digest or a cache key.
 */
export function contentNeeded(mappings: GitMapping[]): (p: string) => boolean {
  const ms = mappings.map((m) => {
    const add = mappingAdd(m.add);
    const masks = allMasks(m);
    return { add, matcher: masks.length ? new MultiMatcher([mappingMatcher(m), newPathMatcher({ basePath: add, includeGlobs: masks })]) : undefined };
  });
  return (p) => ms.some(({ add, matcher }) => p === add || (matcher?.isPathMatched(p) ?? false));
}

/** At most `n` calls of `fn` in flight. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/**
 * The context's files under `prefixes` (the mappings' `add` paths; `""` = everything), `.git`
 * skipped, read over the gateway: directory listings, then the contents of the files `needContent`
 * selects (the others get a stand-in id from size, mtime and mode: 2–3 ms a file saved). At most 8 bridge calls in
 * flight: BuildKit v0.8 serialises calls on one ref (flightcontrol) and fails ones that wait too
 * long ("exceeded retry timeout", seen with 50 parallel listings).
 */
export async function readContextSnapshot(
  gw: Gateway,
  ref: GatewayRef,
  prefixes: string[],
  needContent: (p: string) => boolean = () => true,
  meta: { commit?: string; authorTime?: number; tzOffset?: string } = {},
): Promise<ContextSnapshot> {
  const limit = limiter(8);
  const files: { path: string; mode: SnapshotFile['mode']; link?: string; stat: string }[] = [];
  const gitDirs = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const ents = await limit(() => gw.readDir(ref, dir === '' ? '/' : dir));
    const subs: string[] = [];
    for (const s of ents) {
      const name = s.path.includes('/') ? s.path.slice(s.path.lastIndexOf('/') + 1) : s.path;
      const p = dir === '' ? name : `${dir}/${name}`;
      if (name === '.git') {
        gitDirs.add(dir);
        continue;
      }
      if (s.mode & MODE_DIR) {
        if (overlaps(p, prefixes)) subs.push(p);
      } else if (isUnderAny(p, prefixes)) {
        const stat = `${s.size} ${String(s.modTime)} ${s.mode >>> 0}`;
        if (s.mode & MODE_SYMLINK) files.push({ path: p, mode: '120000', link: s.linkname ?? '', stat });
        else files.push({ path: p, mode: s.mode & 0o111 ? '100755' : '100644', stat });
      }
    }
    await Promise.all(subs.map(walk));
  };
  await walk('');
  const out = await Promise.all(
    files.map(async (f): Promise<SnapshotFile> => {
      if (f.mode === '120000') return { path: f.path, mode: f.mode, content: Buffer.from(f.link!) };
      if (!needContent(f.path)) return { path: f.path, mode: f.mode, oid: createHash('sha1').update(`stapelkit-stat ${f.stat}`).digest('hex') };
      return { path: f.path, mode: f.mode, content: await limit(() => gw.readFile(ref, f.path)) };
    }),
  );
  return { repo: new SnapshotRepo(out, meta), gitDirs };
}
