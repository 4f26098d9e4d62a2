/** `stapelkit render`: print werf.yaml after template rendering (like `werf config render`). */
import { Command } from 'commander';
import { renderProject } from '../../config';

export function register(program: Command): void {
  program
    .command('render')
    .description('print the rendered werf.yaml')
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <path>', 'werf.yaml path relative to the project directory')
    .option('--env <name>', 'environment name for .Env (default: $WERF_ENV)')
    .option('--dev', 'use tracked files of the work tree instead of the HEAD commit')
    .option('--loose-giterminism', 'do not enforce giterminism (discouraged)')
    .action((o: { dir: string; config?: string; env?: string; dev?: boolean; looseGiterminism?: boolean }) => {
      const r = renderProject({ dir: o.dir, config: o.config, env: o.env, dev: o.dev, looseGiterminism: o.looseGiterminism });
      const text = r.rendered.text;
      process.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
    });
}
