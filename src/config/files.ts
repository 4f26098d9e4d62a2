/**
 * Reading project files the giterminism way: from the HEAD commit (or, with `--dev`, from the
 * tracked files of the work tree), and from disk only where werf-giterminism.yaml allows
 * uncommitted files. Also the `.Files` object handed to the template engine.
 */
import { minimatch } from 'minimatch';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { GitReader, PathState, isOutside, normalizeGitPath } from '../git/reader';
import { readWorktreeFile } from '../git/cli';
import { GITERMINISM_PARAGRAPH, pathAllowed } from './giterminism';
import { oneLine } from './yamlnode';

export const FILE_STATE_ERROR = 'GITERMINISM_FILE';

/** The `.Files` object of werf templates (paths relative to the project directory). */
export interface WerfFiles {
  get(path: string): string;
  glob(pattern: string): Record<string, string>;
  exists(path: string): boolean;
  isDir(path: string): boolean;
}

export interface ProjectFilesOptions {
  git: GitReader;
  /** Project directory relative to the repository root (`""` when they are the same). */
  prefix: string;
  dev: boolean;
  /** Disable all file-state checks (`--loose-giterminism`). */
  loose: boolean;
}

export type Allow = (projectRelPath: string) => boolean;

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
    const rp = this.repoPath(p);
    // Only files of the project directory are readable.
    if (isOutside(p) || rp === '' || isOutside(rp)) return undefined;
    const git = this.opts.git;
    const st = this.state(p);
    const fromDisk = () => readWorktreeFile(git.repoRoot, rp);
    if (this.opts.loose || allow(p)) {
      if (st !== 'committed' || git.worktree) return fromDisk() ?? git.readFile(rp);
      return git.readFile(rp);
    }
    if (git.worktree) {
      // --dev: tracked files as they are on disk; untracked files must be staged first.
      const b = git.readFile(rp);
      if (b !== undefined) return b;
      if (st === 'untracked' || st === 'ignored') throw fileStateError(`the untracked file "${p}" must be staged`);
      return undefined;
    }
    switch (st) {
      case 'committed':
        return git.readFile(rp);
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

export const NOTHING: Allow = () => false;

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

export function fileStateError(msg: string): StapelkitError {
  return new StapelkitError(FILE_STATE_ERROR, oneLine(msg), { hint: GITERMINISM_PARAGRAPH });
}

/** Allows the project paths matching giterminism `globs`; NOTHING (no disk walks) when there are none. */
export function allowGlobs(globs: string[]): Allow {
  return globs.length === 0 ? NOTHING : (p) => pathAllowed(p, globs);
}

/** werf's `.Files`: paths relative to the project dir, content from git unless `allow`ed. */
export function makeWerfFiles(files: ProjectFiles, allow: Allow): WerfFiles {
  return {
    get(p: string): string {
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
      return b.toString('utf8');
    },
    glob(pattern: string): Record<string, string> {
      const out: Record<string, string> = {};
      const pat = pattern.replace(/^\.\//, '').replace(/^\/+/, '');
      for (const p of files.listFiles(allow)) {
        if (minimatch(p, pat, { dot: true })) {
          const b = files.read(p, allow);
          if (b !== undefined) out[p] = b.toString('utf8');
        }
      }
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
