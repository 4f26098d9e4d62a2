/** werf.yaml front: project directory → rendered text → validated, normalised Model. */
export * from './model';
export { loadProject, renderProject, parseRendered, imageDocuments } from './project';
export type { LoadOptions, LoadedProject, RenderedProject } from './project';
export { splitDocuments } from './split';
export type { RawDoc } from './split';
export { plainRenderer, defaultRenderer } from './render';
export type { Renderer, RenderResult, RenderWerfOptions } from './render';
export type { WerfFiles } from './files';
export { imageDeps } from './validate';
export { parseGiterminism, defaultGiterminism, envAllowed, pathAllowed, GITERMINISM_PARAGRAPH } from './giterminism';
export { formatModel } from './format';
export { effectiveImageSpec } from './imagespec';
