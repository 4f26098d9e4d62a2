/** The options every command that reads a werf project takes (as werf's `--dir`, `--env`, `--dev`, …). */
import { Command } from 'commander';
import { LoadOptions } from '../../config';

export interface ProjectFlags {
  dir: string;
  config?: string;
  env?: string;
  dev?: boolean;
  looseGiterminism?: boolean;
  configTemplatesDir?: string;
  giterminismConfig?: string;
}

export function addProjectOptions(cmd: Command): Command {
  return cmd
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <path>', 'werf.yaml path relative to the project directory')
    .option('--env <name>', 'environment name for .Env (default: $WERF_ENV)')
    .option('--dev', 'use tracked files of the work tree instead of the HEAD commit')
    .option('--loose-giterminism', 'do not enforce giterminism (discouraged)')
    .option('--config-templates-dir <dir>', 'templates directory relative to the project directory', '.werf')
    .option('--giterminism-config <path>', 'werf-giterminism.yaml path relative to the project directory');
}

export function projectLoadOptions(o: ProjectFlags): LoadOptions {
  return {
    dir: o.dir,
    config: o.config,
    env: o.env,
    dev: o.dev,
    looseGiterminism: o.looseGiterminism,
    templatesDir: o.configTemplatesDir,
    giterminismConfig: o.giterminismConfig,
  };
}
