/** werf.yaml front, pure: rendered text → validated, normalised Model (the loader that reads git and disk is src/project). */
export * from './model';
export { parseRendered, imageDocuments } from './rendered';
export { splitDocuments } from './split';
export type { RawDoc } from './split';
export { plainRenderer, defaultRenderer } from './render';
export type { Renderer, RenderResult, RenderWerfOptions } from './render';
export type { WerfFiles } from './file-state';
export { imageDeps } from './validate';
export { parseGiterminism, defaultGiterminism, envAllowed, pathAllowed, GITERMINISM_PARAGRAPH } from './giterminism';
export { formatModel } from './format';
export { effectiveImageSpec } from './imagespec';
