/** `stapelkit config`: print the validated, normalised model of every image. */
import { Command } from 'commander';
import { formatModel } from '../../config';
import { loadProject } from '../../project';
import { formatPos } from '../../errors';
import { ProjectFlags, addProjectOptions, projectLoadOptions } from './project-options';

export function register(program: Command): void {
  addProjectOptions(program.command('config').description('validate werf.yaml and print the normalised model'))
    .option('--json', 'print the model as JSON')
    .action((o: ProjectFlags & { json?: boolean }) => {
      const { model } = loadProject(projectLoadOptions(o));
      if (o.json) process.stdout.write(JSON.stringify(model, null, 2) + '\n');
      else {
        process.stdout.write(formatModel(model));
        for (const w of model.warnings) process.stderr.write(`warning: ${w.pos ? formatPos(w.pos) : ''}${w.message}\n`);
      }
    });
}
