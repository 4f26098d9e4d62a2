/** `stapelkit render [IMAGE...]`: print werf.yaml after template rendering (like `werf config render`). */
import { Command } from 'commander';
import { imageDocuments } from '../../config';
import { loadProject, renderProject } from '../../project';
import { StapelkitError } from '../../errors';
import { ProjectFlags, addProjectOptions, projectLoadOptions } from './project-options';

export function register(program: Command): void {
  addProjectOptions(
    program
      .command('render')
      .description('print the rendered werf.yaml (all documents, or only those of the named images)')
      .argument('[images...]', 'image names'),
  ).action((images: string[], o: ProjectFlags) => {
    const opts = projectLoadOptions(o);
    let text: string;
    if (images.length === 0) {
      text = renderProject(opts).rendered.text;
    } else {
      // Like werf, picking images needs the whole configuration: its errors come first.
      const p = loadProject(opts);
      const docs = imageDocuments(p, opts.environ);
      for (const name of images) {
        if (!docs.some((d) => d.names.includes(name))) throw new StapelkitError('CONFIG_INVALID', `image "${name}" not found!`);
      }
      text = docs
        .filter((d) => d.names.some((n) => images.includes(n)))
        .map((d) => d.text.replace(/\n+$/, '\n'))
        .join('---\n');
    }
    process.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
  });
}
