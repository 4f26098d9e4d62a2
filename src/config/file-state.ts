/**
 * Giterminism's file-state vocabulary shared by the loader (src/project) and the builders: the
 * error code and wording for a file in a state werf refuses, and allow-lists from werf-giterminism.yaml globs.
 */
import { StapelkitError } from '../errors';
import { GITERMINISM_PARAGRAPH, pathAllowed } from './giterminism';
import { oneLine } from './yamlnode';
import type { WerfFiles } from '../template/werf';

export type { WerfFiles };

export const FILE_STATE_ERROR = 'GITERMINISM_FILE';

/** Whether a project-relative path may be read in a state other than committed. */
export type Allow = (projectRelPath: string) => boolean;

export const NOTHING: Allow = () => false;

export function fileStateError(msg: string): StapelkitError {
  return new StapelkitError(FILE_STATE_ERROR, oneLine(msg), { hint: GITERMINISM_PARAGRAPH });
}

/** Allows the project paths matching giterminism `globs`; NOTHING (no disk walks) when there are none. */
export function allowGlobs(globs: string[]): Allow {
  return globs.length === 0 ? NOTHING : (p) => pathAllowed(p, globs);
}
