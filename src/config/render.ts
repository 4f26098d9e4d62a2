/**
 * The template engine contract as config uses it (src/template implements `renderWerfConfig`).
 * Declared here structurally so config compiles and its post-render parts can be tested on their
 * own; `defaultRenderer()` loads the engine.
 */
import { StapelkitError } from '../errors';
import { WerfFiles } from './files';

export interface RenderWerfOptions {
  main: { name: string; text: string };
  /** `.werf/**\/*.tmpl`, named by path relative to `.werf`. */
  templates: { name: string; text: string }[];
  files: WerfFiles;
  commit: { hash: string; date: Date };
  envName: string;
  lookupEnv(name: string): string | undefined;
  allowEnv(name: string): boolean;
  looseEnv?: boolean;
}

export interface RenderResult {
  text: string;
  /** Per output line (index 0 = line 1): the template file and line it came from. */
  lineMap: { file: string; line: number }[];
}

export type Renderer = (opts: RenderWerfOptions) => RenderResult;

export function defaultRenderer(): Renderer {
  let mod: { renderWerfConfig?: Renderer };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require('../template') as { renderWerfConfig?: Renderer };
  } catch (e) {
    throw new StapelkitError('TEMPLATE_UNAVAILABLE', 'the werf.yaml template engine (src/template) is not available', { cause: e });
  }
  if (typeof mod.renderWerfConfig !== 'function') {
    throw new StapelkitError('TEMPLATE_UNAVAILABLE', 'the werf.yaml template engine (src/template) does not export renderWerfConfig');
  }
  return mod.renderWerfConfig;
}

/**
 * A renderer for configurations without template actions: the text as is, line for line. Used
 * where the engine is not wanted (tests of the layers after rendering); refuses `{{`.
 */
export const plainRenderer: Renderer = (opts) => {
  const idx = opts.main.text.indexOf('{{');
  if (idx >= 0) {
    const line = opts.main.text.slice(0, idx).split('\n').length;
    throw new StapelkitError('TEMPLATE_UNAVAILABLE', 'this configuration uses template actions but was loaded without the template engine', {
      pos: { file: opts.main.name, line },
    });
  }
  const lines = opts.main.text.split('\n');
  return { text: opts.main.text, lineMap: lines.map((_, i) => ({ file: opts.main.name, line: i + 1 })) };
};
