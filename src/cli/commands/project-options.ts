/**
 * The options of every command that reads a werf project (`render`, `config`, and the coming
 * `build`, `stages`, `compile`), spelled as werf's (cmd/werf/common): each also read from its
 * `WERF_*` variable when the flag is absent, booleans parsed like werf's
 * util.GetBoolEnvironmentDefaultFalse ("1", "true", "yes" are true; anything else false).
 * `STAPELKIT_*` variables are reserved for options werf does not have (none of these).
 *
 * A new command does:
 *
 *   addProjectOptions(program.command('build')).action((o: ProjectFlags) => {
 *     const project = loadProject(projectLoadOptions(o));
 *   });
 */
import { Command } from 'commander';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LoadOptions } from '../../project';
import { StapelkitError } from '../../errors';

export interface ProjectFlags {
  dir?: string;
  config?: string;
  env?: string;
  dev?: boolean;
  looseGiterminism?: boolean;
  configTemplatesDir?: string;
  giterminismConfig?: string;
  debugTemplates?: boolean;
  configRenderPath?: string;
}

type Environ = Record<string, string | undefined>;

interface ProjectOption {
  key: keyof ProjectFlags;
  flags: string;
  /** werf's variable for the default; undefined where werf has none. */
  env?: string;
  description: string;
}

/** One table: flags, their variables and help, in werf's words where werf has them. */
export const PROJECT_OPTIONS: readonly ProjectOption[] = [
  { key: 'dir', flags: '--dir <dir>', env: 'WERF_DIR', description: 'project directory, where werf.yaml and other configuration files reside (default $WERF_DIR or the current directory)' },
  { key: 'config', flags: '--config <path>', env: 'WERF_CONFIG', description: 'custom configuration file (default $WERF_CONFIG or werf.yaml in the project directory)' },
  { key: 'configTemplatesDir', flags: '--config-templates-dir <dir>', env: 'WERF_CONFIG_TEMPLATES_DIR', description: 'custom configuration templates directory (default $WERF_CONFIG_TEMPLATES_DIR or .werf in the project directory)' },
  { key: 'giterminismConfig', flags: '--giterminism-config <path>', env: 'WERF_GITERMINISM_CONFIG', description: 'giterminism configuration file, relative to the project directory (default $WERF_GITERMINISM_CONFIG or werf-giterminism.yaml)' },
  { key: 'env', flags: '--env <name>', env: 'WERF_ENV', description: 'environment name for .Env in templates (default $WERF_ENV)' },
  { key: 'dev', flags: '--dev', env: 'WERF_DEV', description: 'development mode: tracked files of the work tree instead of the HEAD commit (default $WERF_DEV)' },
  { key: 'looseGiterminism', flags: '--loose-giterminism', env: 'WERF_LOOSE_GITERMINISM', description: 'loose werf giterminism mode restrictions (default $WERF_LOOSE_GITERMINISM)' },
  { key: 'debugTemplates', flags: '--debug-templates', env: 'WERF_DEBUG_TEMPLATES', description: 'enable debug mode for Go templates: include_debug, tpl_debug, printf_debug, dump_debug log to stderr (default $WERF_DEBUG_TEMPLATES or false)' },
  { key: 'configRenderPath', flags: '--config-render-path <path>', description: 'custom path for storing the rendered configuration file' },
];

/** werf's util.GetBoolEnvironmentDefaultFalse. */
export function werfBool(value: string | undefined): boolean {
  return value === '1' || value === 'true' || value === 'yes';
}

export function addProjectOptions(cmd: Command): Command {
  for (const o of PROJECT_OPTIONS) cmd.option(o.flags, o.description);
  return cmd;
}

/** The flags a command got, completed from the environment, as LoadOptions. Checks `--dir`. */
export function projectLoadOptions(o: ProjectFlags, environ: Environ = process.env, cwd = process.cwd()): LoadOptions {
  const pick = (key: keyof ProjectFlags): string | boolean | undefined => {
    const flag = o[key];
    if (flag !== undefined) return flag;
    const env = PROJECT_OPTIONS.find((p) => p.key === key)?.env;
    if (env === undefined) return undefined;
    const value = environ[env];
    if (!PROJECT_OPTIONS.find((p) => p.key === key)!.flags.includes('<')) return werfBool(value);
    return value === '' ? undefined : value;
  };
  const str = (key: keyof ProjectFlags) => pick(key) as string | undefined;
  const bool = (key: keyof ProjectFlags) => pick(key) as boolean;
  const dirFlag = str('dir');
  const dir = path.resolve(cwd, dirFlag ?? '.');
  checkProjectDir(dir, dirFlag !== undefined && o.dir === undefined ? '$WERF_DIR' : '--dir');
  // werf resolves --config, --config-templates-dir and --config-render-path against the working
  // directory (util.GetAbsoluteFilepath); --giterminism-config stays relative to the project dir.
  const fromCwd = (v: string | undefined) => (v === undefined ? undefined : path.resolve(cwd, v));
  const renderPath = fromCwd(str('configRenderPath'));
  const templatesDir = fromCwd(str('configTemplatesDir'));
  const config = fromCwd(str('config'));
  return {
    dir,
    ...(config !== undefined ? { config } : {}),
    env: str('env') ?? '',
    dev: bool('dev'),
    looseGiterminism: bool('looseGiterminism'),
    ...(templatesDir !== undefined ? { templatesDir } : {}),
    ...(str('giterminismConfig') !== undefined ? { giterminismConfig: str('giterminismConfig') } : {}),
    debugTemplates: bool('debugTemplates'),
    ...(renderPath !== undefined ? { configRenderPath: renderPath } : {}),
    environ,
  };
}

function checkProjectDir(dir: string, via: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new StapelkitError('PROJECT_DIR', code === 'ENOENT' ? `the project directory "${dir}" does not exist` : `cannot open the project directory "${dir}": ${code ?? (e as Error).message}`, {
      hint: `check ${via}`,
    });
  }
  if (!st.isDirectory()) throw new StapelkitError('PROJECT_DIR', `the project directory "${dir}" is not a directory`, { hint: `check ${via}` });
}
