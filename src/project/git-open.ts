/**
 * The loader's git reader on its own, light module: `stapelkit build` starts the first git reads
 * before the config, template and YAML modules load, and they load while git runs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { CliGitReader, type OpenOptions } from '../git/cli';
import type { GitReader } from '../git/reader';
import { GITERMINISM_FILE } from '../config/giterminism-file';
import type { LoadOptions } from './load';

/** The project directory, resolved and checked (PROJECT_DIR when it cannot be used). */
export function projectDirOf(opts: LoadOptions): string {
  const wanted = path.resolve(opts.dir ?? process.cwd());
  try {
    const projectDir = fs.realpathSync(wanted);
    if (!fs.statSync(projectDir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    return projectDir;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : `cannot be opened (${code ?? (e as Error).message})`;
    throw new StapelkitError('PROJECT_DIR', `the project directory "${wanted}" ${why}`, { hint: 'check --dir / $WERF_DIR' });
  }
}

/** What the loader's git reader reads with its first git processes. */
export function readerOptions(opts: LoadOptions): OpenOptions {
  // The default giterminism and config files are read with the reader's first git processes.
  const preread = opts.giterminismConfig || opts.config ? [] : [GITERMINISM_FILE, 'werf.yaml', 'werf.yml'];
  return { worktree: opts.dev ?? false, status: !(opts.looseGiterminism ?? false), treeSizes: opts.headListing, preread };
}

/**
 * The git reader loadProject would open, opened without blocking the event loop (LoadOptions.git
 * for loadProject then): a build dials its daemon while git runs.
 */
export async function openProjectGit(opts: LoadOptions): Promise<GitReader> {
  return CliGitReader.openAsync(projectDirOf(opts), readerOptions(opts));
}

