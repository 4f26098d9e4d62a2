/** Stage `from` (werf pkg/build/stage/from.go): the base image, plus clearing inherited mount points. */
import { mkdir, scratch, type FileAction } from '../llb';
import { cleanPath } from '../util/gopath';
import { StapelkitError } from '../errors';
import { sha256Hash } from './hash';
import { mergedMounts } from './labels';
import { opOptions } from './exec';
import type { DigestPart, StageImpl } from './types';

export const fromStage: StageImpl = {
  name: 'from',
  gitBearing: false,
  configOnly: false,
  exists: () => true,
  isEmpty: () => false,
  dependencies(ctx) {
    const { image, model, facts } = ctx;
    const parts: DigestPart[] = [];
    const imageCacheVersion = image.cacheVersion ?? model.meta.build.cacheVersion;
    if (imageCacheVersion) parts.push({ name: 'cacheVersion', value: imageCacheVersion });
    if (image.fromCacheVersion) parts.push({ name: 'fromCacheVersion', value: image.fromCacheVersion });
    if (image.fromLatest && facts.base.repoId) parts.push({ name: 'baseImageRepoId', value: facts.base.repoId });
    image.mounts.forEach((m, i) => {
      parts.push({ name: `mount[${i}].from`, value: cleanPath(m.fromPath ?? '') }, { name: `mount[${i}].to`, value: cleanPath(m.to) }, { name: `mount[${i}].type`, value: m.type });
    });
    const base = image.base;
    if (base.type === 'scratch') parts.push({ name: 'base', value: 'scratch' });
    else if (base.type === 'image') {
      if (!facts.base.contentDigest) throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(image.name)}: the content digest of base image ${JSON.stringify(base.image)} is needed`);
      parts.push({ name: `base content digest (${base.image})`, value: facts.base.contentDigest });
    } else parts.push({ name: 'base', value: base.ref });
    return { value: sha256Hash(...parts.map((p) => p.value)), parts };
  },
  llb(ctx, prev, _config, inputs) {
    const base = ctx.image.base.type === 'scratch' ? scratch() : inputs.base;
    if (!base) throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(ctx.image.name)}: stage from needs the base filesystem`);
    void prev;
    const set = mergedMounts(ctx.facts.baseLabels, ctx.image.mounts);
    const points = [...set.tmpDir, ...set.buildDir, ...[...set.custom.values()].flat()];
    if (points.length === 0 || base.isScratch()) return base;
    // werf (buildah) empties mount points inherited from the base: their contents never reach the
    // image. FileOp's wildcard rm needs the parent, so the mount point is made first (left empty).
    let a: FileAction | undefined;
    for (const to of points) {
      a = a ? a.mkdir(to, 0o755, { makeParents: true }) : mkdir(to, 0o755, { makeParents: true });
      for (const pat of [`${to}/*`, `${to}/.*`]) a = a.rm(pat, { allowNotFound: true, allowWildcard: true });
    }
    return base.file(a!, opOptions(ctx.image, 'from', 'clear mount points', ctx.image.base.pos, inputs));
  },
  imageConfig: (_ctx, prevConfig) => prevConfig,
};
