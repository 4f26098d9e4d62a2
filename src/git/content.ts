/**
 * Git content for BuildKit: a mapping's archive (or its changed files) as a FileSync tree source
 * served straight from git objects (`cat-file --batch`), or written to a directory on disk for the
 * disk walker. Directories get werf's archive mode 0775; files their git mode; symlinks their target.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TreeSource, TreeSourceEntry } from '../session/tree-source';
import type { ArchiveEntry } from './mapping';
import type { GitRepo } from './repo';
import { StapelkitError } from '../errors';

/** werf's tar directory mode for archives. */
export const ARCHIVE_DIR_MODE = 0o775;

export interface GitFiles {
  entries: ArchiveEntry[];
  repos: Map<string, GitRepo>;
}

function fileMode(gitMode: string): number {
  return gitMode === '100755' ? 0o755 : gitMode === '120000' ? 0o777 : 0o644;
}

/** Content identity: sha256 over path, mode and object id of every entry (sorted). */
export function gitFilesId(files: GitFiles): string {
  const h = createHash('sha256');
  for (const e of files.entries.slice().sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) h.update(`${e.path}\0${e.mode}\0${e.oid}\0`);
  return h.digest('hex');
}

/**
 * A FileSync tree source over git objects. `mtimeNs` sets every entry's modification time (e.g.
 * the commit time) so the transfer does not depend on when or where it runs.
 */
export function gitTreeSource(files: GitFiles, opts: { mtimeNs?: bigint } = {}): TreeSource {
  const id = gitFilesId(files);
  const entries: (TreeSourceEntry & { git: ArchiveEntry })[] = files.entries.map((e) => {
    const symlink = e.mode === '120000';
    return {
      path: e.path,
      type: symlink ? 'symlink' : 'file',
      mode: fileMode(e.mode),
      size: e.size,
      linkname: symlink ? e.linkTarget ?? '' : undefined,
      git: e,
    };
  });
  return {
    id,
    dirMode: ARCHIVE_DIR_MODE,
    mtimeNs: opts.mtimeNs ?? 0n,
    entries: () => entries,
    async read(entry: TreeSourceEntry): Promise<Buffer> {
      const g = (entry as TreeSourceEntry & { git: ArchiveEntry }).git;
      const repo = files.repos.get(g.repoDir);
      const data = repo ? await repo.readBlob(g.oid) : undefined;
      if (!data) throw new StapelkitError('GIT_FAILED', `git object ${g.oid} (${g.path}) is missing in ${g.repoDir}`);
      return data;
    },
  };
}

/**
 * Writes the files into `dest` (created; must be empty or absent): the disk alternative to
 * gitTreeSource. Blobs are read through the repository's open `cat-file --batch`.
 */
export async function writeGitFiles(files: GitFiles, dest: string, opts: { mtime?: Date } = {}): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const dirs = new Set<string>();
  const ensureDir = (rel: string) => {
    if (rel === '.' || rel === '' || dirs.has(rel)) return;
    ensureDir(path.posix.dirname(rel));
    const abs = path.join(dest, rel);
    fs.mkdirSync(abs, { recursive: false, mode: ARCHIVE_DIR_MODE });
    fs.chmodSync(abs, ARCHIVE_DIR_MODE);
    dirs.add(rel);
  };
  const BATCH = 256;
  for (let i = 0; i < files.entries.length; i += BATCH) {
    const chunk = files.entries.slice(i, i + BATCH);
    await Promise.all(chunk.map(async (e) => {
      ensureDir(path.posix.dirname(e.path));
      const abs = path.join(dest, e.path);
      if (e.mode === '120000') {
        fs.symlinkSync(e.linkTarget ?? '', abs);
        return;
      }
      const data = await files.repos.get(e.repoDir)?.readBlob(e.oid);
      if (!data) throw new StapelkitError('GIT_FAILED', `git object ${e.oid} (${e.path}) is missing in ${e.repoDir}`);
      await fs.promises.writeFile(abs, data, { mode: fileMode(e.mode) });
      await fs.promises.chmod(abs, fileMode(e.mode));
    }));
  }
  if (opts.mtime) {
    for (const e of files.entries) if (e.mode !== '120000') fs.utimesSync(path.join(dest, e.path), opts.mtime, opts.mtime);
  }
}
