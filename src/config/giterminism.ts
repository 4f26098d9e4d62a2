/**
 * werf-giterminism.yaml: the allow-lists that loosen "everything comes from the HEAD commit"
 * (werf-semantics §8.3), and the checks of a model against them. Unknown keys are tolerated like
 * werf v2 (its schema allows additional properties); known keys must have the right types.
 */
import { compileGoRegexp, type GoRegexp } from '../template/regexp';
import { minimatch } from 'minimatch';
import * as os from 'node:os';
import * as path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { fastParseDocument } from './fastyaml';
import { aliasTargets, checkAliasExpansion, checkYamlChars, checkYamlDepth, lineColAt } from '../util/yaml-limits';
import { StapelkitError } from '../errors';
import { normalizeGitPath } from '../git/reader';
import { GiterminismConfig, Model, Pos, imageLabel } from './model';
import { At, DocSource, oneLine, bool, describe, entries, isAbsent, posAt, str, strList, yamlErrorMessage } from './yamlnode';

import { GITERMINISM_FILE } from './giterminism-file';

export { GITERMINISM_FILE };
export const GITERMINISM_ERROR = 'GITERMINISM';

/** werf's fixed explanation after every giterminism refusal, in our words. */
export const GITERMINISM_PARAGRAPH =
  'To provide a strong guarantee of reproducibility, werf reads the configuration and build context files from the project git repository and eliminates external dependencies. ' +
  'We strongly recommend following this approach, but if necessary, you can allow reading specific files directly from the file system and enable the features that require careful use in werf-giterminism.yaml.';

export function defaultGiterminism(): GiterminismConfig {
  return {
    cli: { allowCustomTags: false },
    config: {
      allowUncommitted: false,
      allowUncommittedTemplates: [],
      goTemplateRendering: { allowEnvVariables: [], allowUncommittedFiles: [] },
      secrets: { allowEnvVariables: [], allowFiles: [], allowValueIds: [] },
      stapel: { allowFromLatest: false, git: { allowBranch: false }, mount: { allowBuildDir: false, allowFromPaths: [] } },
      dockerfile: { allowUncommitted: [], allowUncommittedDockerignoreFiles: [], allowContextAddFiles: [] },
    },
    helm: { allowUncommittedFiles: [] },
    includes: { allowIncludesUpdate: false },
  };
}

/** Parse werf-giterminism.yaml text; `file` names it in errors. */
export function parseGiterminism(text: string, file: string): GiterminismConfig {
  const chars = checkYamlChars(text);
  // Plain block YAML (the usual giterminism file): the same nodes without the package's lexer, which
  // is most of this function's cost on a command's start (merge keys, its one other option, are outside that subset).
  const fast = chars ? undefined : fastParseDocument(text);
  const early = chars ?? (fast ? undefined : checkYamlDepth(text));
  if (early) throw new StapelkitError(GITERMINISM_ERROR, `YAML: ${early.message}`, { pos: { file, ...lineColAt(text, early.offset) }, hint: early.hint });
  const lineCounter = fast?.lineCounter ?? new LineCounter();
  const doc = fast?.doc ?? parseDocument(text, { lineCounter, version: '1.1', keepSourceTokens: true, prettyErrors: false, uniqueKeys: true });
  const aliases = fast ? new Map() : aliasTargets(doc);
  const src: DocSource = { doc, lineCounter, startLine: 0, mapLine: (line) => ({ file, line }), aliases };
  if (doc.errors[0]) {
    const pos = posAt(src, doc.errors[0].pos[0]);
    throw new StapelkitError(GITERMINISM_ERROR, `YAML: ${yamlErrorMessage(doc.errors[0])}`, { pos });
  }
  const bomb = checkAliasExpansion(doc, aliases);
  if (bomb) throw new StapelkitError(GITERMINISM_ERROR, `YAML: ${bomb.message}`, { pos: posAt(src, bomb.offset), hint: bomb.hint });
  const root = new At(src, 'giterminism', [], doc.contents as At['node'], 0);
  const cfg = defaultGiterminism();
  if (root.isNull()) throw root.error('`giterminismConfigVersion: 1` required', undefined, GITERMINISM_ERROR);
  // Walk the known schema; anything else is left alone.
  const walk = (at: At, target: Record<string, unknown>) => {
    if (describe(at.node) !== 'a mapping') throw at.error(`expected a mapping, got ${describe(at.node)}`, undefined, GITERMINISM_ERROR);
    for (const e of entries(at)) {
      if (!(e.key in target) || isAbsent(e)) continue;
      const cur = target[e.key];
      try {
        if (typeof cur === 'boolean') target[e.key] = bool(e.value);
        else if (Array.isArray(cur)) target[e.key] = strList(e.value);
        else walk(e.value, cur as Record<string, unknown>);
      } catch (err) {
        if (err instanceof StapelkitError && err.code !== GITERMINISM_ERROR) {
          throw new StapelkitError(GITERMINISM_ERROR, err.message, { pos: err.pos, hint: err.hint });
        }
        throw err;
      }
    }
  };
  const version = entries(root).find((e) => e.key === 'giterminismConfigVersion');
  if (!version || version.value.isNull()) throw root.error('`giterminismConfigVersion: 1` required', undefined, GITERMINISM_ERROR);
  if (str(version.value) !== '1') throw version.value.error(`unsupported giterminismConfigVersion "${str(version.value)}": expected 1`, undefined, GITERMINISM_ERROR);
  walk(root, cfg as unknown as Record<string, unknown>);
  for (const re of cfg.config.goTemplateRendering.allowEnvVariables) {
    if (isRegexEntry(re)) {
      try {
        envPattern(re);
      } catch (e) {
        throw new StapelkitError(GITERMINISM_ERROR, `invalid regular expression ${re} in config.goTemplateRendering.allowEnvVariables: ${(e as Error).message}`, { pos: { file } });
      }
    }
  }
  return cfg;
}

function isRegexEntry(s: string): boolean {
  return s.length >= 2 && s.startsWith('/') && s.endsWith('/');
}

/** A `/regex/` entry as werf compiles it: the Go regexp `^regex$` (spliced in, no group). */
function envPattern(entry: string): GoRegexp {
  return compileGoRegexp(`^${entry.slice(1, -1)}$`, false);
}

/** Env names for templates: exact names or `/regex/` entries (any entry may match). */
export function envAllowed(name: string, allow: string[]): boolean {
  return allow.some((a) => (isRegexEntry(a) ? envPattern(a).test(name) : a === name));
}

/**
 * Project-relative path against globs. Like werf's matchers, naming a directory covers
 * everything below it, and a trailing `/` is not significant.
 */
export function pathAllowed(p: string, globs: string[]): boolean {
  const n = normalizeGitPath(p);
  return globs.some((g) => {
    const gn = normalizeGitPath(g);
    if (gn === '') return true;
    return minimatch(n, gn, { dot: true }) || minimatch(n, `${gn}/**`, { dot: true });
  });
}

/** Host paths (secrets, mounts): `~` and relative paths expanded before matching. */
export function hostPathAllowed(p: string, globs: string[], projectDir: string): boolean {
  const expand = (x: string) => {
    const e = x === '~' || x.startsWith('~/') ? path.join(os.homedir(), x.slice(1)) : x;
    return path.resolve(projectDir, e).replace(/\/+$/, '');
  };
  const target = expand(p);
  return globs.some((g) => {
    const eg = expand(g);
    return target === eg || minimatch(target, eg, { dot: true }) || minimatch(target, `${eg}/**`, { dot: true });
  });
}

export const GITERMINISM_DOCS = 'https://werf.io/documentation/usage/project_configuration/giterminism.html';

/**
 * The hint of a giterminism refusal: the werf-giterminism.yaml key that would allow it, e.g.
 * `config.goTemplateRendering.allowEnvVariables: [NAME]` (a list entry) or
 * `config.stapel.allowFromLatest: true`.
 */
export function allowHint(key: string, entry?: string): string {
  const value = entry === undefined ? 'true' : `[${/^[A-Za-z0-9_./*~-]+$/.test(entry) ? entry : JSON.stringify(entry)}]`;
  return oneLine(`to allow it, add \`${key}: ${value}\` to ${GITERMINISM_FILE}`);
}

export function giterminismError(msg: string, pos: (Pos & { keyPath?: string }) | undefined, key: string, entry?: string): StapelkitError {
  return new StapelkitError(GITERMINISM_ERROR, oneLine(`the configuration with potential external dependency found in the werf config: ${msg}`), {
    pos: pos && { ...pos, keyPath: oneLine(pos.keyPath) },
    hint: allowHint(key, entry),
  });
}

/** The feature gates of §8.3 over a validated model. */
export function checkModelGiterminism(model: Model, projectDir: string): void {
  const g = model.giterminism.config.config;
  for (const img of model.images) {
    const label = imageLabel(img);
    const at = (pos: Pos, keyPath: string) => ({ ...pos, keyPath: `${label} → ${keyPath}` });
    if (img.kind === 'stapel') {
      if (img.fromLatest && !g.stapel.allowFromLatest) throw giterminismError('fromLatest directive not allowed by giterminism', at(img.base.pos, 'fromLatest'), 'config.stapel.allowFromLatest');
      img.git.forEach((m, i) => {
        if (m.type === 'remote' && m.tag === undefined && m.commit === undefined && !g.stapel.git.allowBranch) {
          // No ref at all follows the remote's default branch: as unpinned as a branch, said so.
          const what = m.branch !== undefined ? 'git branch directive' : 'remote git mapping without `commit` or `tag` (it follows the default branch)';
          throw giterminismError(`${what} not allowed by giterminism`, at(m.pos, `git[${i}]${m.branch !== undefined ? '.branch' : ''}`), 'config.stapel.git.allowBranch');
        }
      });
      img.mounts.forEach((m, i) => {
        if (m.type === 'build_dir' && !g.stapel.mount.allowBuildDir) {
          throw giterminismError('"mount { from: build_dir, ... }" not allowed by giterminism', at(m.pos, `mount[${i}].from`), 'config.stapel.mount.allowBuildDir');
        }
        if (m.type === 'custom_dir' && !hostPathAllowed(m.fromPath!, g.stapel.mount.allowFromPaths, projectDir)) {
          throw giterminismError(`"mount { fromPath: ${m.fromPath}, ... }" not allowed by giterminism`, at(m.pos, `mount[${i}].fromPath`), 'config.stapel.mount.allowFromPaths', m.fromPath!);
        }
      });
    } else {
      img.contextAddFiles.forEach((f, i) => {
        const rel = img.context === '' ? f : `${img.context}/${f}`;
        if (!pathAllowed(rel, g.dockerfile.allowContextAddFiles)) {
          throw giterminismError(`contextAddFile "${rel}" not allowed by giterminism`, at(img.pos, `contextAddFiles[${i}]`), 'config.dockerfile.allowContextAddFiles', rel);
        }
      });
    }
    img.secrets.forEach((s, i) => {
      const ok =
        s.type === 'env'
          ? g.secrets.allowEnvVariables.includes(s.value)
          : s.type === 'src'
            ? hostPathAllowed(s.value, g.secrets.allowFiles, projectDir)
            : g.secrets.allowValueIds.includes(s.id);
      if (!ok) {
        const what = s.type === 'value' ? s.id : s.value;
        throw giterminismError(`secret "${what}" is not allowed by giterminism`, at(s.pos, `secrets[${i}].${s.type}`), s.type === 'env' ? 'config.secrets.allowEnvVariables' : s.type === 'src' ? 'config.secrets.allowFiles' : 'config.secrets.allowValueIds', what);
      }
    });
  }
}
