/**
 * Reading project files the giterminism way: from the HEAD commit (or, with `--dev`, from the
 * tracked files of the work tree), and from disk only where werf-giterminism.yaml allows
 * uncommitted files. Also the `.Files` object handed to the template engine.
 */
import { Minimatch } from 'minimatch';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { GitReader, PathState, isOutside, normalizeGitPath } from '../git/reader';
import { readWorktreeFile } from '../git/cli';
import { Allow, FILE_STATE_ERROR, NOTHING, fileStateError } from '../config/file-state';
import type { WerfFiles } from '../template/werf';

export interface ProjectFilesOptions {
  git: GitReader;
  /** Project directory relative to the repository root (`""` when they are the same). */
  prefix: string;
  dev: boolean;
  /** Disable all file-state checks (`--loose-giterminism`). */
  loose: boolean;
}

/** Reads files of the project directory through git with giterminism rules. */
export class ProjectFiles {
  constructor(readonly opts: ProjectFilesOptions) {}

  repoPath(p: string): string {
    return normalizeGitPath(this.opts.prefix === '' ? p : `${this.opts.prefix}/${p}`);
  }

  projectPath(repoPath: string): string {
    return this.opts.prefix === '' ? repoPath : repoPath.slice(this.opts.prefix.length + 1);
  }

  private diskPath(p: string): string {
    return path.join(this.opts.git.repoRoot, this.repoPath(p));
  }

  /** Git's view of a project path (committed, modified, untracked, ignored…). */
  state(p: string): PathState {
    return this.opts.git.pathState(this.repoPath(p));
  }

  /**
   * Content of a project file. `undefined` when it exists nowhere; errors when it exists only in a
   * form giterminism refuses (untracked, uncommitted changes) unless `allow(p)`.
   */
  read(p: string, allow: Allow): Buffer | undefined {
    return this.readMany([p], allow).get(p);
  }

  /**
   * Contents of several project files (as `read`), with every git object read in one batch: a
   * `.Files.Glob` over thousands of files costs one git process, not one per file.
   */
  readMany(ps: string[], allow: Allow): Map<string, Buffer> {
    const out = new Map<string, Buffer>();
    const fromGit: { p: string; rp: string; ifMissing?: () => void }[] = [];
    for (const p of ps) {
      const plan = this.plan(p, allow);
      if (plan === undefined) continue;
      if ('content' in plan) out.set(p, plan.content);
      else fromGit.push({ p, ...plan });
    }
    if (fromGit.length === 0) return out;
    const got = this.opts.git.readFiles(fromGit.map((g) => g.rp));
    for (const g of fromGit) {
      const b = got.get(g.rp);
      if (b !== undefined) out.set(g.p, b);
      else g.ifMissing?.();
    }
    return out;
  }

  /** Where `read` takes a file from: disk content now, a git path to read (batched), or nothing. */
  private plan(p: string, allow: Allow): { content: Buffer } | { rp: string; ifMissing?: () => void } | undefined {
    const rp = this.repoPath(p);
    // Only files of the project directory are readable.
    if (isOutside(p) || rp === '' || isOutside(rp)) return undefined;
    const git = this.opts.git;
    const st = this.state(p);
    if (this.opts.loose || allow(p)) {
      if (st !== 'committed' || git.worktree) {
        const disk = readWorktreeFile(git.repoRoot, rp);
        return disk !== undefined ? { content: disk } : { rp };
      }
      return { rp };
    }
    if (git.worktree) {
      // --dev: tracked files as they are on disk; untracked files must be staged first.
      const ifMissing = () => {
        if (st === 'untracked' || st === 'ignored') throw fileStateError(`the untracked file "${p}" must be staged`);
      };
      return { rp, ifMissing };
    }
    switch (st) {
      case 'committed':
        return { rp };
      case 'untracked':
      case 'ignored':
        throw fileStateError(`the untracked file "${p}" must be committed`);
      case 'modified':
      case 'staged':
        if (!fs.existsSync(this.diskPath(p)) && git.readFile(rp) === undefined) return undefined;
        throw fileStateError(`the file "${p}" must be committed`);
      default:
        return undefined;
    }
  }

  /** Project-relative paths of files visible under giterminism, plus allowed uncommitted ones. */
  listFiles(allow: Allow, under = ''): string[] {
    const prefix = this.repoPath(under);
    const out = new Set<string>();
    for (const rp of this.opts.git.listFiles(prefix)) out.add(this.projectPath(rp));
    if (this.opts.loose || allow !== NOTHING) {
      for (const p of walkDisk(this.diskPath(under), under)) if (this.opts.loose || allow(p)) out.add(p);
    }
    return [...out].sort();
  }

  exists(p: string, allow: Allow): boolean {
    if (isOutside(p)) return false;
    const rp = this.repoPath(p);
    if (this.opts.git.exists(rp)) return true;
    if ((this.opts.loose || allow(p)) && fs.existsSync(this.diskPath(p))) return true;
    return false;
  }

  isDir(p: string, allow: Allow): boolean {
    if (isOutside(p)) return false;
    const rp = this.repoPath(p);
    if (this.opts.git.isDir(rp)) return true;
    let isDisk = false;
    try {
      isDisk = fs.statSync(this.diskPath(p)).isDirectory();
    } catch {
      return false;
    }
    if (!isDisk) return false;
    if (this.opts.loose || allow(p)) return true;
    // An uncommitted directory counts when it holds allowed files (`local/*` makes `local` a dir).
    if (allow === NOTHING) return false;
    for (const f of walkDisk(this.diskPath(p), p)) if (allow(f)) return true;
    return false;
  }
}

/** Files below `abs` (skipping .git), as `rel`-prefixed POSIX paths. */
export function* walkDisk(abs: string, rel: string): Generator<string> {
  let ents: fs.Dirent[];
  try {
    ents = fs.readdirSync(abs, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of ents) {
    if (e.name === '.git') continue;
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) yield* walkDisk(path.join(abs, e.name), r);
    else yield r;
  }
}

/** werf's `.Files`: paths relative to the project dir, content from git unless `allow`ed. */
export function makeWerfFiles(files: ProjectFiles, allow: Allow): WerfFiles {
  return {
    // Contents are bytes: a binary file reaches the template unchanged (Go strings are byte strings).
    get(p: string): Buffer {
      const n = normalizeGitPath(p);
      if (isOutside(n)) {
        // Not a giterminism matter: no werf-giterminism.yaml setting reads outside the project.
        throw new StapelkitError('FILES_OUTSIDE_PROJECT', `{{ .Files.Get ${JSON.stringify(p)} }}: the path leads outside the project directory through ".."; .Files reads only files of the project directory`);
      }
      const b = files.read(n, allow);
      if (b === undefined) {
        throw new StapelkitError(
          FILE_STATE_ERROR,
          `{{ .Files.Get ${JSON.stringify(p)} }}: the file ${JSON.stringify(n)} not found in the project git repository. If the file exists locally, configure werf-giterminism.yaml to allow uncommitted files`,
        );
      }
      return b;
    },
    glob(pattern: string): Record<string, Buffer> {
      const pat = pattern.replace(/^\.\//, '').replace(/^\/+/, '');
      const mm = new Minimatch(pat, { dot: true }); // compiled once, not per listed file
      const matched = files.listFiles(allow).filter((p) => mm.match(p));
      const out: Record<string, Buffer> = {};
      for (const [p, b] of files.readMany(matched, allow)) out[p] = b;
      return out;
    },
    exists(p: string): boolean {
      const n = normalizeGitPath(p);
      if (n === '') return true;
      return files.exists(n, allow);
    },
    isDir(p: string): boolean {
      const n = normalizeGitPath(p);
      if (n === '') return true;
      return files.isDir(n, allow);
    },
  };
}
