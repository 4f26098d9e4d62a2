/**
 * werf's additions to the function map (pkg/config/parser.go): include, tpl, required, env (gated by
 * giterminism), fromYaml, toYaml and the debug helpers; plus the root data `.Files`, `.Env`, `.Commit`.
 */
import { adler32 } from './sprig';
import { TemplateSet, Writer } from './exec';
import { ParseError } from './parse';
import { GoError, GoFunc, GoMap, GoStruct, Value } from './value';
import { goQuote, sprintValue, sprintf } from './fmt';
import { goString } from './bytes';
import { fromYamlV2, toYamlV2 } from './yaml';
import { timeString } from './gotime';
import { GoTime } from './value';

/** File contents are bytes (a string is taken as UTF-8 text); they become Go strings as they are. */
export interface WerfFiles {
  get(path: string): Uint8Array | string;
  /** Matches of a glob; werf fails when there are none (the engine reports that). */
  glob(pattern: string): Record<string, Uint8Array | string>;
  exists(path: string): boolean;
  isDir(path: string): boolean;
}

export interface WerfFuncOptions {
  lookupEnv(name: string): string | undefined; // OS environment
  allowEnv(name: string): boolean; // giterminism gate for `env`
  looseEnv?: boolean;
  /** werf's --debug-templates: the *_debug functions log what they see through debugLog. */
  debugTemplates?: boolean;
  debugLog?: (text: string) => void;
}

const giterminismTail =
  "\n\nTo provide a strong guarantee of reproducibility, werf reads the configuration and build's context files from the project git repository, and eliminates external dependencies. We strongly recommend following this approach, but if necessary, you can allow the reading of specific files directly from the file system and enable the features that require careful use. Read more about giterminism and how to manage it here: https://werf.io/documentation/usage/project_configuration/giterminism.html.";

/** Marks errors raised by the `env` gate so the caller can give them the TEMPLATE_ENV code. */
export class EnvGateError extends GoError {
  override code = 'TEMPLATE_ENV';
}

export function installWerfFuncs(set: TemplateSet, o: WerfFuncOptions): void {
  const f = set.funcs;
  f.delete('expandenv');
  const exec = (name: string, data: Value): string => {
    const w = new Writer(set.origins !== null);
    set.execute(name, data, w, 'werfConfig');
    const text = w.text();
    set.origins?.record(text, w.lineMap);
    return text;
  };
  f.set(
    'fromYaml',
    new GoFunc('fromYaml', ['string'], (s) => fromYamlV2(s as string), { ret: 'map[string]interface {}' }),
  );
  f.set('toYaml', new GoFunc('toYaml', ['interface {}'], (v) => toYamlV2(v), { ret: 'string' }));
  f.set('include', new GoFunc('include', ['string', 'interface {}'], (name, data) => exec(name as string, data), { ret: 'string' }));
  const addTpl = (content: string): string => {
    const name = `tpl-${adler32(content)}`;
    try {
      set.parse(name, content);
    } catch (e) {
      // a parse error of the tpl string is the tpl function's error
      if (e instanceof ParseError) throw new GoError(e.message);
      throw e;
    }
    return name;
  };
  f.set('tpl', new GoFunc('tpl', ['string', 'interface {}'], (content, data) => exec(addTpl(content as string), data), { ret: 'string' }));
  f.set(
    'required',
    new GoFunc(
      'required',
      ['string', 'interface {}'],
      (msg, val) => {
        if (val === null || val === undefined || val === '') throw new GoError(msg as string);
        return val;
      },
      { ret: 'interface {}' },
    ),
  );
  f.set(
    'env',
    new GoFunc(
      'env',
      ['interface {}'],
      (value, ...args) => {
        if (args.length > 1) throw new GoError('more than 1 optional argument prohibited');
        const name = value === undefined || value === null ? '<nil>' : sprintValue(value);
        if (!o.looseEnv && !o.allowEnv(name)) {
          throw new EnvGateError(
            `the configuration with potential external dependency found in the werf config: env name '${name}' not allowed` + giterminismTail,
          );
        }
        const fallback = args.length === 1 ? (args[0] as string) : undefined;
        const v = o.lookupEnv(name);
        if (v === undefined) {
          if (fallback !== undefined) return fallback;
          if (!o.looseEnv) throw new EnvGateError(`the environment variable ${JSON.stringify(name)} must be set or default must be provided`);
          return '';
        }
        if (v === '' && fallback !== undefined) return fallback;
        return v;
      },
      { variadic: 'string', ret: 'string' },
    ),
  );
  // Debug helpers: silent without --debug-templates (they return ""); with it they log like werf's
  // (pkg/config/parser.go: "-- <func> … result:\n<text>\n\n") and the include/tpl ones return
  // the result. dump_debug shows the value as %v, not go-spew's dump.
  const log = o.debugTemplates ? (o.debugLog ?? (() => undefined)) : null;
  f.set(
    'tpl_debug',
    new GoFunc(
      'tpl_debug',
      ['string', 'interface {}'],
      (content, data) => {
        const name = addTpl(content as string);
        if (!log) return '';
        log(`-- tpl_debug ${goQuote(name)} content:\n${content as string}\n\n`);
        const result = exec(name, data);
        log(`-- tpl_debug ${goQuote(name)} result:\n${result}\n\n`);
        return result;
      },
      { ret: 'string' },
    ),
  );
  f.set(
    'include_debug',
    new GoFunc(
      'include_debug',
      ['string', 'interface {}'],
      (name, data) => {
        if (!log) return '';
        const result = exec(name as string, data);
        log(`-- include_debug template ${goQuote(name as string)} result:\n${result}\n\n`);
        return result;
      },
      { ret: 'string' },
    ),
  );
  f.set(
    'printf_debug',
    new GoFunc(
      'printf_debug',
      ['string'],
      (format, ...args) => {
        if (log) log(`-- printf_debug format ${goQuote(format as string)} result:\n${sprintf(format as string, args)}\n\n`);
        return '';
      },
      { variadic: 'interface {}', ret: 'string' },
    ),
  );
  f.set(
    'dump_debug',
    new GoFunc(
      'dump_debug',
      ['interface {}'],
      (v) => {
        if (log) log(`-- dump_debug result:\n${sprintValue(v)}\n\n`);
        return '';
      },
      { ret: 'string' },
    ),
  );
}

const content = (c: Uint8Array | string): string => (typeof c === 'string' ? c : goString(c));

/** The `.Files` object: methods that panic (→ template error) when the file reader fails. */
export function filesStruct(files: WerfFiles): GoStruct {
  // A failing file reader panics inside the template in werf; keep the reader's error code (e.g. a
  // giterminism refusal from the config layer) so the caller can report it as such.
  const wrap = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof GoError) throw e;
      const ge = new GoError(e instanceof Error ? e.message : String(e), { cause: e });
      const code = (e as { code?: unknown }).code;
      if (typeof code === 'string') ge.code = code;
      throw ge;
    }
  };
  return new GoStruct('config.files', {
    Get: new GoFunc('Get', ['string'], (p) => wrap(() => content(files.get(p as string))), { ret: 'string' }),
    Glob: new GoFunc(
      'Glob',
      ['string'],
      (p) =>
        wrap(() => {
          const m = new GoMap('string', 'interface {}');
          for (const [k, v] of Object.entries(files.glob(p as string))) m.set(k, content(v));
          // werf v2 (pkg/config/parser.go doGlob): an empty result is an error
          if (m.size === 0) throw new GoError(`{{ .Files.Glob ${goQuote(p as string)} }}: no matches found`);
          return m;
        }),
      { ret: 'map[string]interface {}' },
    ),
    Exists: new GoFunc('Exists', ['string'], (p) => wrap(() => files.exists(p as string)), { ret: 'bool' }),
    IsDir: new GoFunc('IsDir', ['string'], (p) => wrap(() => files.isDir(p as string)), { ret: 'bool' }),
  });
}

/**
 * Root data: `.Files`, `.Env`, `.Commit.Hash`, `.Commit.Date.{Human,Unix}`. werf takes the HEAD
 * commit's author time from go-git, which carries the author's UTC offset as an unnamed fixed zone,
 * so Human reads e.g. "2024-03-05 15:07:09 +0100 +0100" ("+0000 +0000" for UTC).
 */
export function werfRootData(files: WerfFiles, envName: string, commit: { hash: string; date: Date; tzOffsetMinutes?: number }): GoMap {
  const ms = commit.date.getTime();
  const zone = `fixed:${commit.tzOffsetMinutes ?? 0}`;
  const date = new GoMap('string', 'string')
    .set('Human', timeString(new GoTime(Math.floor(ms / 1000) * 1000, 0, zone)))
    .set('Unix', String(Math.floor(ms / 1000)));
  const c = new GoMap('string', 'interface {}').set('Hash', commit.hash).set('Date', date);
  return new GoMap('string', 'interface {}').set('Files', filesStruct(files)).set('Env', envName).set('Commit', c);
}

