/** `stapelkit render [IMAGE...]`: print werf.yaml after template rendering (like `werf config render`). */
import { Command } from 'commander';
import { parseDocument } from 'yaml';
import { renderProject, splitDocuments } from '../../config';
import { StapelkitError } from '../../errors';
import { ProjectFlags, addProjectOptions, projectLoadOptions } from './project-options';

/** The image names a rendered document declares (`image:`/`artifact:` string or list). */
function docImageNames(text: string): string[] {
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0) return [];
  const js = doc.toJS() as Record<string, unknown> | null;
  if (!js || typeof js !== 'object') return [];
  const v = js.image ?? js.artifact;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return [];
}

export function register(program: Command): void {
  addProjectOptions(
    program
      .command('render')
      .description('print the rendered werf.yaml (all documents, or only those of the named images)')
      .argument('[images...]', 'image names'),
  ).action((images: string[], o: ProjectFlags) => {
    const r = renderProject(projectLoadOptions(o));
    let text = r.rendered.text;
    if (images.length > 0) {
      const docs = splitDocuments(text).map((d) => ({ text: d.text, names: docImageNames(d.text) }));
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
