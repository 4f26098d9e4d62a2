/** Project loader: opens the project's git repository and disk, renders werf.yaml and hands the text to the pure config layer. */
export { loadProject, renderProject } from './load';
export { openProjectGit } from './git-open';
export type { LoadOptions, LoadedProject, RenderedProject } from './load';
export { ProjectFiles, makeWerfFiles } from './files';
