/**
 * The git facts of one git mapping (werf's stage.GitMapping) that the stage layer and the driver
 * need, as plain data: file or directory `add`, the archive's files, stageDependencies checksums,
 * the changes and patches between two commits, paramshash and label names. Everything reads the
 * repository through GitRepo; nothing here touches a work tree.
 */
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import type { GitMapping } from '../config/model';
import { isEmptyResult, lsTree, resultChecksum, resultEntries, type LsResult } from './lstree';
import { filterPatch, type FilteredPatch } from './patch';
import { mappingAdd, newPathMatcher, MultiMatcher, type PathMatcher } from './pathmatch';
import type { GitRepo } from './repo';
import { loadCommitTree, loadSubmoduleTree, nodeAt, type CommitTree } from './tree';

/** The parts of a model GitMapping these functions read. */
export type MappingSpec = Pick<GitMapping, 'add' | 'to' | 'includePaths' | 'excludePaths' | 'owner' | 'group'> &
  Partial<Pick<GitMapping, 'type' | 'url' | 'branch' | 'tag' | 'commit' | 'stageDependencies'>>;

export type UserStageName = 'install' | 'beforeSetup' | 'setup';

/** A file of a mapping as it lands under `to` (path relative to the extraction dir). */
export interface ArchiveEntry {
  /** Relative to the archive root (`to`, or `dirname(to)` for a file add), renamed for a file add. */
  path: string;
  /** Git mode: `100644`, `100755` or `120000`. */
  mode: string;
  oid: string;
  size: number;
  /** Symlink target (mode 120000). */
  linkTarget?: string;
  /** Directory of the repository holding the blob (the project repo or a submodule's). */
  repoDir: string;
}

export interface Archive {
  type: 'file' | 'directory';
  /** Where the entries are extracted: `to`, or `dirname(to)` for a file add. */
  extractTo: string;
  entries: ArchiveEntry[];
  /** Repositories by `repoDir`, to read the blobs (`readBlob`). */
  repos: Map<string, GitRepo>;
}

export interface MappingChanges {
  /** Added or modified files (relative to the archive root), with their new content ids. */
  changed: ArchiveEntry[];
  /** Paths (relative to the archive root) that no longer exist. */
  deleted: string[];
  repos: Map<string, GitRepo>;
}

export interface Warning { message: string }

function join(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : a + '/' + b;
}

/** The mapping's matcher (base = `add`, include AND NOT exclude): werf getPathMatcher. */
export function mappingMatcher(m: MappingSpec): PathMatcher {
  return newPathMatcher({ basePath: mappingAdd(m.add), includeGlobs: m.includePaths, excludeGlobs: m.excludePaths });
}

async function topTree(repo: GitRepo, commit: string, sizes = false): Promise<CommitTree> {
  const meta = await repo.resolve(commit);
  return loadCommitTree(repo, meta.hash, { sizes });
}

/**
 * werf IsCommitTreeEntryDirectory: `add` names a directory or a submodule at `commit` (the root
 * always is one). A file, or nothing, is not.
 */
export async function isDirectoryAdd(repo: GitRepo, commit: string, m: MappingSpec): Promise<boolean> {
  const add = mappingAdd(m.add);
  if (add === '') return true;
  const t = await topTree(repo, commit);
  const { node } = await findNode(t, add);
  return node !== undefined && (node.type === 'tree' || node.type === 'commit');
}

/** The node at `p`, looking into submodules when `p` lies inside one. */
async function findNode(t: CommitTree, p: string): Promise<{ tree: CommitTree; node?: CommitTree['root'] }> {
  const direct = nodeAt(t, p);
  if (direct) return { tree: t, node: direct };
  for (const sm of t.submodules) {
    if (p.startsWith(sm.path + '/')) {
      const sub = await loadSubmoduleTree(t, sm);
      return findNode(sub, p.slice(sm.path.length + 1));
    }
  }
  return { tree: t };
}

/** werf getPathScope + getFileRenames. */
async function scopeOf(repo: GitRepo, commit: string, m: MappingSpec): Promise<{ dir: boolean; scope: string; renames: Record<string, string> }> {
  const add = mappingAdd(m.add);
  const dir = await isDirectoryAdd(repo, commit, m);
  if (dir) return { dir, scope: add, renames: {} };
  const scope = path.posix.dirname(add) === '.' ? '' : path.posix.dirname(add);
  const renames: Record<string, string> = {};
  const toBase = path.posix.basename(m.to);
  if (path.posix.basename(add) !== toBase) renames[add] = toBase;
  return { dir, scope, renames };
}

function relToScope(scope: string, full: string): string {
  if (scope === '') return full;
  return full === scope ? '' : full.slice(scope.length + 1);
}

async function toEntries(res: LsResult, scope: string, renames: Record<string, string>): Promise<{ entries: ArchiveEntry[]; repos: Map<string, GitRepo> }> {
  const entries: ArchiveEntry[] = [];
  const repos = new Map<string, GitRepo>();
  const links: { e: ArchiveEntry; repo: GitRepo }[] = [];
  for (const le of resultEntries(res)) {
    const n = le.node;
    if (n.type !== 'blob') continue;
    const p = Object.prototype.hasOwnProperty.call(renames, le.fullPath) ? renames[le.fullPath] : relToScope(scope, le.fullPath);
    const e: ArchiveEntry = { path: p, mode: n.mode, oid: n.oid, size: n.size ?? 0, repoDir: le.tree.repo.dir };
    repos.set(e.repoDir, le.tree.repo);
    entries.push(e);
    if (n.mode === '120000') links.push({ e, repo: le.tree.repo });
  }
  // Symlink targets are blob contents: read them in one batch per repository.
  const byRepo = new Map<GitRepo, ArchiveEntry[]>();
  for (const l of links) { const a = byRepo.get(l.repo) ?? []; a.push(l.e); byRepo.set(l.repo, a); }
  for (const [repo, list] of byRepo) {
    const blobs = await repo.readBlobs(list.map((e) => e.oid));
    for (const e of list) e.linkTarget = blobs.get(e.oid)?.toString('utf8') ?? '';
  }
  return { entries, repos };
}

/**
 * The files of the mapping at `commit` (werf's archive: all files under the path scope that the
 * matcher selects, submodules expanded). Throws werf's error when nothing matches.
 */
export async function archiveEntries(repo: GitRepo, commit: string, m: MappingSpec): Promise<Archive> {
  const t = await topTree(repo, commit, true);
  const { dir, scope, renames } = await scopeOf(repo, t.commit, m);
  const res = await lsTree(t, { pathScope: scope, matcher: mappingMatcher(m), allFiles: true });
  const { entries, repos } = await toEntries(res, scope, renames);
  if (entries.length === 0) {
    throw new StapelkitError('GIT_ADD_NO_FILES', `"git.add: /${mappingAdd(m.add)}" in werf.yaml matches no files. git.add requires at least one file matched by it. Fix and retry`);
  }
  return { type: dir ? 'directory' : 'file', extractTo: dir ? m.to : path.posix.dirname(m.to), entries, repos };
}

/**
 * werf GitMapping.StageDependenciesChecksum for one user stage: per mask, the ls-tree checksum of
 * (mapping matcher AND mask) under `add`; the stage's checksum is sha256 over the non-empty ones.
 * `""` when the stage has no masks. Masks that match nothing produce a warning (werf's text).
 */
export async function stageDependenciesChecksum(
  repo: GitRepo, commit: string, m: MappingSpec, masks: string[], opts: { stage?: string; repoName?: string; onWarning?: (w: Warning) => void } = {},
): Promise<string> {
  if (masks.length === 0) return '';
  const t = await topTree(repo, commit);
  const add = mappingAdd(m.add);
  const base = mappingMatcher(m);
  const h = createHash('sha256');
  for (const mask of masks) {
    const matcher = new MultiMatcher([base, newPathMatcher({ basePath: add, includeGlobs: [mask] })]);
    const res = await lsTree(t, { pathScope: add, matcher, allFiles: false });
    const sum = resultChecksum(res);
    if (sum === '') {
      opts.onWarning?.({
        message: `WARNING: stage ${opts.stage ?? ''} dependency path ${JSON.stringify(path.posix.join(add, mask))} has not been found in ${opts.repoName ?? 'own'} git`,
      });
    } else {
      h.update(sum);
    }
  }
  return h.digest('hex');
}

/** The stage's checksum from the mapping's own `stageDependencies.<stage>` list. */
export function stageChecksum(repo: GitRepo, commit: string, m: MappingSpec, stage: UserStageName, opts: { repoName?: string; onWarning?: (w: Warning) => void } = {}): Promise<string> {
  return stageDependenciesChecksum(repo, commit, m, m.stageDependencies?.[stage] ?? [], { ...opts, stage });
}

/** Whether the mapping selects any file at all at `commit` (werf isEmpty, inverted). */
export async function hasFiles(repo: GitRepo, commit: string, m: MappingSpec): Promise<boolean> {
  const t = await topTree(repo, commit);
  const { scope } = await scopeOf(repo, t.commit, m);
  const res = await lsTree(t, { pathScope: scope, matcher: mappingMatcher(m), allFiles: true });
  return !isEmptyResult(res);
}

/**
 * What changed for the mapping between two commits (for applying a patch as data: extract
 * `changed`, remove `deleted`): diff-tree under the path scope, filtered by the matcher, re-rooted
 * to the archive root; submodule moves are diffed inside the submodule.
 */
export async function changes(repo: GitRepo, fromCommit: string, toCommit: string, m: MappingSpec): Promise<MappingChanges> {
  const [from, to] = await Promise.all([repo.resolve(fromCommit), repo.resolve(toCommit)]);
  const repos = new Map<string, GitRepo>();
  if (from.hash === to.hash) return { changed: [], deleted: [], repos };
  const { scope, renames } = await scopeOf(repo, to.hash, m);
  const matcher = mappingMatcher(m);
  const toTree = await loadCommitTree(repo, to.hash, { sizes: true });
  const changed: ArchiveEntry[] = [];
  const deleted: string[] = [];
  const outPath = (full: string) => (Object.prototype.hasOwnProperty.call(renames, full) ? renames[full] : relToScope(scope, full));

  const visit = async (r: GitRepo, fromC: string, toC: string, prefix: string, tree: CommitTree | undefined, fromTree: () => Promise<CommitTree | undefined>) => {
    // The top diff is limited to the scope unless the scope lies inside a submodule (gitlinks are leaves
    // to a pathspec); submodule diffs are filtered by the matcher alone.
    const limit = prefix === '' && scope !== '' && !toTree.submodules.some((sm) => scope.startsWith(sm.path + '/'));
    const diff = await r.diff(fromC, toC, limit ? { dir: scope } : {});
    for (const c of diff) {
      const full = prefix + c.path;
      const isLinkOld = c.oldMode === '160000';
      const isLinkNew = c.newMode === '160000';
      if (isLinkOld || isLinkNew) {
        await submoduleChange(r, c, full, tree, fromTree, isLinkOld, isLinkNew);
        continue;
      }
      if (!matcher.isPathMatched(full)) continue;
      if (c.status === 'D') { deleted.push(outPath(full)); continue; }
      const node = tree?.byPath.get(c.path);
      changed.push({ path: outPath(full), mode: c.newMode!, oid: c.newOid!, size: node?.size ?? 0, repoDir: r.dir });
      repos.set(r.dir, r);
    }
  };
  // A gitlink that appeared, vanished or moved: its files are added, deleted or diffed.
  const submoduleChange = async (
    r: GitRepo, c: { path: string; status: string; oldOid?: string; newOid?: string; oldMode?: string; newMode?: string }, full: string,
    tree: CommitTree | undefined, fromTree: () => Promise<CommitTree | undefined>, wasLink: boolean, isLink: boolean,
  ) => {
    const listAll = async (t: CommitTree | undefined, commitOid: string, into: 'changed' | 'deleted') => {
      const sm = t?.submodules.find((s) => s.path === c.path);
      if (!t || !sm) return;
      const st = await loadSubmoduleTree(t, { ...sm, commit: commitOid }, { sizes: true });
      for (const n of st.byPath.values()) {
        if (n.type !== 'blob') continue;
        const p = full + '/' + n.path;
        if (!matcher.isPathMatched(p)) continue;
        if (into === 'deleted') deleted.push(outPath(p));
        else { changed.push({ path: outPath(p), mode: n.mode, oid: n.oid, size: n.size ?? 0, repoDir: st.repo.dir }); repos.set(st.repo.dir, st.repo); }
      }
    };
    if (wasLink && !isLink) {
      await listAll(await fromTree(), c.oldOid!, 'deleted');
      if (c.status !== 'D' && matcher.isPathMatched(full)) {
        const node = tree?.byPath.get(c.path);
        changed.push({ path: outPath(full), mode: c.newMode!, oid: c.newOid!, size: node?.size ?? 0, repoDir: r.dir });
        repos.set(r.dir, r);
      }
      return;
    }
    if (!wasLink && isLink) {
      if (c.status !== 'A' && matcher.isPathMatched(full)) deleted.push(outPath(full));
      await listAll(tree, c.newOid!, 'changed');
      return;
    }
    // Moved between two commits: diff inside the submodule repository.
    const sm = tree?.submodules.find((s) => s.path === c.path);
    if (!tree || !sm) return;
    const subRepo = await r.openSubmodule(sm);
    if (!subRepo) throw new StapelkitError('GIT_SUBMODULE', `submodule "${sm.name}" (${sm.path}) is not available in ${r.dir}`, { hint: 'run `git submodule update --init --recursive`' });
    const subTo = await loadCommitTree(subRepo, c.newOid!, { sizes: true });
    await visit(subRepo, c.oldOid!, c.newOid!, full + '/', subTo, async () => loadCommitTree(subRepo, c.oldOid!));
  };

  await visit(repo, from.hash, to.hash, '', toTree, () => loadCommitTree(repo, from.hash));
  // Symlink targets of changed links.
  const links = changed.filter((e) => e.mode === '120000');
  for (const [dir, r] of repos) {
    const mine = links.filter((e) => e.repoDir === dir);
    if (!mine.length) continue;
    const blobs = await r.readBlobs(mine.map((e) => e.oid));
    for (const e of mine) e.linkTarget = blobs.get(e.oid)?.toString('utf8') ?? '';
  }
  return { changed, deleted, repos };
}

async function filteredPatch(repo: GitRepo, fromCommit: string, toCommit: string, m: MappingSpec, full: boolean): Promise<FilteredPatch> {
  const [from, to] = await Promise.all([repo.resolve(fromCommit), repo.resolve(toCommit)]);
  if (from.hash === to.hash) return { text: Buffer.alloc(0), paths: [], binaryPaths: [], pathsToRemove: [] };
  const { scope, renames } = await scopeOf(repo, to.hash, m);
  const diff = await repo.diffText(from.hash, to.hash, { dir: scope, binary: full, fullContext: full });
  return filterPatch(diff, { pathScope: scope, matcher: mappingMatcher(m), fileRenames: renames });
}

/** werf GetPatchContent: the patch text that gitLatestPatch hashes (`""` for equal commits). */
export async function patchText(repo: GitRepo, fromCommit: string, toCommit: string, m: MappingSpec): Promise<string> {
  return (await filteredPatch(repo, fromCommit, toCommit, m, false)).text.toString('utf8');
}

/** The patch as werf applies it, with the paths it touches. */
export function patch(repo: GitRepo, fromCommit: string, toCommit: string, m: MappingSpec): Promise<FilteredPatch> {
  return filteredPatch(repo, fromCommit, toCommit, m, false);
}

/** werf PatchSize: bytes of the full-context binary patch (gitCache's `patchSize / 1 MiB`). */
export async function patchSize(repo: GitRepo, fromCommit: string, toCommit: string, m: MappingSpec): Promise<number> {
  return (await filteredPatch(repo, fromCommit, toCommit, m, true)).text.length;
}

/** werf's repository name of a remote mapping: `group/project` from the URL. */
export function remoteRepoName(url: string): string {
  const match = /([^:/ ]+\/[^/ ]+?)(\.git)?\/?$/.exec(url);
  if (!match) throw new StapelkitError('GIT_REMOTE', `Cannot determine repo name from \`url: ${url}\``);
  return match[1];
}

/** werf GetFullName: `own_own` for the project repo, `<name>_<name>` for a remote. */
export function mappingFullName(m: MappingSpec): string {
  if (m.url) { const n = remoteRepoName(m.url); return `${n}_${n}`; }
  return 'own_own';
}

/**
 * werf GetParamshash: hex sha256 of fullName ::: to ::: add ::: includePaths… ::: excludePaths… :::
 * owner ::: group ::: branch ::: tag ::: commit (list items concatenated without separator; add
 * without its leading `/`).
 */
export function paramshash(m: MappingSpec): string {
  const parts = [
    mappingFullName(m), ':::', m.to, ':::', mappingAdd(m.add), ':::', ...m.includePaths, ':::', ...m.excludePaths, ':::',
    m.owner ?? '', ':::', m.group ?? '', ':::', m.branch ?? '', ':::', m.tag ?? '', ':::', m.commit ?? '',
  ];
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** werf's git labels of a stage image for this mapping. */
export function gitLabels(m: MappingSpec): { commit: string; type: string; virtualMerge: string; virtualMergeFromCommit: string; virtualMergeIntoCommit: string } {
  const p = paramshash(m);
  return {
    commit: `werf-git-${p}-commit`,
    type: `werf-git-${p}-type`,
    virtualMerge: `werf-git-${p}-virtual-merge`,
    virtualMergeFromCommit: `werf-git-${p}-virtual-merge-from-commit`,
    virtualMergeIntoCommit: `werf-git-${p}-virtual-merge-into-commit`,
  };
}
