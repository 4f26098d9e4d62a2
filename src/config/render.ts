/**
 * The template engine contract as config uses it (src/template implements `renderWerfConfig`).
 * Declared here structurally (the engine's own types are compatible) so the layers after rendering
 * can be tested with `plainRenderer`; `defaultRenderer()` is the engine.
 */
import { StapelkitError } from '../errors';
import { renderWerfConfig } from '../template';
import type { WerfFiles } from './file-state';

export interface RenderWerfOptions {
  main: { name: string; text: string };
  /** `.werf/**\/*.tmpl`, named by path relative to `.werf`. */
  templates: { name: string; text: string; file?: string }[];
  files: WerfFiles;
  commit: { hash: string; date: Date; tzOffsetMinutes?: number };
  envName: string;
  lookupEnv(name: string): string | undefined;
  allowEnv(name: string): boolean;
  looseEnv?: boolean;
  /** werf's --debug-templates: include_debug/tpl_debug/printf_debug/dump_debug log via debugLog. */
  debugTemplates?: boolean;
  debugLog?: (text: string) => void;
}

export interface RenderResult {
  text: string;
  /** Per output line (index 0 = line 1): the file (project-relative, as shown in errors) and line it came from. */
  lineMap: { file: string; line: number }[];
}

export type Renderer = (opts: RenderWerfOptions) => RenderResult;

export function defaultRenderer(): Renderer {
  return renderWerfConfig;
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
