/**
 * One YAML document → one section of the model: meta, Stapel image (or legacy artifact) or
 * Dockerfile image. Checks that need only the section itself live here; checks across images
 * (references, cycles, name conflicts) are in `validate.ts`.
 */
import * as path from 'node:path';
import { Composer, Document, LineCounter, Parser, YAMLParseError } from 'yaml';
import { StapelkitError } from '../errors';
import { isOutside } from '../git/reader';
import { YamlViolation, aliasTargets, checkAliasExpansion, checkCstDepth, checkYamlChars, lineColAt } from '../util/yaml-limits';
import { cleanPath } from '../util/gopath';
import { CONFIG_YAML_OPTIONS, fastParseDocument } from './fastyaml';
import {
  DEPENDENCY_IMPORT_TYPES,
  Dependency,
  DependencyImportType,
  DockerDirective,
  DockerfileImage,
  GitMapping,
  ImageSpec,
  Import,
  ImportSource,
  Meta,
  Mount,
  Pos,
  Secret,
  Shell,
  StapelImage,
  USER_STAGES,
  UserStage,
  Warning,
} from './model';
import { emptyImageSpec } from './imagespec';
import { RawDoc } from './split';
import { goSprintYaml } from './gofmt';
import {
  At,
  CONFIG_ERROR,
  DocSource,
  Entry,
  bool,
  describe,
  entries,
  fields,
  int,
  isAbsent,
  optBool,
  optStr,
  posAt,
  seqItems,
  str,
  strList,
  strMap,
  strOrList,
  toPlain,
  yamlErrorMessage,
} from './yamlnode';

export interface ParsedMeta {
  kind: 'meta';
  project: string;
  configVersion: 1;
  meta: Meta;
  at: At;
}

/** An image section before cross-image resolution: `from` not yet classified. */
export interface ParsedImage {
  kind: 'image';
  names: string[];
  nameless: boolean;
  image: Omit<StapelImage, 'name' | 'base'> & { rawBase: RawBase } | Omit<DockerfileImage, 'name'>;
  at: At;
  /** Key positions, for cross-image errors. */
  refs: Ref[];
}

export interface RawBase {
  directive: 'from' | 'fromImage' | 'fromArtifact';
  value: string;
  pos: Pos;
  at: At;
}

/** A reference to another image of the config, kept for validation. */
export interface Ref {
  kind: 'image' | 'artifact' | 'image-or-external';
  name: string;
  at: At;
  /** Why: `fromImage`, `import`, `dependency`… */
  via: string;
}

export type ParsedSection = ParsedMeta | ParsedImage;

export interface ParseContext {
  warnings: Warning[];
  environ: Record<string, string | undefined>;
}

const PROJECT_RE = /^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

/** yaml's parseDocument after its parse step: the first document, MULTIPLE_DOCS on a second. */
function composeOne(tokens: Parameters<Composer['compose']>[0], length: number): Document {
  // werf parses with yaml.v2 (YAML 1.1: `yes`/`on` are booleans, `0777` is octal)
  const composer = new Composer(CONFIG_YAML_OPTIONS);
  let doc: Document | undefined;
  for (const d of composer.compose(tokens, true, length)) {
    if (!doc) doc = d as Document;
    else {
      doc.errors.push(new YAMLParseError(d.range.slice(0, 2) as [number, number], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'));
      break;
    }
  }
  return doc!;
}

export function makeDocSource(raw: RawDoc, mapLine: DocSource['mapLine']): { src: DocSource; parseError?: StapelkitError } {
  const lineCounter = new LineCounter();
  const yamlError = (v: YamlViolation, pos: Pos) =>
    new StapelkitError('CONFIG_YAML', `YAML: ${v.message}`, { pos: { ...pos, keyPath: `document #${raw.index}` }, hint: v.hint });
  const textPos = (offset: number): Pos => {
    const lc = lineColAt(raw.text, offset);
    const mapped = mapLine(raw.startLine + lc.line);
    return { file: mapped.file, line: mapped.line, column: lc.column };
  };
  // Limits first: the characters YAML allows, and a nesting depth the recursive composer survives.
  // The CST is parsed once: the depth check walks it, then the composer builds the document from it.
  let early = checkYamlChars(raw.text);
  if (!early) {
    // Plain block YAML (most werf.yaml documents): the same nodes without the package's lexer.
    const fast = fastParseDocument(raw.text);
    if (fast) return { src: { doc: fast.doc, lineCounter: fast.lineCounter, startLine: raw.startLine, mapLine, aliases: new Map() } };
  }
  const tokens = early ? [] : Array.from(new Parser(lineCounter.addNewLine).parse(raw.text));
  early ??= checkCstDepth(tokens);
  if (early) {
    const src: DocSource = { doc: new Document(null), lineCounter: new LineCounter(), startLine: raw.startLine, mapLine };
    return { src, parseError: yamlError(early, textPos(early.offset)) };
  }
  const doc = composeOne(tokens, raw.text.length);
  const aliases = aliasTargets(doc as Document);
  const src: DocSource = { doc: doc as Document, lineCounter, startLine: raw.startLine, mapLine, aliases };
  const err = doc.errors[0];
  if (err) {
    const pos = posAt(src, err.pos[0]);
    let message = yamlErrorMessage(err);
    if (err.code === 'DUPLICATE_KEY') {
      const key = /^[^:\n]*/.exec(raw.text.slice(err.pos[0]))![0].trim();
      message = `duplicate key \`${key}\`: map keys must be unique`;
    }
    return { src, parseError: new StapelkitError('CONFIG_YAML', `YAML: ${message}`, { pos: { ...pos, keyPath: `document #${raw.index}` } }) };
  }
  // The walk below resolves aliases itself: refuse what yaml.v2's decoder refuses before it expands them.
  const bomb = checkAliasExpansion(doc as Document, aliases);
  if (bomb) return { src, parseError: yamlError(bomb, posAt(src, bomb.offset)) };
  return { src };
}

export function parseSection(raw: RawDoc, src: DocSource, ctx: ParseContext): ParsedSection {
  const contents = src.doc.contents as At['node'];
  const root = new At(src, `document #${raw.index}`, [], contents, 0);
  if (!root.node || describe(root.node) !== 'a mapping') {
    throw root.error(`a config section must be a mapping, got ${describe(root.node)}`);
  }
  const keys = new Set(entries(root).map((e) => e.key));
  if (keys.has('configVersion')) return parseMeta(root.withPath('meta'), ctx);
  if (keys.has('dockerfile')) return parseDockerfileImage(root, ctx);
  if (keys.has('image') || keys.has('artifact')) return parseStapelImage(root, ctx);
  throw root.error(
    'cannot recognize type of config section (part of YAML stream separated by three hyphens): ' +
      "'configVersion' required for meta config section; 'image' required for the image config sections; 'artifact' required for the artifact config sections",
  );
}

// ---------------------------------------------------------------------------------------------
// meta

const META_KEYS = ['configVersion', 'project', 'build', 'deploy', 'cleanup', 'gitWorktree'];
const BUILD_KEYS = ['cacheVersion', 'platform', 'staged', 'imageSpec'];

function parseMeta(at: At, ctx: ParseContext): ParsedMeta {
  const f = fields(at, META_KEYS);
  const cv = f.get('configVersion')!;
  if (isAbsent(cv) || str(cv.value) !== '1') {
    throw (cv && !cv.value.isNull() ? cv.value : at).error("'configVersion: 1' field required!");
  }
  const pe = f.get('project');
  let project = optStr(pe) ?? '';
  const override = ctx.environ.WERF_PROJECT_NAME;
  if (override) project = override;
  const projAt = pe && !pe.value.isNull() ? pe.value : at;
  if (project === '') throw projAt.error("'project' field cannot be empty!");
  if (project.length > 50 || !PROJECT_RE.test(project)) {
    throw projAt.error(
      `project name "${project}" is not valid: it must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 50 characters long`,
      override ? 'the value comes from $WERF_PROJECT_NAME' : undefined,
    );
  }
  const meta: Meta = {
    pos: at.pos,
    build: { platform: [], staged: false },
    gitWorktree: { forceShallowClone: false, allowUnshallow: true, allowFetchOriginBranchesAndTags: true },
  };
  const be = f.get('build');
  if (!isAbsent(be)) {
    const bf = fields(be.value, BUILD_KEYS);
    const cacheVersion = optStr(bf.get('cacheVersion'));
    if (cacheVersion !== undefined) meta.build.cacheVersion = cacheVersion;
    const pl = bf.get('platform');
    if (!isAbsent(pl)) meta.build.platform = platformList(pl.value);
    meta.build.staged = optBool(bf.get('staged'), false);
    const is = bf.get('imageSpec');
    if (!isAbsent(is)) meta.build.imageSpec = parseImageSpec(is.value, true);
  }
  const gw = f.get('gitWorktree');
  if (!isAbsent(gw)) {
    const gf = fields(gw.value, ['forceShallowClone', 'allowUnshallow', 'allowFetchOriginBranchesAndTags']);
    meta.gitWorktree.forceShallowClone = optBool(gf.get('forceShallowClone'), false);
    meta.gitWorktree.allowUnshallow = optBool(gf.get('allowUnshallow'), true);
    meta.gitWorktree.allowFetchOriginBranchesAndTags = optBool(gf.get('allowFetchOriginBranchesAndTags'), true);
  }
  for (const k of ['deploy', 'cleanup'] as const) {
    const e = f.get(k);
    if (!isAbsent(e)) {
      if (describe(e.value.node) !== 'a mapping') throw e.value.error(`expected a mapping, got ${describe(e.value.node)}`);
      meta[k] = toPlain(e.value);
    }
  }
  return { kind: 'meta', project, configVersion: 1, meta, at };
}

const PLATFORM_RE = /^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/i;

function platformList(at: At): string[] {
  const items = strList(at);
  seqItems(at).forEach((item, i) => {
    if (!PLATFORM_RE.test(items[i])) throw item.error(`invalid platform "${items[i]}": expected os/arch[/variant], e.g. linux/amd64`);
  });
  return items;
}

// ---------------------------------------------------------------------------------------------
// image names

function imageNames(at: At, e: Entry, kind: 'image' | 'artifact'): { names: string[]; nameless: boolean } {
  const v = e.value;
  if (v.isNull()) {
    if (kind === 'artifact') throw v.error('unknown doc type: one and only one of `image: NAME` or `artifact: NAME` non-empty name required!');
    return { names: [''], nameless: true };
  }
  const d = describe(v.node);
  if (d.startsWith('a string')) {
    const name = str(v);
    if (name === '' && kind === 'artifact') throw v.error('unknown doc type: one and only one of `image: NAME` or `artifact: NAME` non-empty name required!');
    return { names: [name], nameless: name === '' };
  }
  if (d === 'a list' && kind === 'image') {
    const items = seqItems(v);
    if (items.length === 0) throw v.error('invalid image name: the list of names is empty');
    const names = items.map((item) => {
      if (!describe(item.node).startsWith('a string') || str(item) === '') throw item.error(`invalid image name: expected a non-empty string, got ${describe(item.node)}`);
      return str(item);
    });
    return { names, nameless: false };
  }
  throw v.error(`invalid ${kind} name: expected ${kind === 'image' ? 'a string, a list of strings or ~' : 'a string'}, got ${d}`);
}

const NAMELESS_DEPRECATED = 'the nameless image (`image: ~`) is deprecated: give the image a name';

function sectionLabel(kind: 'image' | 'artifact', names: string[], nameless: boolean): string {
  if (nameless) return `${kind} ~`;
  return `${kind} ${names.map((n) => JSON.stringify(n)).join(', ')}`;
}

// ---------------------------------------------------------------------------------------------
// Stapel

const STAPEL_KEYS = [
  'image',
  'artifact',
  'final',
  'cacheVersion',
  'from',
  'fromLatest',
  'fromCacheVersion',
  'fromImage',
  'fromArtifact',
  'disableGitAfterPatch',
  'git',
  'shell',
  'ansible',
  'mount',
  'docker',
  'import',
  'dependencies',
  'platform',
  'network',
  'secrets',
  'imageSpec',
];

function parseStapelImage(root: At, ctx: ParseContext): ParsedImage {
  const top = entries(root);
  const ie = top.find((e) => e.key === 'image');
  const ae = top.find((e) => e.key === 'artifact');
  if (ie && ae) throw ae.keyAt.error('unknown doc type: one and only one of `image: NAME` or `artifact: NAME` non-empty name required!');
  const kind = ie ? 'image' : 'artifact';
  const { names, nameless } = imageNames(root, (ie ?? ae)!, kind);
  const at = root.withPath(sectionLabel(kind, names, nameless));
  const f = fields(at, STAPEL_KEYS);
  const isArtifact = kind === 'artifact';
  const refs: Ref[] = [];
  if (nameless) ctx.warnings.push(warn(at, NAMELESS_DEPRECATED));
  if (isArtifact) {
    ctx.warnings.push(warn(at, 'the `artifact` directive is deprecated: use `image` with `final: false` (and `disableGitAfterPatch: true`)'));
    for (const [k, msg] of [
      ['docker', '`docker` section is not supported for artifact!'],
      ['final', '`final` directive is not supported for artifact!'],
      ['disableGitAfterPatch', '`disableGitAfterPatch` directive is not supported for artifact!'],
      ['dependencies', `dependencies directive is specified for "${names[0]}" artifact, but dependencies are not supported for artifacts!`],
    ] as const) {
      const e = f.get(k);
      if (e) throw e.keyAt.error(msg);
    }
  }

  // Base image.
  const from = optStr(f.get('from'));
  const fromImage = optStr(f.get('fromImage'));
  const fromArtifact = optStr(f.get('fromArtifact'));
  let rawBase: RawBase;
  if (fromArtifact !== undefined && (from !== undefined || fromImage !== undefined)) {
    throw f.get('fromArtifact')!.keyAt.error('conflict between `from`, `fromImage` and `fromArtifact` directives!');
  }
  if (fromImage !== undefined) {
    if (from !== undefined) {
      ctx.warnings.push(warn(f.get('from')!.keyAt, `\`from: ${from}\` is ignored: \`fromImage\` takes precedence (werf v2 behaviour; werf v3 rejects both together)`));
    }
    const e = f.get('fromImage')!;
    rawBase = { directive: 'fromImage', value: fromImage, pos: e.value.pos, at: e.value };
    refs.push({ kind: 'image', name: fromImage, at: e.value, via: 'fromImage' });
  } else if (fromArtifact !== undefined) {
    const e = f.get('fromArtifact')!;
    ctx.warnings.push(warn(e.keyAt, 'the `fromArtifact` directive is deprecated: use `fromImage` with a `final: false` image'));
    rawBase = { directive: 'fromArtifact', value: fromArtifact, pos: e.value.pos, at: e.value };
    refs.push({ kind: 'artifact', name: fromArtifact, at: e.value, via: 'fromArtifact' });
  } else if (from !== undefined && from !== '') {
    const e = f.get('from')!;
    rawBase = { directive: 'from', value: from, pos: e.value.pos, at: e.value };
    refs.push({ kind: 'image-or-external', name: from, at: e.value, via: 'from' });
  } else {
    throw at.error('`from: DOCKER_IMAGE`, `fromImage: IMAGE_NAME`, `fromArtifact: IMAGE_ARTIFACT_NAME` required!');
  }
  if ((rawBase.directive === 'fromImage' || rawBase.directive === 'fromArtifact') && rawBase.value === '') {
    throw rawBase.at.error(`\`${rawBase.directive}\` must name an ${rawBase.directive === 'fromImage' ? 'image' : 'artifact'} of this werf.yaml`);
  }
  if (rawBase.directive !== 'from' && names.includes(rawBase.value)) {
    throw rawBase.at.error('conflict between `from`, `fromImage` or `fromArtifact` and image name: image cannot reference itself!');
  }

  // Shell / ansible.
  const se = f.get('shell');
  const ane = f.get('ansible');
  if (!isAbsent(se) && !isAbsent(ane)) throw ane.keyAt.error('can not use shell and ansible builders at the same time!');
  let shell: Shell = { beforeInstall: [], install: [], beforeSetup: [], setup: [] };
  if (!isAbsent(se)) shell = parseShell(se.value);
  if (!isAbsent(ane)) {
    parseAnsible(ane.value);
    throw ane.keyAt.error(
      'the `ansible` builder is not supported yet',
      "Stapelkit builds like werf's buildah backend, which runs only `shell` instructions; rewrite these stages with `shell`",
      'CONFIG_UNSUPPORTED',
    );
  }

  const git = listOf(f.get('git'), 'git', (item) => parseGitMapping(item, ctx));
  const imports = listOf(f.get('import'), 'import', (item) => parseImport(item, refs, ctx));
  const mountItems = listAt(f.get('mount'), 'mount');
  const mounts = mountItems.map(parseMount);
  const seenMounts = new Set<string>();
  mounts.forEach((m, i) => {
    if (seenMounts.has(m.to)) throw mountItems[i].error('conflict between mounts!', `\`to: ${m.to}\` is mounted twice`);
    seenMounts.add(m.to);
  });
  let docker: DockerDirective | undefined;
  const de = f.get('docker');
  if (!isAbsent(de)) {
    docker = parseDocker(de.value);
    ctx.warnings.push(warn(de.keyAt, 'the `docker` directive is deprecated: use `imageSpec`'));
  }
  const ise = f.get('imageSpec');
  const imageSpec = isAbsent(ise) ? undefined : parseImageSpec(ise.value, false);
  if (docker && imageSpec) throw ise!.keyAt.error('`docker` directive is deprecated and can\'t be used along with `imageSpec`!');

  // werf v2 builds a user stage for stageDependencies even without commands (an empty stage that
  // rebuilds when the paths change); it warns, werf v3 refuses it.
  listAt(f.get('git'), 'git').forEach((item, i) => {
    const sd = entries(item).find((e) => e.key === 'stageDependencies');
    if (isAbsent(sd) || describe(sd.value.node) !== 'a mapping') return;
    for (const e of entries(sd.value)) {
      const st = e.key as 'install' | 'beforeSetup' | 'setup';
      if (git[i].stageDependencies[st]?.length && shell[st].length === 0) {
        ctx.warnings.push(
          warn(e.keyAt, `\`stageDependencies.${st}\` has no effect: the image has no \`shell.${st}\` commands, so a change of these paths only rebuilds an empty stage (werf v3 rejects this)`),
        );
      }
    }
  });

  const common = parseCommon(at, f, isArtifact, 'stapel', refs);
  const fromLatest = optBool(f.get('fromLatest'), false);
  if (fromLatest && rawBase.directive === 'from' && rawBase.value === 'scratch') {
    throw f.get('fromLatest')!.keyAt.error('`fromLatest` is not compatible with `from: scratch`');
  }
  const fromCacheVersion = optStr(f.get('fromCacheVersion'));
  const image: ParsedImage['image'] = {
    kind: 'stapel',
    ...common,
    imageSpec,
    rawBase,
    fromLatest,
    ...(fromCacheVersion !== undefined ? { fromCacheVersion } : {}),
    disableGitAfterPatch: isArtifact ? true : optBool(f.get('disableGitAfterPatch'), false),
    shell,
    git,
    imports,
    mounts,
    ...(docker ? { docker } : {}),
  };
  return { kind: 'image', names, nameless, image, at, refs };
}

/** The key of a present-but-null entry, else the section. */
function keyOr(e: Entry | undefined, at: At): At {
  return e ? e.keyAt : at;
}

function warn(at: At, message: string): Warning {
  return { message, pos: { ...at.pos, keyPath: at.keyPath } };
}

function listAt(e: Entry | undefined, name: string): At[] {
  if (isAbsent(e)) return [];
  if (describe(e.value.node) !== 'a list') {
    throw e.value.error(`\`${name}\` must be a list, got ${describe(e.value.node)}`, describe(e.value.node) === 'a mapping' ? 'start each item with `- `' : undefined);
  }
  return seqItems(e.value);
}

function listOf<T>(e: Entry | undefined, name: string, parse: (item: At) => T): T[] {
  return listAt(e, name).map(parse);
}

/** Keys shared by Stapel and Dockerfile images. */
function parseCommon(at: At, f: Map<string, Entry>, isArtifact: boolean, kind: 'stapel' | 'dockerfile', refs: Ref[]) {
  const final = isArtifact ? false : optBool(f.get('final'), true);
  const pl = f.get('platform');
  const platform = isAbsent(pl) ? [] : platformList(pl.value);
  const cacheVersion = optStr(f.get('cacheVersion'));
  const network = optStr(f.get('network'));
  const secretItems = listAt(f.get('secrets'), 'secrets');
  const secrets = secretItems.map(parseSecret);
  const ids = new Set<string>();
  secrets.forEach((s, i) => {
    if (ids.has(s.id)) throw secretItems[i].error(`duplicated secret "${s.id}"`);
    ids.add(s.id);
  });
  const depItems = listAt(f.get('dependencies'), 'dependencies');
  const dependencies = depItems.map((item) => parseDependency(item, kind, refs));
  // Targets must be unique across all dependencies of the image, not just within one.
  const targets = new Map<string, number>();
  dependencies.forEach((d, i) => {
    d.imports.forEach((imp, j) => {
      const target = imp.targetEnv ?? imp.targetBuildArg!;
      const prev = targets.get(target);
      if (prev !== undefined && prev !== i) {
        const key = imp.targetEnv !== undefined ? 'targetEnv' : 'targetBuildArg';
        const impAt = seqItems(entries(depItems[i]).find((e) => e.key === 'imports')!.value)[j];
        throw entries(impAt).find((e) => e.key === key)!.value.error(`duplicated dependency import \`${key}: ${target}\` (also set by dependencies[${prev}])`);
      }
      targets.set(target, i);
    });
  });
  return {
    name: '',
    isArtifact,
    final,
    platform,
    ...(cacheVersion !== undefined ? { cacheVersion } : {}),
    ...(network !== undefined ? { network } : {}),
    secrets,
    dependencies,
    pos: at.pos,
  };
}

const SHELL_KEYS = [
  ...USER_STAGES,
  'cacheVersion',
  'beforeInstallCacheVersion',
  'installCacheVersion',
  'beforeSetupCacheVersion',
  'setupCacheVersion',
] as const;

function parseShell(at: At): Shell {
  const f = fields(at, SHELL_KEYS);
  const shell: Shell = { beforeInstall: [], install: [], beforeSetup: [], setup: [], pos: at.pos };
  for (const st of USER_STAGES) {
    const e = f.get(st);
    if (!isAbsent(e)) shell[st] = strOrList(e.value);
  }
  for (const k of SHELL_KEYS.slice(4) as Exclude<(typeof SHELL_KEYS)[number], UserStage>[]) {
    const v = optStr(f.get(k));
    if (v !== undefined) shell[k] = v;
  }
  return shell;
}

function parseAnsible(at: At): void {
  const f = fields(at, SHELL_KEYS);
  for (const st of USER_STAGES) {
    const e = f.get(st);
    if (!isAbsent(e)) seqItems(e.value).forEach((task) => entries(task));
  }
  for (const k of SHELL_KEYS.slice(4)) optStr(f.get(k));
}

// ---------------------------------------------------------------------------------------------
// paths

/** The `i`-th path of a "single string or list" entry, for messages (the scalar itself when not a list). */
function itemAt(e: Entry, i: number): At {
  return describe(e.value.node) === 'a list' ? seqItems(e.value)[i] : e.value;
}

function absPath(at: At, key: string, what: string): string {
  const raw = str(at);
  const c = cleanPath(raw);
  if (!c.startsWith('/')) throw at.error(`\`${key}: PATH\` absolute path required for ${what}!`, `got "${raw}"`);
  return c;
}

/**
 * Why `pattern` is not a valid glob for werf's matcher (bmatcuk/doublestar's ValidatePattern, `/`
 * separator), or undefined when it is.
 */
export function globProblem(pattern: string): string | undefined {
  let alts = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (++i >= pattern.length) return 'trailing escape character `\\`';
    } else if (c === '[') {
      const start = i;
      if (++i < pattern.length && (pattern[i] === '^' || pattern[i] === '!')) i++;
      if (i >= pattern.length) return `unclosed character class \`[\` at offset ${start}`;
      if (pattern[i] === ']') return `empty character class at offset ${start}`;
      let closed = false;
      for (; i < pattern.length; i++) {
        if (pattern[i] === '\\') i++;
        else if (pattern[i] === ']') {
          closed = true;
          break;
        }
      }
      if (!closed) return `unclosed character class \`[\` at offset ${start}`;
    } else if (c === '{') alts++;
    else if (c === '}') {
      if (alts === 0) return `\`}\` without a matching \`{\` at offset ${i}`;
      alts--;
    }
  }
  return alts > 0 ? 'unclosed alternative `{`' : undefined;
}

function relPaths(e: Entry | undefined, key: string, globs = false): string[] {
  if (isAbsent(e)) return [];
  const list = strOrList(e.value);
  return list.map((p, i) => {
    const c = cleanPath(p);
    if (c.startsWith('/') || p === '') {
      throw itemAt(e, i).error(`\`${key}: [PATH, ...]|PATH\` should be relative paths!`, `got "${p}"`);
    }
    const bad = globs ? globProblem(p) : undefined;
    if (bad) throw itemAt(e, i).error(`invalid glob "${p}" in \`${key}\`: ${bad}`, 'werf matches these paths with doublestar globs: escape a literal `[`, `{` or `\\` with `\\`');
    return c;
  });
}

// ---------------------------------------------------------------------------------------------
// git

const GIT_KEYS = ['add', 'to', 'owner', 'group', 'includePaths', 'excludePaths', 'stageDependencies', 'url', 'branch', 'tag', 'commit', 'basicAuth'];

function parseGitMapping(at: At, ctx: ParseContext): GitMapping {
  const f = fields(at, GIT_KEYS);
  const url = optStr(f.get('url'));
  const remote = url !== undefined && url !== '';
  const refKeys = (['branch', 'tag', 'commit'] as const).filter((k) => !isAbsent(f.get(k)));
  if (!remote && refKeys.length > 0) {
    throw f.get(refKeys[0])!.keyAt.error('specify `branch: BRANCH`, `tag: TAG` and `commit: COMMIT` only for remote git!');
  }
  if (remote && refKeys.length > 1) {
    throw f.get(refKeys[1])!.keyAt.error('specify only `branch: BRANCH`, `tag: TAG` or `commit: COMMIT` for remote git!');
  }
  if (!remote && !isAbsent(f.get('basicAuth'))) throw f.get('basicAuth')!.keyAt.error('`basicAuth` can be specified only for remote git!');
  const addE = f.get('add');
  const add = isAbsent(addE) ? '/' : absPath(addE.value, 'add', 'git');
  const toE = f.get('to');
  if (isAbsent(toE)) throw keyOr(toE, at).error('`to: PATH` absolute path required for git!');
  const to = absPath(toE.value, 'to', 'git');
  const rawTo = str(toE.value);
  if (rawTo.length > 1 && rawTo.endsWith('/')) {
    ctx.warnings.push(warn(toE.value, `trailing slash in \`to: ${rawTo}\` is ignored (werf v3 rejects it)`));
  }
  const m: GitMapping = {
    type: remote ? 'remote' : 'local',
    ...(remote ? { url } : {}),
    add,
    to,
    includePaths: relPaths(f.get('includePaths'), 'includePaths', true),
    excludePaths: relPaths(f.get('excludePaths'), 'excludePaths', true),
    autoExcludePaths: [],
    stageDependencies: { install: [], beforeSetup: [], setup: [] },
    pos: at.pos,
  };
  for (const k of ['branch', 'tag', 'commit', 'owner', 'group'] as const) {
    const v = optStr(f.get(k));
    if (v !== undefined) m[k] = v;
  }
  const sd = f.get('stageDependencies');
  if (!isAbsent(sd)) {
    const sf = fields(sd.value, ['install', 'beforeSetup', 'setup']);
    for (const st of ['install', 'beforeSetup', 'setup'] as const) m.stageDependencies[st] = relPaths(sf.get(st), `stageDependencies.${st}`, true);
  }
  const ba = f.get('basicAuth');
  if (!isAbsent(ba)) {
    const bf = fields(ba.value, ['username', 'password']);
    const auth: NonNullable<GitMapping['basicAuth']> = {};
    const u = optStr(bf.get('username'));
    if (u !== undefined) auth.username = u;
    const pw = bf.get('password');
    if (!isAbsent(pw)) {
      const pf = fields(pw.value, ['env', 'src', 'value']);
      const set = (['env', 'src', 'value'] as const).filter((k) => !isAbsent(pf.get(k)));
      if (set.length !== 1) throw pw.value.error('basicAuth password: specify exactly one of `env`, `src` or `value`');
      auth.password = { [set[0]]: optStr(pf.get(set[0])) };
    }
    m.basicAuth = auth;
  }
  return m;
}

// ---------------------------------------------------------------------------------------------
// import

const IMPORT_KEYS = ['image', 'from', 'artifact', 'stage', 'before', 'after', 'add', 'to', 'owner', 'group', 'includePaths', 'excludePaths'];
const TARGET_STAGES = {
  before: { install: 'dependenciesBeforeInstall', setup: 'dependenciesBeforeSetup' },
  after: { install: 'dependenciesAfterInstall', setup: 'dependenciesAfterSetup' },
} as const;

/** A registry reference with a tag or digest (`alpine:3.18`, `x@sha256:…`), as werf decides "external". */
export function isTaggedReference(name: string): boolean {
  if (name.includes('@')) return true;
  const last = name.slice(name.lastIndexOf('/') + 1);
  return last.includes(':');
}

/** The `before:` or `after:` of an import or dependency: exactly one is required (else `missing` at `at`). */
function beforeAfter(f: Map<string, Entry>, what: string, at: At, missing: string): { before: 'install' | 'setup'; after?: undefined } | { after: 'install' | 'setup'; before?: undefined } {
  const be = f.get('before');
  const ae = f.get('after');
  if (!isAbsent(be) && !isAbsent(ae)) throw ae.keyAt.error(`specify only \`before: install|setup\` or \`after: install|setup\` for ${what}!`);
  const e = !isAbsent(be) ? be : !isAbsent(ae) ? ae : undefined;
  if (!e) throw at.error(missing);
  const v = str(e.value);
  if (v !== 'install' && v !== 'setup') throw e.value.error(`invalid \`${e.key}: ${v}\` for ${what}: expected install or setup!`);
  return e.key === 'before' ? { before: v } : { after: v };
}

function parseImport(at: At, refs: Ref[], ctx: ParseContext): Import {
  const f = fields(at, IMPORT_KEYS);
  const srcKeys = (['image', 'from', 'artifact'] as const).filter((k) => !isAbsent(f.get(k)));
  if (srcKeys.length > 1) {
    throw f.get(srcKeys[1])!.keyAt.error(
      srcKeys.includes('artifact') ? 'specify only `image: NAME` or `artifact: NAME` for import!' : 'specify only `image: NAME` or `from: NAME` for import!',
    );
  }
  if (srcKeys.length === 0) throw at.error('`image: NAME` or `artifact: NAME` required for import!');
  const srcE = f.get(srcKeys[0])!;
  const name = str(srcE.value);
  if (name === '') throw srcE.value.error(`\`${srcKeys[0]}: NAME\` required for import!`);
  let source: ImportSource;
  if (srcKeys[0] === 'artifact') {
    ctx.warnings.push(warn(srcE.keyAt, 'import from `artifact` is deprecated: use `image` with a `final: false` image'));
    source = { type: 'artifact', image: name };
    refs.push({ kind: 'artifact', name, at: srcE.value, via: 'import' });
  } else if (isTaggedReference(name)) {
    source = { type: 'external', ref: name };
  } else {
    source = { type: 'image', image: name };
    refs.push({ kind: 'image', name, at: srcE.value, via: 'import' });
  }
  const addE = f.get('add');
  if (isAbsent(addE)) throw keyOr(addE, at).error('`add: PATH` absolute path required for import!');
  const add = absPath(addE.value, 'add', 'import');
  const toE = f.get('to');
  const to = isAbsent(toE) ? add : absPath(toE.value, 'to', 'import');
  const includePaths = relPaths(f.get('includePaths'), 'includePaths', true);
  if (add === '/' && includePaths.length === 0) {
    throw addE.value.error("`add: '/'` requires not empty includePaths to interpret copy sources unambiguously");
  }
  const ba = beforeAfter(f, 'import', at, 'artifact stage is not specified with `before: install|setup` or `after: install|setup` for import!');
  const targetStage = ba.before ? TARGET_STAGES.before[ba.before] : TARGET_STAGES.after[ba.after];
  const imp: Import = {
    source,
    ...ba,
    targetStage,
    add,
    to,
    includePaths,
    excludePaths: relPaths(f.get('excludePaths'), 'excludePaths', true),
    autoExcludePaths: [],
    pos: at.pos,
  };
  const st = f.get('stage');
  if (!isAbsent(st)) {
    const v = str(st.value);
    if (!(USER_STAGES as readonly string[]).includes(v)) {
      throw st.value.error(`invalid \`stage: ${v}\` for import: expected beforeInstall, install, beforeSetup or setup!`);
    }
    imp.stage = v as UserStage;
  }
  for (const k of ['owner', 'group'] as const) {
    const v = optStr(f.get(k));
    if (v !== undefined) imp[k] = v;
  }
  return imp;
}

// ---------------------------------------------------------------------------------------------
// mount

function parseMount(at: At): Mount {
  const f = fields(at, ['from', 'fromPath', 'to']);
  const toE = f.get('to');
  if (isAbsent(toE)) throw keyOr(toE, at).error('`to: PATH` absolute path required for mount!');
  const to = absPath(toE.value, 'to', 'mount');
  const from = optStr(f.get('from'));
  const fromPath = optStr(f.get('fromPath'));
  if (from !== undefined && fromPath !== undefined) {
    throw f.get('fromPath')!.keyAt.error(`cannot use \`from: ${from}\` and \`fromPath: ${fromPath}\` at the same time for mount!`);
  }
  if (from !== undefined) {
    if (from !== 'tmp_dir' && from !== 'build_dir') throw f.get('from')!.value.error(`invalid \`from: ${from}\` for mount: expected \`tmp_dir\` or \`build_dir\`!`);
    return { type: from, to, pos: at.pos };
  }
  if (fromPath === undefined || fromPath === '') throw at.error('`from: tmp_dir|build_dir` or `fromPath: PATH` required for mount!');
  return { type: 'custom_dir', fromPath, to, pos: at.pos };
}

// ---------------------------------------------------------------------------------------------
// docker, imageSpec

const DOCKER_KEYS = ['VOLUME', 'EXPOSE', 'ENV', 'LABEL', 'CMD', 'ENTRYPOINT', 'WORKDIR', 'USER', 'HEALTHCHECK', 'exactValues'];

function strOrExec(at: At): string | string[] {
  if (describe(at.node) === 'a list') return strList(at);
  return str(at);
}

function parseDocker(at: At): DockerDirective {
  const f = fields(at, DOCKER_KEYS);
  const d: DockerDirective = {
    VOLUME: isAbsent(f.get('VOLUME')) ? [] : strOrList(f.get('VOLUME')!.value),
    EXPOSE: isAbsent(f.get('EXPOSE')) ? [] : strOrList(f.get('EXPOSE')!.value),
    ENV: isAbsent(f.get('ENV')) ? {} : strMap(f.get('ENV')!.value),
    LABEL: isAbsent(f.get('LABEL')) ? {} : strMap(f.get('LABEL')!.value),
    exactValues: optBool(f.get('exactValues'), false),
    pos: at.pos,
  };
  for (const k of ['CMD', 'ENTRYPOINT'] as const) {
    const e = f.get(k);
    if (!isAbsent(e)) d[k] = strOrExec(e.value);
  }
  for (const k of ['WORKDIR', 'USER', 'HEALTHCHECK'] as const) {
    const v = optStr(f.get(k));
    if (v !== undefined) d[k] = v;
  }
  return d;
}

const IMAGE_SPEC_CONFIG_KEYS = [
  'user',
  'workingDir',
  'stopSignal',
  'cmd',
  'entrypoint',
  'env',
  'expose',
  'volumes',
  'labels',
  'healthcheck',
  'removeLabels',
  'removeVolumes',
  'removeEnv',
  'keepEssentialWerfLabels',
  'clearWerfLabels',
  'clearCmd',
  'clearEntrypoint',
  'clearUser',
  'clearWorkingDir',
];
const GLOBAL_IMAGE_SPEC_CONFIG_KEYS = ['labels', 'removeLabels', 'keepEssentialWerfLabels', 'clearWerfLabels'];

export function parseImageSpec(at: At, global: boolean): ImageSpec {
  const f = fields(at, ['author', 'clearHistory', 'config']);
  const spec: ImageSpec = emptyImageSpec(at.pos);
  spec.clearHistory = optBool(f.get('clearHistory'), false);
  const author = optStr(f.get('author'));
  if (author !== undefined) spec.author = author;
  const ce = f.get('config');
  if (isAbsent(ce)) return spec;
  // The docs show `exposedPorts`; werf's YAML key is `expose`.
  const cf = global
    ? fields(ce.value, GLOBAL_IMAGE_SPEC_CONFIG_KEYS)
    : fields(ce.value, IMAGE_SPEC_CONFIG_KEYS, { exposedPorts: 'expose' });
  const c = spec.config;
  for (const k of ['user', 'workingDir', 'stopSignal'] as const) {
    const v = optStr(cf.get(k));
    if (v !== undefined) c[k] = v;
  }
  for (const k of ['cmd', 'entrypoint'] as const) {
    const e = cf.get(k);
    if (!isAbsent(e)) c[k] = strList(e.value);
  }
  for (const k of ['env', 'labels'] as const) {
    const e = cf.get(k);
    if (!isAbsent(e)) c[k] = strMap(e.value);
  }
  for (const k of ['expose', 'volumes', 'removeLabels', 'removeVolumes', 'removeEnv'] as const) {
    const e = cf.get(k);
    if (!isAbsent(e)) c[k] = strList(e.value);
  }
  for (const k of ['keepEssentialWerfLabels', 'clearWerfLabels', 'clearCmd', 'clearEntrypoint', 'clearUser', 'clearWorkingDir'] as const) {
    c[k] = optBool(cf.get(k), false);
  }
  const hc = cf.get('healthcheck');
  if (!isAbsent(hc)) {
    // yaml.v2 reads this struct through its JSON tags lowercased: `startperiod`. Accept both spellings.
    const hf = fields(hc.value, ['test', 'interval', 'timeout', 'startPeriod', 'startperiod', 'retries']);
    const h: NonNullable<ImageSpec['config']['healthcheck']> = { test: isAbsent(hf.get('test')) ? [] : strList(hf.get('test')!.value) };
    for (const [k, key] of [
      ['interval', 'interval'],
      ['timeout', 'timeout'],
      ['startPeriod', 'startPeriod'],
      ['startperiod', 'startPeriod'],
      ['retries', 'retries'],
    ] as const) {
      const e = hf.get(k);
      if (!isAbsent(e)) h[key] = int(e.value);
    }
    c.healthcheck = h;
  }
  return spec;
}

// ---------------------------------------------------------------------------------------------
// secrets, dependencies

function parseSecret(at: At): Secret {
  const f = fields(at, ['id', 'env', 'src', 'value']);
  const types = (['env', 'src', 'value'] as const).filter((k) => !isAbsent(f.get(k)));
  if (types.length !== 1) throw (types.length > 1 ? f.get(types[1])!.keyAt : at).error('secrets validation error: secret type could be ONLY `env`, `src` or `value`');
  const type = types[0];
  const value = str(f.get(type)!.value);
  let id = optStr(f.get('id'));
  if (id === undefined || id === '') {
    if (type === 'value') throw at.error('unable to load build secrets: type value should be used with id parameter');
    id = type === 'env' ? value : path.posix.basename(value.replace(/\/+$/, ''));
  }
  return { id, type, value, pos: at.pos };
}

function parseDependency(at: At, kind: 'stapel' | 'dockerfile', refs: Ref[]): Dependency {
  const f = fields(at, ['image', 'before', 'after', 'imports']);
  if (kind === 'dockerfile') {
    for (const k of ['before', 'after']) {
      const e = f.get(k);
      if (e) throw e.keyAt.error(`\`${k}\` cannot be used for a Dockerfile image dependency: build args are available to the whole build`);
    }
  }
  const image = optStr(f.get('image'));
  if (image === undefined || image === '') throw (f.get('image')?.value ?? at).error('image name is not specified for dependency');
  refs.push({ kind: 'image', name: image, at: f.get('image')!.value, via: 'dependency' });
  const dep: Dependency = { image, imports: [], pos: at.pos };
  if (kind === 'stapel') {
    Object.assign(dep, beforeAfter(f, 'dependency', at, 'dependency stage is not specified with `before: install|setup` or `after: install|setup`!'));
  }
  const targetKey = kind === 'stapel' ? 'targetEnv' : 'targetBuildArg';
  const otherKey = kind === 'stapel' ? 'targetBuildArg' : 'targetEnv';
  const seen = new Set<string>();
  const ie = f.get('imports');
  for (const item of isAbsent(ie) ? [] : seqItems(ie.value)) {
    const imf = fields(item, ['type', 'targetEnv', 'targetBuildArg']);
    const te = imf.get('type');
    if (isAbsent(te)) throw item.error(`\`type: ${DEPENDENCY_IMPORT_TYPES.join('|')}\` required for dependency import`);
    const type = str(te.value);
    if (!(DEPENDENCY_IMPORT_TYPES as readonly string[]).includes(type)) {
      throw te.value.error(`invalid \`type: ${type}\` for dependency import, expected one of: ${DEPENDENCY_IMPORT_TYPES.join(', ')}`);
    }
    if (!isAbsent(imf.get(otherKey))) {
      throw imf.get(otherKey)!.keyAt.error(`\`${otherKey}\` cannot be used for ${kind === 'stapel' ? 'a Stapel' : 'a Dockerfile'} image dependency, use \`${targetKey}\``);
    }
    const target = optStr(imf.get(targetKey));
    if (target === undefined || target === '') throw item.error(`\`${targetKey}: NAME\` required for dependency import`);
    if (seen.has(target)) throw imf.get(targetKey)!.value.error(`duplicated dependency import \`${targetKey}: ${target}\``);
    seen.add(target);
    dep.imports.push({ type: type as DependencyImportType, [targetKey]: target, pos: item.pos });
  }
  return dep;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile

const DOCKERFILE_KEYS = [
  'image',
  'final',
  'dockerfile',
  'cacheVersion',
  'context',
  'contextAddFile',
  'contextAddFiles',
  'target',
  'args',
  'addHost',
  'network',
  'ssh',
  'dependencies',
  'staged',
  'platform',
  'secrets',
  'imageSpec',
];

function parseDockerfileImage(root: At, ctx: ParseContext): ParsedImage {
  const top = entries(root);
  const ie = top.find((e) => e.key === 'image');
  if (!ie) {
    const ae = top.find((e) => e.key === 'artifact');
    if (ae) throw ae.keyAt.withPath(root.section, ['artifact']).error('`artifact` cannot be built from a Dockerfile: use `image` with `final: false`');
    throw root.error('`image: NAME` required for a Dockerfile image section');
  }
  const { names, nameless } = imageNames(root, ie, 'image');
  const at = root.withPath(sectionLabel('image', names, nameless));
  const f = fields(at, DOCKERFILE_KEYS);
  const refs: Ref[] = [];
  if (nameless) ctx.warnings.push(warn(at, NAMELESS_DEPRECATED));
  const contextE = f.get('context');
  let context = '';
  if (!isAbsent(contextE)) {
    const raw = str(contextE.value);
    const c = cleanPath(raw);
    if (c.startsWith('/') || isOutside(c)) throw contextE.value.error('`context: PATH` should be relative to project directory!', `got "${raw}"`);
    context = c === '.' ? '' : c;
  }
  const dfE = f.get('dockerfile')!;
  const dfRaw = isAbsent(dfE) ? '' : str(dfE.value);
  const df = cleanPath(dfRaw);
  if (dfRaw === '' || df.startsWith('/') || isOutside(df) || df === '.') {
    throw (isAbsent(dfE) ? keyOr(dfE, at) : dfE.value).error('`dockerfile: PATH` required and should be relative to context!');
  }
  const cafOne = f.get('contextAddFile');
  const cafMany = f.get('contextAddFiles');
  if (!isAbsent(cafOne) && !isAbsent(cafMany)) throw cafOne.keyAt.error('`contextAddFile` and `contextAddFiles` cannot be used together: use `contextAddFiles`');
  const cafE = !isAbsent(cafMany) ? cafMany : cafOne;
  const contextAddFiles = relPaths(cafE, cafE?.key ?? 'contextAddFiles');
  contextAddFiles.forEach((p, i) => {
    if (isOutside(p)) {
      throw itemAt(cafE!, i).error(`\`${cafE!.key}\` paths must stay inside the context`, `got "${p}"`);
    }
  });
  const args: Record<string, string> = {};
  const argsE = f.get('args');
  if (!isAbsent(argsE)) {
    for (const e of entries(argsE.value)) {
      if (e.value.isNull()) args[e.key] = '';
      // werf formats a list or mapping with Go's fmt: [1 2], map[a:1]
      else if (describe(e.value.node) === 'a mapping' || describe(e.value.node) === 'a list') args[e.key] = goSprintYaml(e.value);
      else args[e.key] = str(e.value);
    }
  }
  const common = parseCommon(at, f, false, 'dockerfile', refs);
  // args vs dependency build args
  for (const dep of common.dependencies) {
    for (const imp of dep.imports) {
      if (imp.targetBuildArg !== undefined && imp.targetBuildArg in args) {
        const ae = entries(argsE!.value).find((e) => e.key === imp.targetBuildArg)!;
        throw ae.keyAt.error(
          `dockerfile \`args:\` build arg "${imp.targetBuildArg}" already defined in dependency import \`targetBuildArg:\` directive. This is not allowed, avoid duplicated build args!`,
        );
      }
    }
  }
  const ise = f.get('imageSpec');
  const stagedE = f.get('staged');
  const image: DockerfileImage = {
    kind: 'dockerfile',
    ...common,
    ...(isAbsent(ise) ? {} : { imageSpec: parseImageSpec(ise.value, false) }),
    dockerfile: df,
    context,
    args,
    addHost: isAbsent(f.get('addHost')) ? [] : strOrList(f.get('addHost')!.value),
    contextAddFiles,
    // `undefined` staged is resolved from build.staged in validate.
    staged: isAbsent(stagedE) ? (undefined as unknown as boolean) : bool(stagedE.value),
  };
  for (const k of ['target', 'ssh'] as const) {
    const v = optStr(f.get(k));
    if (v !== undefined) image[k] = v;
  }
  return { kind: 'image', names, nameless, image, at, refs };
}

export { CONFIG_ERROR };
