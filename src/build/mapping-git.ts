/**
 * The git facts the conveyor takes as data, computed with src/git for one mapping: the repository
 * and commit (project HEAD, or a remote mirror's ref), paramshash, file or directory `add`, the
 * tree id of `add`, stageDependencies checksums, patches — and the session sources that serve the
 * mapping's files (written from git objects only when a stage that reads them is built).
 */
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import type { GitMapping, Import } from '../config';
import type { CliGitRepo } from '../git/cli-repo';
import type { GitRepo } from '../git/repo';
import { archiveEntries, changes, mappingMatcher, paramshash, patchSize, patchText, stageChecksum, type ArchiveEntry } from '../git/mapping';
import { exportMatcher, mappingAdd } from '../git/pathmatch';
import { openRemote } from '../git/remote';
import type { GitMappingFacts, PatchFacts } from '../stages';
import { GitContentDirs, type ContentEntry } from './git-content';
import type { ImportMatcher } from './imports';

export interface SourceHost {
  defineSource(name: string, make: () => Promise<string>): string;
  gitContent(repo: GitRepo, entries: ContentEntry[]): Promise<string>;
}

interface Resolved {
  repo: GitRepo;
  commit: string;
}

export class MappingGit {
  private readonly remotes = new Map<string, Promise<Resolved>>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly project: CliGitRepo,
    private readonly cacheDir: string,
    private readonly warn: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {}

  private async resolve(m: GitMapping, head: string): Promise<Resolved> {
    if (m.type !== 'remote') return { repo: this.project, commit: head };
    const key = JSON.stringify([m.url, m.branch, m.tag, m.commit]);
    let p = this.remotes.get(key);
    if (!p) {
      p = openRemote(m.url!, { branch: m.branch, tag: m.tag, commit: m.commit }, this.cacheDir).then((r) => ({ repo: r.repo, commit: r.commit.hash }));
      this.remotes.set(key, p);
    }
    return p;
  }

  /** Entries as the stage layer's sources lay them out: relative to `add`; a file add is the single file basename(add). */
  private static sourceEntries(m: GitMapping, type: 'file' | 'directory', entries: ArchiveEntry[]): ContentEntry[] {
    if (type === 'file') {
      const name = path.posix.basename(m.add);
      return entries.map((e) => ({ path: name, mode: e.mode, oid: e.oid }));
    }
    return entries.map((e) => ({ path: e.path, mode: e.mode, oid: e.oid }));
  }

  /** Blobs of submodule entries live in the submodule's repository: one content dir per repository, merged by path. */
  private static async write(host: SourceHost, repos: Map<string, GitRepo>, fallback: GitRepo, m: GitMapping, type: 'file' | 'directory', entries: ArchiveEntry[]): Promise<string> {
    const byRepo = new Map<string, ArchiveEntry[]>();
    for (const e of entries) byRepo.set(e.repoDir, [...(byRepo.get(e.repoDir) ?? []), e]);
    if (byRepo.size > 1) {
      throw new StapelkitError('NOT_SUPPORTED', `git mapping add: ${m.add}: files from submodules are not served to BuildKit yet`, { pos: m.pos });
    }
    const [repoDir, list] = [...byRepo][0] ?? ['', []];
    return host.gitContent(repos.get(repoDir) ?? fallback, MappingGit.sourceEntries(m, type, list));
  }

  async facts(host: SourceHost, m: GitMapping, head: string): Promise<GitMappingFacts> {
    const { repo, commit } = await this.resolve(m, head);
    const ph = paramshash(m);
    const archive = await archiveEntries(repo, commit, m).catch((e) => {
      if (e instanceof StapelkitError && !e.pos) throw new StapelkitError(e.code, e.message, { pos: m.pos, hint: e.hint, cause: e });
      throw e;
    });
    const addPath = mappingAdd(m.add);
    const tree = addPath === '' ? (await repo.resolve(commit)).tree : (await repo.entry(commit, addPath))?.oid;
    const onWarning = (w: { message: string }) => {
      if (!this.warned.has(w.message)) {
        this.warned.add(w.message);
        this.warn(w.message);
      }
    };
    const [install, beforeSetup, setup] = await Promise.all((['install', 'beforeSetup', 'setup'] as const).map((s) => stageChecksum(repo, commit, m, s, { onWarning })));
    // Named by content, not commit: a commit that changes nothing under `add` gives the same LLB (and BuildKit cache).
    const contentKey = GitContentDirs.key(MappingGit.sourceEntries(m, archive.type, archive.entries));
    const source = host.defineSource(`git-${ph.slice(0, 16)}-${contentKey.slice(0, 16)}`, () => MappingGit.write(host, archive.repos, repo, m, archive.type, archive.entries));
    return { paramshash: ph, commit, tree, type: archive.type, stageDependencies: { install, beforeSetup, setup }, source };
  }

  async patch(host: SourceHost, m: GitMapping, g: GitMappingFacts, from: string): Promise<PatchFacts> {
    const { repo } = await this.resolve(m, g.commit);
    if (!(await repo.hasCommit(from))) {
      throw new StapelkitError('GIT_COMMIT_GONE', `git mapping add: ${m.add}: commit ${from} recorded in the stored stage is no longer in the repository`, { pos: m.pos });
    }
    const [ch, text, size] = await Promise.all([changes(repo, from, g.commit, m), patchText(repo, from, g.commit, m), patchSize(repo, from, g.commit, m)]);
    const source = host.defineSource(`gitpatch-${g.paramshash.slice(0, 16)}-${from.slice(0, 12)}-${g.commit.slice(0, 12)}`, () => MappingGit.write(host, ch.repos, repo, m, g.type, ch.changed));
    const changed = g.type === 'file' ? ch.changed.map(() => path.posix.basename(m.add)) : ch.changed.map((e) => e.path);
    return { from, changed, deleted: ch.deleted, patchText: text, binaryPatchSize: size, source };
  }

  /** werf's matcher for an import (include/exclude relative to `add`). */
  importMatcher(imp: Import): ImportMatcher {
    const add = mappingAdd(imp.add);
    const pm = exportMatcher(imp);
    const full = (rel: string) => (add === '' ? rel : rel === '' ? add : `${add}/${rel}`);
    return { match: (rel) => pm.isPathMatched(full(rel)), shouldGoThrough: (rel) => pm.shouldGoThrough(full(rel)) };
  }
}

export { mappingMatcher };
