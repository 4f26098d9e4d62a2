/**
 * Project directory → rendered werf.yaml → validated Model: the I/O shell around the pure config
 * layer. Files come through a GitReader (HEAD commit, or tracked work-tree files with `--dev`) and,
 * where werf-giterminism.yaml allows, from disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { CliGitReader } from '../git/cli';
import { projectDirOf, readerOptions } from './git-open';
import { GitReader, isOutside, normalizeGitPath, tzOffsetMinutes } from '../git/reader';
import { Allow, FILE_STATE_ERROR, NOTHING, allowGlobs, fileStateError } from '../config/file-state';
import { GITERMINISM_FILE, allowHint, checkModelGiterminism, defaultGiterminism, envAllowed, parseGiterminism } from '../config/giterminism';
import { Model } from '../config/model';
import { RenderResult, Renderer, defaultRenderer } from '../config/render';
import { parseRendered } from '../config/rendered';
import { checkUtf8 } from '../util/yaml-limits';
import { goBytes, invalidUtf8Offset } from '../template/bytes';
import { ProjectFiles, makeWerfFiles, walkDisk } from './files';

export interface LoadOptions {
  /** Project directory (default: cwd). */
  dir?: string;
  /**
   * Config path: relative to the project dir, or absolute (the CLI resolves `--config` against the
   * working directory, as werf does). Default: werf.yaml, then werf.yml.
   */
  config?: string;
  /** Environment name for `.Env` (default: $WERF_ENV or ""). */
  env?: string;
  dev?: boolean;
  /** `--loose-giterminism`: no file-state or feature checks. */
  looseGiterminism?: boolean;
  /** Templates dir: relative to the project dir, or absolute (default `.werf`). */
  templatesDir?: string;
  /** werf-giterminism.yaml path relative to the project dir; when given, it must exist. */
  giterminismConfig?: string;
  /** `--debug-templates`: the *_debug template functions log through `debugLog` (default stderr). */
  debugTemplates?: boolean;
  debugLog?: (text: string) => void;
  /** `--config-render-path`: also write the rendered werf.yaml to this (absolute) path. */
  configRenderPath?: string;
  /** Process environment (default: process.env). */
  environ?: Record<string, string | undefined>;
  render?: Renderer;
  git?: GitReader;
  /** Also read HEAD's whole tree with blob sizes for the build's git layer (RenderedProject.headListing). */
  headListing?: boolean;
}

export interface RenderedProject {
  projectDir: string;
  repoRoot: string;
  /** Config path relative to the project dir, as shown in messages. */
  configFile: string;
  rendered: RenderResult;
  giterminism: Model['giterminism'];
  /** `tree`: the commit's tree id, when the git reader has it. */
  commit: { hash: string; date: Date; tzOffset?: string; tree?: string };
  env: string;
  /** With LoadOptions.headListing: the raw `ls-tree -r -t -l -z` of the commit (CliGitRepo.seedListing). */
  headListing?: { commit: string; raw: Buffer };
  /** rendered 1-based line → source file (project-relative) and line. */
  mapLine(line: number): { file: string; line: number };
}

export interface LoadedProject extends RenderedProject {
  model: Model;
}

function setup(opts: LoadOptions) {
  const projectDir = projectDirOf(opts);
  const git = opts.git ?? CliGitReader.open(projectDir, readerOptions(opts));
  const prefix = normalizeGitPath(path.relative(git.repoRoot, projectDir));
  if (isOutside(prefix)) {
    throw new StapelkitError('GIT_NO_REPO', `the project directory "${projectDir}" is outside the git work tree "${git.repoRoot}"`);
  }
  const loose = opts.looseGiterminism ?? false;
  const files = new ProjectFiles({ git, prefix, dev: opts.dev ?? false, loose });
  return { projectDir, git, files, loose };
}

/**
 * A path option (`--config`, `--config-templates-dir`, `--giterminism-config`) as a path relative
 * to the project dir. Absolute paths must lie in the git work tree (werf's rule and wording) and,
 * since Stapelkit reads project files only, in the project directory.
 */
function projectRelative(value: string, what: string, flag: string, projectDir: string, repoRoot: string): string {
  const abs = path.resolve(projectDir, value);
  const inside = (base: string) => abs === base || abs.startsWith(base.endsWith('/') ? base : base + '/');
  if (!inside(repoRoot)) throw new StapelkitError('PROJECT_PATH', `the ${what} "${abs}" must be in the project git work tree "${repoRoot}"`, { hint: `check ${flag}` });
  if (!inside(projectDir)) {
    throw new StapelkitError('PROJECT_PATH', `the ${what} "${abs}" must be in the project directory "${projectDir}"`, { hint: `check ${flag}; Stapelkit reads configuration only from the project directory` });
  }
  return normalizeGitPath(path.relative(projectDir, abs));
}

/**
 * Text of a project file that must be UTF-8 (werf.yaml, templates): werf's YAML parser refuses
 * other bytes, and decoding them would silently turn them into U+FFFD.
 */
function utf8Text(buf: Buffer, file: string): string {
  const bad = checkUtf8(buf);
  if (bad) {
    const before = buf.subarray(0, bad.offset);
    const line = before.filter((b) => b === 10).length + 1;
    const lineStart = before.lastIndexOf(10) + 1;
    const column = Buffer.from(before.subarray(lineStart)).toString('utf8').length + 1;
    throw new StapelkitError('CONFIG_YAML', `YAML: ${bad.message}: the file is not valid UTF-8`, { pos: { file, line, column } });
  }
  return buf.toString('utf8');
}

/**
 * Runs `fn`; a file-state or env refusal it throws gets the werf-giterminism.yaml key that would
 * allow it as its hint. `key` is the allow-list for files read here (undefined: none exists).
 */
function withAllowHint<T>(fn: () => T, key: string | undefined, boolKey = false): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof StapelkitError)) throw e;
    let hint: string | undefined;
    const file = /the (?:untracked )?file "([^"]+)" (?:must be|not found)/.exec(e.message);
    const env = /env name '([^']*)' not allowed/.exec(e.message);
    if (e.code === FILE_STATE_ERROR && file && key) hint = boolKey ? allowHint(key) : allowHint(key, file[1]);
    else if (e.code === 'TEMPLATE_ENV' && env) hint = allowHint('config.goTemplateRendering.allowEnvVariables', env[1]);
    if (!hint) throw e;
    // werf's long explanation sits in the template's env message; keep the message to its first paragraph.
    const message = e.code === 'TEMPLATE_ENV' ? e.message.split('\n\n')[0] : e.message;
    throw new StapelkitError(e.code, message, { pos: e.pos, hint, cause: e });
  }
}

/** werf writes the rendered config before parsing it, so a broken render can be looked at. */
function writeRender(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new StapelkitError('CONFIG_RENDER_PATH', `unable to write rendered config to ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { hint: 'check --config-render-path' });
  }
}

export function renderProject(opts: LoadOptions = {}): RenderedProject {
  const { projectDir, git, files, loose } = setup(opts);
  const environ = opts.environ ?? process.env;
  const commit = git.head();

  // werf-giterminism.yaml must itself be committed (staged is enough with --dev).
  const gPath = opts.giterminismConfig ? projectRelative(opts.giterminismConfig, 'giterminism config', '--giterminism-config', projectDir, git.repoRoot) : GITERMINISM_FILE;
  const configCandidates = () => (opts.config ? [projectRelative(opts.config, 'werf config', '--config', projectDir, git.repoRoot)] : ['werf.yaml', 'werf.yml']);
  // The config is read right after the giterminism config: one git process for both.
  try {
    git.prefetch?.(configCandidates().map((c) => files.repoPath(c)));
  } catch {
    /* a bad --config is reported below, after the giterminism config's errors */
  }
  const gText = files.read(gPath, NOTHING);
  if (gText === undefined && opts.giterminismConfig) {
    const onDisk = fs.existsSync(path.join(projectDir, gPath));
    throw new StapelkitError(
      'GITERMINISM_CONFIG_NOT_FOUND',
      onDisk ? `the giterminism config "${gPath}" is not committed: the file must be committed` : `the giterminism config "${gPath}" does not exist in the project directory "${projectDir}"`,
      { hint: onDisk ? 'commit it (with --dev, stage it)' : 'check --giterminism-config / $WERF_GITERMINISM_CONFIG' },
    );
  }
  const giterminism: Model['giterminism'] = gText
    ? { present: true, config: parseGiterminism(utf8Text(gText, gPath), gPath) }
    : { present: false, config: defaultGiterminism() };
  const g = giterminism.config.config;

  // The config file.
  const allowConfig: Allow = () => g.allowUncommitted;
  const candidates = configCandidates();
  let configFile: string | undefined;
  let configText: Buffer | undefined;
  for (const c of candidates) {
    configText = withAllowHint(() => files.read(c, allowConfig), 'config.allowUncommitted', true);
    if (configText !== undefined) {
      configFile = c;
      break;
    }
  }
  if (configFile === undefined || configText === undefined) {
    const onDisk = candidates.find((c) => fs.existsSync(path.join(projectDir, c)));
    if (onDisk) withAllowHint(() => { throw fileStateError(`the file "${onDisk}" not found in the project git repository. If the file exists locally, configure werf-giterminism.yaml to allow uncommitted files`); }, 'config.allowUncommitted', true);
    throw new StapelkitError('CONFIG_NOT_FOUND', `werf config not found: ${candidates.join(' or ')} in the project directory "${projectDir}"`);
  }

  // Templates.
  const templatesDir = opts.templatesDir ? projectRelative(opts.templatesDir, 'werf configuration templates directory', '--config-templates-dir', projectDir, git.repoRoot) : '.werf';
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
    const b = withAllowHint(() => {
      const r = files.read(p, allowTemplates);
      if (r === undefined) throw fileStateError(`the file "${p}" not found in the project git repository`);
      return r;
    }, 'config.allowUncommittedTemplates');
    return { name: templatesDir === '' ? p : p.slice(templatesDir.length + 1), text: utf8Text(b, p), file: p };
  });

  const env = opts.env ?? environ.WERF_ENV ?? '';
  const render = opts.render ?? defaultRenderer();
  const werfFiles = makeWerfFiles(files, allowGlobs(g.goTemplateRendering.allowUncommittedFiles));
  const rendered = withAllowHint(() => render({
    main: { name: configFile, text: utf8Text(configText, configFile) },
    templates,
    files: werfFiles,
    commit: { hash: commit.hash, date: commit.date, tzOffsetMinutes: tzOffsetMinutes(commit.tzOffset) },
    envName: env,
    lookupEnv: (name) => environ[name],
    allowEnv: (name) => loose || envAllowed(name, g.goTemplateRendering.allowEnvVariables),
    looseEnv: loose,
    ...(opts.debugTemplates ? { debugTemplates: true, debugLog: opts.debugLog ?? ((text: string) => void process.stderr.write(text)) } : {}),
  }), 'config.goTemplateRendering.allowUncommittedFiles');
  if (opts.configRenderPath) writeRender(opts.configRenderPath, rendered.text);
  const mainName = configFile;
  const mapLine = (line: number) => rendered.lineMap[line - 1] ?? { file: mainName, line };
  checkRenderedUtf8(rendered.text, mapLine);
  const headListing = opts.headListing ? git.headListing?.() : undefined;
  return { projectDir, repoRoot: git.repoRoot, configFile, rendered, giterminism, commit, env, mapLine, ...(headListing && headListing.commit === commit.hash ? { headListing } : {}) };
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
