/**
 * Stapelkit's Go text/template engine for werf.yaml: renders werf.yaml with Sprig and werf's
 * functions the way werf does (see werf-semantics §2), and maps template errors to StapelkitError
 * with the template file, line and column.
 */
import { StapelkitError } from '../errors';
import { goRunes } from './bytes';
import { builtinFuncs } from './builtins';
import { ExecError, OriginLog, TemplateSet, Writer } from './exec';
import { ParseError, Tree } from './parse';
import { sprigFuncs } from './sprig';
import { GoError, GoMap, Value } from './value';
import { WerfFiles, WerfFuncOptions, installWerfFuncs, werfRootData } from './werf';

export type { WerfFiles } from './werf';

export interface RenderWerfOptions extends WerfFuncOptions {
  main: { name: string; text: string }; // name as shown in errors, e.g. 'werf.yaml'
  /** .werf/**\/*.tmpl; name = path relative to .werf; file (optional) = repo path shown in errors, default `.werf/<name>`. */
  templates: { name: string; text: string; file?: string }[];
  files: WerfFiles;
  /** HEAD commit: hash, author date and the author's UTC offset in minutes (git's %ai/%aI zone; default 0). */
  commit: { hash: string; date: Date; tzOffsetMinutes?: number };
  envName: string; // .Env
}

export interface RenderResult {
  text: string;
  /** For each output line (0-based index), the template file+line that produced its first character. */
  lineMap: { file: string; line: number }[];
}

/** The root template's name, as werf names it (`template.New("werfConfig")`). */
export const ROOT_TEMPLATE = 'werfConfig';

/** Build the template set with text/template builtins, Sprig (minus expandenv) and werf's functions. */
export function newWerfTemplateSet(o: WerfFuncOptions): TemplateSet {
  const set = new TemplateSet();
  for (const [k, v] of builtinFuncs()) set.funcs.set(k, v);
  for (const [k, v] of sprigFuncs()) set.funcs.set(k, v);
  installWerfFuncs(set, o);
  return set;
}

/** Render werf.yaml: partials first (sorted by name), then werf.yaml as `werfConfig`, executed with .Files/.Env/.Commit. */
export function renderWerfConfig(opts: RenderWerfOptions & { extraData?: GoMap }): RenderResult {
  const set = newWerfTemplateSet(opts);
  const templates = [...opts.templates].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // template name → the file shown to users; a name not in here came from a `tpl` string
  const files = new Map([[ROOT_TEMPLATE, opts.main.name], ...opts.templates.map((t): [string, string] => [t.name, t.file ?? `.werf/${t.name}`])]);
  const fileOf = (parseName: string) => files.get(parseName) ?? parseName;
  const isKnown = (parseName: string) => files.has(parseName);
  const w = new Writer(true);
  set.origins = new OriginLog((tree) => isKnown(tree.parseName));
  try {
    for (const t of templates) set.parse(t.name, t.text);
    set.parse(ROOT_TEMPLATE, opts.main.text);
    const data = werfRootData(opts.files, opts.envName, opts.commit);
    if (opts.extraData) for (const e of opts.extraData.m.values()) data.set(e.k, e.v);
    set.execute(ROOT_TEMPLATE, data as Value, w, ROOT_TEMPLATE);
  } catch (e) {
    throw toStapelkitError(e, fileOf, isKnown);
  }
  const text = w.text();
  return { text, lineMap: buildLineMap(text, w, fileOf) };
}

function buildLineMap(text: string, w: Writer, fileOf: (n: string) => string): { file: string; line: number }[] {
  const nLines = text.split('\n').length;
  const out: { file: string; line: number }[] = [];
  for (const e of w.lineMap) out.push({ file: fileOf(e.tree.parseName), line: e.tree.lineOf(e.pos) });
  while (out.length < nLines) out.push(out.length > 0 ? out[out.length - 1] : { file: fileOf(ROOT_TEMPLATE), line: 1 });
  return out.slice(0, nLines);
}

/** Messages are text for a terminal: a byte that is not UTF-8 shows as U+FFFD (as it would in Go's output). */
function toStapelkitError(e: unknown, fileOf: (n: string) => string, isKnownTemplate: (n: string) => boolean): unknown {
  if (e instanceof ExecError) {
    // Point at the innermost failing template file (inside include); a `tpl` string has no file, so
    // its errors point at the tpl call. The message keeps the whole chain.
    const known = (x: ExecError | undefined) => x !== undefined && x.tree !== null && isKnownTemplate(x.tree.parseName);
    const at = known(e.inner) ? e.inner! : e;
    const tree: Tree | null = at.tree;
    let pos: { file: string; line?: number; column?: number } | undefined;
    if (tree && at.pos !== null) {
      const loc = tree.location(at.pos);
      pos = { file: fileOf(tree.parseName), line: loc.line, column: loc.col + 1 };
    } else if (tree) pos = { file: fileOf(tree.parseName) };
    const code = e.code ?? 'TEMPLATE_EXEC';
    return new StapelkitError(code, collapseRepeatedCalls(goRunes(e.message)), { pos, cause: e });
  }
  if (e instanceof ParseError) {
    return new StapelkitError('TEMPLATE_PARSE', goRunes(e.message), { pos: { file: fileOf(e.parseName), line: e.line }, cause: e });
  }
  if (e instanceof GoError) return new StapelkitError('TEMPLATE_EXEC', goRunes(e.message), { cause: e });
  return e;
}

const CALL_SEP = /(: error calling (?:include|tpl|include_debug|tpl_debug): )/;

/**
 * An include/tpl recursion nests one "error calling include" frame per level (200 of them): keep
 * the chain's start, show the repeating cycle once with its count, then the innermost error.
 */
export function collapseRepeatedCalls(message: string): string {
  const parts = message.split(CALL_SEP);
  // parts: frame, sep, frame, sep, …, innermost error
  const frames: string[] = [];
  for (let i = 0; i < parts.length - 1; i += 2) frames.push(parts[i] + parts[i + 1]);
  const last = parts[parts.length - 1];
  let out = '';
  for (let i = 0; i < frames.length; ) {
    let best = { period: 0, times: 1 };
    for (let p = 1; p <= 8 && i + 2 * p <= frames.length; p++) {
      let times = 1;
      while (i + (times + 1) * p <= frames.length && frames.slice(i + times * p, i + (times + 1) * p).every((f, k) => f === frames[i + k])) times++;
      if (times >= 3 && times * p > best.times * best.period) best = { period: p, times };
    }
    if (best.period === 0) {
      out += frames[i];
      i++;
      continue;
    }
    out += frames.slice(i, i + best.period).join('') + `[the ${best.period === 1 ? 'call above repeats' : `${best.period} calls above repeat`} ${best.times} times: a template includes itself] `;
    i += best.period * best.times;
  }
  return out + last;
}

export { TemplateSet, Writer } from './exec';
export { GoMap, GoList, GoInt } from './value';
