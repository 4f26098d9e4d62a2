/**
 * Rendered werf.yaml text → Model, with no I/O: the step after the project loader (src/project)
 * that the frontend and tests also call on text they rendered themselves.
 */
import { Model, Warning } from './model';
import { ParsedSection, makeDocSource, parseSection } from './parse';
import { RenderResult } from './render';
import { splitDocuments } from './split';
import { assembleModel } from './validate';

/** Parse rendered text into a model (no I/O). */
export function parseRendered(
  text: string,
  mapLine: (line: number) => { file: string; line: number },
  extras: { commit: { hash: string; date: Date }; env: string; giterminism: Model['giterminism']; environ?: Record<string, string | undefined>; configFile: string; projectDirName: string },
): Model {
  const warnings: Warning[] = [];
  const sections: ParsedSection[] = [];
  for (const raw of splitDocuments(text)) {
    const { src, parseError } = makeDocSource(raw, mapLine);
    if (parseError) throw parseError;
    sections.push(parseSection(raw, src, { warnings, environ: extras.environ ?? process.env }));
  }
  return assembleModel(sections, {
    commit: { hash: extras.commit.hash, date: extras.commit.date.toISOString() },
    env: extras.env,
    giterminism: extras.giterminism,
    warnings,
    configFile: extras.configFile,
    projectDirName: extras.projectDirName,
  });
}

/** The rendered documents with the image names each declares (meta: none), as `werf config render IMAGE` picks them. */
export function imageDocuments(r: { rendered: RenderResult; mapLine(line: number): { file: string; line: number } }, environ?: Record<string, string | undefined>): { text: string; names: string[] }[] {
  return splitDocuments(r.rendered.text).map((raw) => {
    const { src, parseError } = makeDocSource(raw, r.mapLine);
    if (parseError) throw parseError;
    const section = parseSection(raw, src, { warnings: [], environ: environ ?? process.env });
    return { text: raw.text, names: section.kind === 'image' ? section.names : [] };
  });
}
