/**
 * Which images a build makes and for which platforms (pure): werf's image-name patterns
 * (`filepath.Match` globs, `!pattern` excludes, `**` refused; dependencies of selected images are
 * built too) and platform precedence (CLI `--platform` > image `platform` > `build.platform` > the
 * daemon's default).
 */
import { StapelkitError } from '../errors';
import { imageDeps, type Image, type Model } from '../config';
import { formatPlatform, normalizePlatform, parsePlatform } from '../llb/platform';

/** Go's path/filepath.Match for one name (no `/` in names is special here beyond `*` not crossing it). */
export function goFilepathMatch(pattern: string, name: string): boolean {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new StapelkitError('BAD_PATTERN', `syntax error in pattern "${pattern}"`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) re += escapeRe(pattern[++i]);
    else re += escapeRe(c);
  }
  return new RegExp(re + '$').test(name);
}

function escapeRe(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The names `patterns` match (all when empty), without dependencies. */
export function matchImages(model: Model, patterns: string[]): Set<string> {
  const byName = new Map(model.images.map((i) => [i.name, i]));
  let chosen: Set<string>;
  if (patterns.length === 0) chosen = new Set(byName.keys());
  else {
    const include = patterns.filter((p) => !p.startsWith('!'));
    const exclude = patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
    for (const p of [...include, ...exclude]) {
      if (p.includes('**')) throw new StapelkitError('BAD_PATTERN', `image pattern "${p}": "**" is not supported`);
    }
    chosen = new Set();
    for (const p of include.length ? include : ['*']) {
      const hits = [...byName.keys()].filter((n) => goFilepathMatch(p, n));
      if (hits.length === 0 && include.length) throw new StapelkitError('NO_IMAGE', `no image matches pattern "${p}"`, { hint: `images: ${[...byName.keys()].map((n) => n || '~').join(', ')}` });
      for (const h of hits) chosen.add(h);
    }
    for (const p of exclude) for (const n of [...chosen]) if (goFilepathMatch(p, n)) chosen.delete(n);
  }
  return chosen;
}

/** The images to build for `patterns` (all when empty), with their dependencies, in build-set order. */
export function selectImages(model: Model, patterns: string[]): Image[] {
  const byName = new Map(model.images.map((i) => [i.name, i]));
  const chosen = matchImages(model, patterns);
  const need = new Set<string>();
  const add = (n: string) => {
    if (need.has(n)) return;
    need.add(n);
    const img = byName.get(n);
    if (img) for (const d of imageDeps(img)) if (byName.has(d)) add(d);
  };
  for (const n of chosen) add(n);
  const out: Image[] = [];
  for (const set of model.buildSets) for (const n of set) if (need.has(n)) out.push(byName.get(n)!);
  return out;
}

/** The target platforms of one image: CLI > image > build.platform > daemon default. Normalised strings. */
export function imagePlatforms(model: Model, image: Image, cli: string[], daemonDefault: string): string[] {
  const pick = cli.length ? cli : image.platform.length ? image.platform : model.meta.build.platform.length ? model.meta.build.platform : [daemonDefault];
  const out: string[] = [];
  for (const p of pick) {
    let norm: string;
    try {
      norm = formatPlatform(normalizePlatform(parsePlatform(p)));
    } catch (e) {
      throw new StapelkitError('BAD_PLATFORM', `invalid platform "${p}": ${(e as Error).message}`, { pos: image.pos });
    }
    if (!out.includes(norm)) out.push(norm);
  }
  return out;
}
