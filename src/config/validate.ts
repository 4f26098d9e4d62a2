/**
 * Cross-section assembly: one meta section, unique image names, `from` resolved to an image of the
 * config or an external reference, references checked, cycles rejected, build sets computed and
 * the overlap excludes of git mappings and imports added (werf-semantics §1.3, §4.5).
 */
import { StapelkitError } from '../errors';
import { isUnder } from '../git/reader';
import { BaseImage, DockerfileImage, ExportBase, Image, Model, StapelImage, Warning } from './model';
import { ParsedImage, ParsedMeta, ParsedSection, Ref } from './parse';
import { At, CONFIG_ERROR, oneLine } from './yamlnode';

export interface AssembleExtras {
  commit: Model['commit'];
  env: string;
  giterminism: Model['giterminism'];
  warnings: Warning[];
  /** Where to point "no meta section" errors. */
  configFile: string;
  projectDirName: string;
}

export function assembleModel(sections: ParsedSection[], extras: AssembleExtras): Model {
  let meta: ParsedMeta | undefined;
  const parsedImages: ParsedImage[] = [];
  for (const s of sections) {
    if (s.kind === 'meta') {
      if (meta) throw s.at.error('duplicate meta config section definition', `the first one is at ${meta.at.pos.file}:${meta.at.pos.line}`);
      meta = s;
    } else parsedImages.push(s);
  }
  if (!meta) {
    const slug = slugify(extras.projectDirName);
    throw new StapelkitError(CONFIG_ERROR, 'meta config section not found: werf.yaml must have a section with `configVersion: 1` and `project: NAME`', {
      pos: { file: extras.configFile, line: 1, column: 1 },
      hint: `start werf.yaml with a section \`configVersion: 1\` + \`project: ${slug}\``,
    });
  }

  // Names.
  const byName = new Map<string, { p: ParsedImage; isArtifact: boolean }>();
  for (const p of parsedImages) {
    for (const name of p.names) {
      const prev = byName.get(name);
      if (prev) {
        throw p.at.error('conflict between images names!', `${name === '' ? 'a nameless image' : `"${name}"`} is already defined at ${prev.p.at.pos.file}:${prev.p.at.pos.line}`);
      }
      byName.set(name, { p, isArtifact: p.image.kind === 'stapel' && p.image.isArtifact });
    }
  }
  const nameless = parsedImages.find((p) => p.nameless);
  if (nameless && byName.size > 1) {
    throw nameless.at.error('conflict between images names: a nameless image cannot be specified in the config with multiple images!');
  }

  // References.
  for (const p of parsedImages) {
    for (const ref of p.refs) checkRef(ref, byName);
  }

  // Expand into model images.
  const images: Image[] = [];
  for (const p of parsedImages) {
    for (const name of p.names) {
      if (p.image.kind === 'stapel') {
        const { rawBase, ...rest } = p.image;
        let base: BaseImage;
        if (rawBase.directive === 'from') {
          let value = rawBase.value;
          // werf's backward-compatibility quirk: `image: alpine` + `from: alpine` means `alpine:latest`.
          if (value === name) value = `${value}:latest`;
          if (value === 'scratch') base = { type: 'scratch', pos: rawBase.pos };
          else if (byName.has(value)) base = { type: 'image', image: value, directive: 'from', pos: rawBase.pos };
          else base = { type: 'external', ref: value, pos: rawBase.pos };
        } else {
          base = { type: 'image', image: rawBase.value, directive: rawBase.directive, pos: rawBase.pos };
        }
        const img: StapelImage = cloneJson(Object.assign({ kind: 'stapel' as const, name, base }, rest, { name }));
        autoExcludeOverlaps(img, p.at);
        images.push(img);
      } else {
        const img: DockerfileImage = cloneJson({ ...p.image, name });
        if (img.staged === undefined) img.staged = meta.meta.build.staged;
        images.push(img);
      }
    }
  }

  const sectionAt = (name: string): At => byName.get(name)!.p.at;
  const buildSets = computeBuildSets(images, sectionAt);
  checkPlatforms(images, meta.meta.build.platform, sectionAt);
  return {
    project: meta.project,
    configVersion: 1,
    meta: meta.meta,
    images,
    buildSets,
    commit: extras.commit,
    env: extras.env,
    giterminism: extras.giterminism,
    warnings: extras.warnings,
  };
}

function cloneJson<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

export function slugify(name: string): string {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50)
    .replace(/-+$/, '');
  return s === '' ? 'project' : s;
}

function checkRef(ref: Ref, byName: Map<string, { p: ParsedImage; isArtifact: boolean }>): void {
  if (ref.kind === 'image-or-external') return; // `from`: anything not an image is a registry reference
  const found = byName.get(ref.name);
  if (ref.kind === 'artifact') {
    if (!found || !found.isArtifact) throw ref.at.error(`artifact "${ref.name}" not found!`, found ? `"${ref.name}" is an image: use \`${ref.via === 'import' ? 'image' : 'fromImage'}\`` : undefined);
    return;
  }
  if (!found) throw ref.at.error(`image "${ref.name}" not found!`, suggestName(ref.name, [...byName.keys()]));
}

function suggestName(name: string, names: string[]): string | undefined {
  const known = names.filter((n) => n !== '');
  if (known.length === 0) return undefined;
  return `images in this config: ${known.map((n) => `"${n}"`).join(', ')}`;
}

/** Names of the config images `img` needs built first. */
export function imageDeps(img: Image): string[] {
  const deps: string[] = [];
  if (img.kind === 'stapel') {
    if (img.base.type === 'image') deps.push(img.base.image);
    for (const imp of img.imports) if (imp.source.type !== 'external') deps.push(imp.source.image);
  }
  for (const d of img.dependencies) deps.push(d.image);
  return [...new Set(deps)];
}

/** Topological layers of image names; a dependency cycle is reported at the section (`sectionAt`) of its first image. */
function computeBuildSets(images: Image[], sectionAt: (name: string) => At): string[][] {
  const byName = new Map(images.map((i) => [i.name, i]));
  const state = new Map<string, 'visiting' | 'done'>();
  const level = new Map<string, number>();
  const stack: string[] = [];
  const visit = (name: string): number => {
    const st = state.get(name);
    if (st === 'done') return level.get(name)!;
    if (st === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      const show = (n: string) => (n === '' ? '~' : n);
      throw sectionAt(cycle[0]).error(`infinite loop detected: ${cycle.map(show).join(' -> ')}`);
    }
    state.set(name, 'visiting');
    stack.push(name);
    let lv = 0;
    for (const d of imageDeps(byName.get(name)!)) if (byName.has(d)) lv = Math.max(lv, visit(d) + 1);
    stack.pop();
    state.set(name, 'done');
    level.set(name, lv);
    return lv;
  };
  for (const img of images) visit(img.name);
  const sets: string[][] = [];
  for (const img of images) {
    const lv = level.get(img.name)!;
    while (sets.length <= lv) sets.push([]);
    sets[lv].push(img.name);
  }
  return sets;
}

/** One git mapping or import of an image and how messages name it (`git[0]`, `import[1]`). */
interface Export {
  e: ExportBase;
  key: 'git' | 'import';
  index: number;
}

function label(x: Export): string {
  return `${x.key}[${x.index}]`;
}

function coveredPaths(e: ExportBase): string[] {
  const to = e.to.replace(/^\/+/, '');
  if (e.includePaths.length > 0) return e.includePaths.map((p) => (to === '' ? p : `${to}/${p}`));
  return to === '' ? [] : [to];
}

function relFrom(base: string, target: string): string {
  const b = base.replace(/^\/+/, '');
  const t = target.replace(/^\/+/, '');
  if (b === '') return t;
  if (t === b) return '.';
  return t.slice(b.length + 1);
}

/**
 * werf's AutoExcludeExportAndCheck over all git mappings and imports of one image: when one export
 * lands inside another, the outer one gets an exclude for the inner path; identical destinations
 * without filters to tell them apart are an error. (Detail from werf's code, where §4.5 of our
 * notes is loose: a new path is skipped when it lies inside one of A's existing excludes.)
 */
function autoExcludeOverlaps(img: StapelImage, at: At): void {
  // werf's order: local mappings, then remote ones, then imports.
  const gits = img.git.map((e, index) => ({ e, key: 'git' as const, index }));
  const exps: Export[] = [
    ...gits.filter((g) => g.e.type === 'local'),
    ...gits.filter((g) => g.e.type === 'remote'),
    ...img.imports.map((e, index) => ({ e, key: 'import' as const, index })),
  ];
  for (const ax of exps) {
    const a = ax.e;
    for (const bx of exps) {
      const b = bx.e;
      if (a === b || !isUnder(b.to.replace(/^\/+/, ''), a.to.replace(/^\/+/, ''))) continue;
      const aList = coveredPaths(a);
      const bList = coveredPaths(b);
      if (aList.length === 0 && bList.length === 0) throw conflict(at, ax, bx);
      for (const p of bList) {
        if (aList.includes(p)) throw conflict(at, ax, bx);
        // Nothing to do when one of A's paths lies inside P, or P is already excluded from A.
        if (aList.some((c) => isUnder(c, p))) continue;
        const aExcl = a.excludePaths.map((x) => (a.to === '/' ? x : `${a.to.replace(/^\/+/, '')}/${x}`));
        if (aExcl.some((x) => isUnder(p, x))) continue;
        const rel = relFrom(a.to, '/' + p);
        a.excludePaths.push(rel);
        a.autoExcludePaths.push(rel);
      }
    }
  }
}

function conflict(at: At, a: Export, b: Export): StapelkitError {
  const keyPath = at.withPath(at.section, [b.key, b.index]).keyPath;
  return new StapelkitError(CONFIG_ERROR, 'Conflict between imports!', {
    pos: { ...b.e.pos, keyPath: oneLine(keyPath) },
    hint: oneLine(`${label(a)} and ${label(b)} both write \`to: ${b.e.to}\`${a.e.to !== b.e.to ? ` (inside ${a.e.to})` : ''}: separate them with includePaths/excludePaths`),
  });
}

/**
 * werf's validator_image_platform: an image built for platform P needs every image it imports from
 * or depends on to be built for P too. Only explicit platform lists (image `platform` or
 * `build.platform`) are compared; the daemon default is not known here.
 */
function checkPlatforms(images: Image[], buildPlatform: string[], sectionAt: (name: string) => At): void {
  const byName = new Map(images.map((i) => [i.name, i]));
  const platformsOf = (i: Image) => (i.platform.length > 0 ? i.platform : buildPlatform);
  for (const img of images) {
    const mine = platformsOf(img);
    if (mine.length === 0) continue;
    const targets: string[] = [];
    if (img.kind === 'stapel') for (const imp of img.imports) if (imp.source.type !== 'external') targets.push(imp.source.image);
    for (const d of img.dependencies) targets.push(d.image);
    for (const t of targets) {
      const dep = byName.get(t);
      if (!dep) continue;
      const theirs = platformsOf(dep);
      if (theirs.length === 0) continue;
      const missing = mine.find((p) => !theirs.includes(p));
      if (missing !== undefined) {
        throw sectionAt(img.name).error(
          `image=${JSON.stringify(img.name)} platform=${JSON.stringify(missing)} requires dependency image=${JSON.stringify(t)} platform=${JSON.stringify(missing)} which is not present in configuration`,
        );
      }
    }
  }
}
