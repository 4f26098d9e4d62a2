/** `stapelkit config`: print the validated, normalised model of every image. */
import { Command } from 'commander';
import { formatModel, loadProject } from '../../config';

export function register(program: Command): void {
  program
    .command('config')
    .description('validate werf.yaml and print the normalised model')
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <path>', 'werf.yaml path relative to the project directory')
    .option('--env <name>', 'environment name for .Env (default: $WERF_ENV)')
    .option('--dev', 'use tracked files of the work tree instead of the HEAD commit')
    .option('--loose-giterminism', 'do not enforce giterminism (discouraged)')
    .option('--config-templates-dir <dir>', 'templates directory relative to the project directory', '.werf')
    .option('--giterminism-config <path>', 'werf-giterminism.yaml path relative to the project directory')
    .option('--json', 'print the model as JSON')
    .action((o: { dir: string; config?: string; env?: string; dev?: boolean; looseGiterminism?: boolean; configTemplatesDir?: string; giterminismConfig?: string; json?: boolean }) => {
      const { model } = loadProject({ dir: o.dir, config: o.config, env: o.env, dev: o.dev, looseGiterminism: o.looseGiterminism, templatesDir: o.configTemplatesDir, giterminismConfig: o.giterminismConfig });
      if (o.json) process.stdout.write(JSON.stringify(model, null, 2) + '\n');
      else {
        process.stdout.write(formatModel(model));
        for (const w of model.warnings) {
          const p = w.pos;
          process.stderr.write(`warning: ${p ? `${p.file}:${p.line}:${p.column}: ${p.keyPath ? p.keyPath + ': ' : ''}` : ''}${w.message}\n`);
        }
      }
    });
}
