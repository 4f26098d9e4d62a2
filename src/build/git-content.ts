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
  /** A given root is kept (compile's --out-dir): a dir there is complete once its name exists, so it is reused. */
  private readonly keep: boolean;

  constructor(root?: string) {
    this.keep = root !== undefined;
    if (root) fs.mkdirSync(root, { recursive: true });
    this.root = root ?? fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-git-'));
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
    const final = path.join(this.root, key);
    if (this.keep && fs.existsSync(final)) return final;
    // Written under a temp name and renamed: a kept root never holds a half-written dir under its key.
    const dir = this.keep ? fs.mkdtempSync(path.join(this.root, `.${key}-`)) : final;
    fs.mkdirSync(dir, { recursive: true });
    if (dir !== final) fs.chmodSync(dir, 0o755);
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
    if (dir !== final) {
      try {
        fs.renameSync(dir, final);
        await fs.promises.utimes(final, new Date(0), new Date(0));
      } catch (e) {
        // Another compile wrote the same key first: same content.
        fs.rmSync(dir, { recursive: true, force: true });
        if (!fs.existsSync(final)) throw e;
      }
    }
    return final;
  }

  close(): void {
    if (this.keep) return;
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
