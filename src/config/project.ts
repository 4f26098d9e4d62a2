/**
 * Project directory → rendered werf.yaml → validated Model. The only I/O of config: files come
 * through a GitReader (HEAD commit, or tracked work-tree files with `--dev`) and, where
 * werf-giterminism.yaml allows, from disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { CliGitReader } from '../git/cli';
import { GitReader, isOutside, normalizeGitPath, tzOffsetMinutes } from '../git/reader';
import { Allow, NOTHING, ProjectFiles, allowGlobs, fileStateError, makeWerfFiles, walkDisk } from './files';
import { GITERMINISM_FILE, checkModelGiterminism, defaultGiterminism, envAllowed, parseGiterminism } from './giterminism';
import { Model, Warning } from './model';
import { ParsedSection, makeDocSource, parseSection } from './parse';
import { RenderResult, Renderer, defaultRenderer } from './render';
import { splitDocuments } from './split';
import { assembleModel } from './validate';
import { goBytes, goString, invalidUtf8Offset } from '../template/bytes';

export interface LoadOptions {
  /** Project directory (default: cwd). */
  dir?: string;
  /** Config path relative to the project dir (default: werf.yaml, then werf.yml). */
  config?: string;
  /** Environment name for `.Env` (default: $WERF_ENV or ""). */
  env?: string;
  dev?: boolean;
  /** `--loose-giterminism`: no file-state or feature checks. */
  looseGiterminism?: boolean;
  /** Templates dir relative to the project dir (default `.werf`). */
  templatesDir?: string;
  /** werf-giterminism.yaml path relative to the project dir. */
  giterminismConfig?: string;
  /** Process environment (default: process.env). */
  environ?: Record<string, string | undefined>;
  render?: Renderer;
  git?: GitReader;
}

export interface RenderedProject {
  projectDir: string;
  repoRoot: string;
  /** Config path relative to the project dir, as shown in messages. */
  configFile: string;
  rendered: RenderResult;
  giterminism: Model['giterminism'];
  commit: { hash: string; date: Date };
  env: string;
  /** rendered 1-based line → source file (project-relative) and line. */
  mapLine(line: number): { file: string; line: number };
}

export interface LoadedProject extends RenderedProject {
  model: Model;
}

function setup(opts: LoadOptions) {
  const projectDir = fs.realpathSync(path.resolve(opts.dir ?? process.cwd()));
  const git = opts.git ?? CliGitReader.open(projectDir, { worktree: opts.dev ?? false });
  const prefix = normalizeGitPath(path.relative(git.repoRoot, projectDir));
  if (isOutside(prefix)) {
    throw new StapelkitError('GIT_NO_REPO', `the project directory "${projectDir}" is outside the git work tree "${git.repoRoot}"`);
  }
  const loose = opts.looseGiterminism ?? false;
  const files = new ProjectFiles({ git, prefix, dev: opts.dev ?? false, loose });
  return { projectDir, git, files, loose };
}

export function renderProject(opts: LoadOptions = {}): RenderedProject {
  const { projectDir, git, files, loose } = setup(opts);
  const environ = opts.environ ?? process.env;
  const commit = git.head();

  // werf-giterminism.yaml must itself be committed (staged is enough with --dev).
  const gPath = normalizeGitPath(opts.giterminismConfig ?? GITERMINISM_FILE);
  const gText = files.read(gPath, NOTHING);
  const giterminism: Model['giterminism'] = gText
    ? { present: true, config: parseGiterminism(gText.toString('utf8'), gPath) }
    : { present: false, config: defaultGiterminism() };
  const g = giterminism.config.config;

  // The config file.
  const allowConfig: Allow = () => g.allowUncommitted;
  const candidates = opts.config ? [normalizeGitPath(opts.config)] : ['werf.yaml', 'werf.yml'];
  let configFile: string | undefined;
  let configText: Buffer | undefined;
  for (const c of candidates) {
    configText = files.read(c, allowConfig);
    if (configText !== undefined) {
      configFile = c;
      break;
    }
  }
  if (configFile === undefined || configText === undefined) {
    const onDisk = candidates.find((c) => fs.existsSync(path.join(projectDir, c)));
    if (onDisk) throw fileStateError(`the file "${onDisk}" not found in the project git repository. If the file exists locally, configure werf-giterminism.yaml to allow uncommitted files`);
    throw new StapelkitError('CONFIG_NOT_FOUND', `werf config not found: ${candidates.join(' or ')} in the project directory "${projectDir}"`);
  }

  // Templates.
  const templatesDir = normalizeGitPath(opts.templatesDir ?? '.werf');
  const allowTemplates = allowGlobs(g.allowUncommittedTemplates);
  const templatePaths = new Set(files.listFiles(allowTemplates, templatesDir).filter((p) => p.endsWith('.tmpl')));
  if (!loose) {
    // An untracked template is an error like werf's (it would silently change rendering).
    for (const p of walkDisk(path.join(projectDir, templatesDir), templatesDir)) {
      if (!p.endsWith('.tmpl')) continue;
      // Ignored files are invisible to git and to werf; anything else untracked is refused below.
      if (!templatePaths.has(p) && !allowTemplates(p) && files.state(p) !== 'ignored') templatePaths.add(p);
    }
  }
  const templates = [...templatePaths].sort().map((p) => {
    const b = files.read(p, allowTemplates);
    if (b === undefined) throw fileStateError(`the file "${p}" not found in the project git repository`);
    return { name: p.slice(templatesDir.length + 1), text: goString(b), file: p };
  });

  const env = opts.env ?? environ.WERF_ENV ?? '';
  const render = opts.render ?? defaultRenderer();
  const werfFiles = makeWerfFiles(files, allowGlobs(g.goTemplateRendering.allowUncommittedFiles));
  const rendered = render({
    main: { name: configFile, text: goString(configText) },
    templates,
    files: werfFiles,
    commit: { hash: commit.hash, date: commit.date, tzOffsetMinutes: tzOffsetMinutes(commit.tzOffset) },
    envName: env,
    lookupEnv: (name) => environ[name],
    allowEnv: (name) => loose || envAllowed(name, g.goTemplateRendering.allowEnvVariables),
    looseEnv: loose,
  });
  const mainName = configFile;
  const mapLine = (line: number) => rendered.lineMap[line - 1] ?? { file: mainName, line };
  checkRenderedUtf8(rendered.text, mapLine);
  return { projectDir, repoRoot: git.repoRoot, configFile, rendered, giterminism, commit, env, mapLine };
}


/**
 * Template output may carry any bytes (`.Files.Get` of a binary file), but YAML text must be UTF-8:
 * werf's YAML parser refuses the rendered config there, so do we, at the line that holds the byte.
 */
function checkRenderedUtf8(text: string, mapLine: (line: number) => { file: string; line: number }): void {
  const at = invalidUtf8Offset(text);
  if (at < 0) return;
  const bytes = goBytes(text);
  const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
  const byte = bytes[at].toString(16).toUpperCase().padStart(2, '0');
  throw new StapelkitError('CONFIG_INVALID_UTF8', `the rendered configuration is not valid UTF-8 (byte 0x${byte} at rendered line ${line}): YAML cannot hold binary data`, {
    pos: mapLine(line),
    hint: 'encode binary content before it reaches YAML, e.g. {{ .Files.Get "file.bin" | b64enc }}',
  });
}

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

export function loadProject(opts: LoadOptions = {}): LoadedProject {
  const r = renderProject(opts);
  const model = parseRendered(r.rendered.text, r.mapLine, {
    commit: r.commit,
    env: r.env,
    giterminism: r.giterminism,
    environ: opts.environ,
    configFile: r.configFile,
    projectDirName: path.basename(r.projectDir),
  });
  if (!opts.looseGiterminism) checkModelGiterminism(model, r.projectDir);
  return { ...r, model };
}
