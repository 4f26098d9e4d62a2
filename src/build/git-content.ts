/**
 * Git content for BuildKit as a directory the session serves: the given tree entries of a commit
 * written into a private temp dir (blobs with their git modes, symlinks as symlinks), once per
 * (commit, entry set). The dir lives until the build ends.
 */
import { spawn } from 'node:child_process';
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

/** Files written (and utimes set) at once. */
const WRITE_CONCURRENCY = 32;
/** From this many written files on, close() removes the trees in the background. */
const BACKGROUND_REMOVE_FILES = 2000;

async function eachLimited<T>(items: readonly T[], n: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

export class GitContentDirs {
  private readonly root: string;
  private files = 0;
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
    const blobs = await repo.readBlobs([...new Set(entries.map((e) => e.oid))]);
    const dirs = new Set<string>([dir]);
    for (const e of entries) {
      if (!blobs.has(e.oid)) throw new Error(`git object ${e.oid} (${e.path}) is missing`);
      for (let d = path.dirname(path.join(dir, e.path)); d.length > dir.length && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
    }
    // Parents first (shorter paths sort first), then the files WRITE_CONCURRENCY at a time: on a
    // slow disk one-at-a-time writes of a 2k-file mapping took seconds of a cold build.
    for (const d of [...dirs].sort((a, b) => a.length - b.length)) fs.mkdirSync(d, { recursive: true });
    await eachLimited(entries, WRITE_CONCURRENCY, async (e) => {
      const abs = path.join(dir, e.path);
      const data = blobs.get(e.oid)!;
      if (e.mode === '120000') await fs.promises.symlink(data.toString(), abs);
      else await fs.promises.writeFile(abs, data, { mode: e.mode === '100755' ? 0o755 : 0o644 });
    });
    this.files += entries.length;
    // Fixed mtimes: the FileSync checksum BuildKit keys its cache on depends on content and modes only then.
    // Directories after every file is in place (a write into a directory changes its mtime).
    const epoch = new Date(0);
    await eachLimited(entries.filter((e) => e.mode !== '120000'), WRITE_CONCURRENCY, (e) => fs.promises.utimes(path.join(dir, e.path), epoch, epoch));
    await eachLimited([...dirs], WRITE_CONCURRENCY, (d) => fs.promises.utimes(d, epoch, epoch));
    return dir;
  }

  /**
   * Removes the written trees. A large one is removed by a detached `rm -rf` after this process
   * exits its build: removing 20k small files synchronously kept a finished cold build waiting ~19 s.
   */
  close(): void {
    if (this.files >= BACKGROUND_REMOVE_FILES) {
      try {
        const trash = `${this.root}.removing`;
        fs.renameSync(this.root, trash);
        const child = spawn('rm', ['-rf', '--', trash], { detached: true, stdio: 'ignore' });
        child.on('error', () => fs.rmSync(trash, { recursive: true, force: true }));
        child.unref();
        return;
      } catch {
        /* fall back to removing it here */
      }
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}
