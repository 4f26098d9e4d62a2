/**
 * Git content for BuildKit as a directory the session serves: the given tree entries of a commit
 * written into a private temp dir (blobs with their git modes, symlinks as symlinks), once per
 * (commit, entry set). The dir lives until the build ends.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { GitRepo } from '../git/repo';

export interface ContentEntry {
  /** Relative to the source root (no leading `/`). */
  path: string;
  /** Git mode: 100644, 100755, 120000. */
  mode: string;
  oid: string;
}

export class GitContentDirs {
  private readonly root: string;
  private readonly made = new Map<string, Promise<string>>();

  constructor() {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-git-'));
  }

  /** A stable name for the entry set (the session dir name and LLB local name derive from it). */
  static key(entries: readonly ContentEntry[]): string {
    const h = crypto.createHash('sha256');
    for (const e of entries) h.update(`${e.path}\0${e.mode}\0${e.oid}\n`);
    return h.digest('hex').slice(0, 32);
  }

  /** Writes `entries` (once per key) and returns the directory. */
  materialize(repo: GitRepo, entries: readonly ContentEntry[]): Promise<string> {
    const key = GitContentDirs.key(entries);
    let p = this.made.get(key);
    if (!p) {
      p = this.write(repo, key, entries);
      this.made.set(key, p);
    }
    return p;
  }

  private async write(repo: GitRepo, key: string, entries: readonly ContentEntry[]): Promise<string> {
    const dir = path.join(this.root, key);
    fs.mkdirSync(dir, { recursive: true });
    const blobs = await repo.readBlobs([...new Set(entries.map((e) => e.oid))]);
    for (const e of entries) {
      const data = blobs.get(e.oid);
      if (!data) throw new Error(`git object ${e.oid} (${e.path}) is missing`);
      const abs = path.join(dir, e.path);
      await fs.promises.mkdir(path.dirname(abs), { recursive: true });
      if (e.mode === '120000') await fs.promises.symlink(data.toString(), abs);
      else await fs.promises.writeFile(abs, data, { mode: e.mode === '100755' ? 0o755 : 0o644 });
    }
    // Fixed mtimes: the FileSync checksum BuildKit keys its cache on depends on content and modes only then.
    const epoch = new Date(0);
    const touch = async (p: string) => {
      const st = await fs.promises.lstat(p);
      if (st.isSymbolicLink()) return;
      if (st.isDirectory()) for (const c of await fs.promises.readdir(p)) await touch(path.join(p, c));
      await fs.promises.utimes(p, epoch, epoch);
    };
    await touch(dir);
    return dir;
  }

  close(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
