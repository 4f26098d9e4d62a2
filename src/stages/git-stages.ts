/**
 * The git stages (werf git_archive.go, git_cache.go, git_latest_patch.go). gitArchive's digest holds
 * only the mappings' parameters, never a commit: the commit baked in is whatever the chosen stage
 * recorded, and gitCache / gitLatestPatch / user stages bring the files up to date with patches.
 */
import type { FileAction } from '../llb';
import { goSortStrings, sha256Hash } from './hash';
import { allPatchActions, archiveActions, gitMappings, patchesEmpty } from './git';
import { opOptions } from './exec';
import type { GitMappingFacts, StageImpl, StapelImage } from './types';

/** werf's patchSizeStep: gitCache exists once the pending patch reaches 1 MiB. */
export const PATCH_SIZE_STEP = 1024 * 1024;

function gitAfterPatch(image: StapelImage): boolean {
  return !image.isArtifact && !image.disableGitAfterPatch;
}

export const gitArchiveStage: StageImpl = {
  name: 'gitArchive',
  gitBearing: true,
  configOnly: false,
  exists: (image) => image.git.length > 0,
  isEmpty: () => false,
  dependencies(ctx) {
    const hashes = goSortStrings(ctx.facts.git.map((g) => g.paramshash));
    return { value: sha256Hash(...hashes), parts: hashes.map((h, i) => ({ name: `paramshash[${i}]`, value: h })) };
  },
  llb(ctx, prev, _config, inputs) {
    let chain: FileAction | undefined;
    const partial = gitAfterPatch(ctx.image);
    gitMappings(ctx.image).forEach((m, i) => {
      const g = ctx.facts.git[i];
      const src = partial && g.archiveSource !== undefined ? g.archiveSource : g.source;
      if (src === '') return;
      chain = archiveActions(m, g, inputs.local(src), chain);
    });
    if (!chain) return prev;
    return prev.file(chain, opOptions(ctx.image, 'gitArchive', undefined, ctx.image.git[0]?.pos, inputs));
  },
  imageConfig: (_ctx, c) => c,
};

/** gitArchive laid only part of the mapping (see GitMappingFacts.archiveSource). */
function partialArchive(g: GitMappingFacts): boolean {
  return g.archiveSource !== undefined && g.archiveSource !== g.source;
}

function totalPatchSize(patches: StageContextPatches): number {
  return patches.reduce((n, p) => n + (p ? p.binaryPatchSize : 0), 0);
}
type StageContextPatches = Parameters<StageImpl['isEmpty']>[0]['patches'];

export const gitCacheStage: StageImpl = {
  name: 'gitCache',
  gitBearing: true,
  configOnly: false,
  exists: (image) => image.git.length > 0 && gitAfterPatch(image),
  isEmpty: (ctx) => patchesEmpty(ctx.patches) || totalPatchSize(ctx.patches) < PATCH_SIZE_STEP,
  dependencies(ctx) {
    const size = totalPatchSize(ctx.patches);
    const steps = String(Math.floor(size / PATCH_SIZE_STEP));
    return { value: sha256Hash(steps), parts: [{ name: 'patchSize/1MiB', value: steps }] };
  },
  llb(ctx, prev, _config, inputs) {
    const a = allPatchActions(ctx.image, ctx.facts, ctx.patches, inputs);
    return a ? prev.file(a, opOptions(ctx.image, 'gitCache', undefined, ctx.image.git[0]?.pos, inputs)) : prev;
  },
  imageConfig: (_ctx, c) => c,
};

export const gitLatestPatchStage: StageImpl = {
  name: 'gitLatestPatch',
  gitBearing: true,
  configOnly: false,
  exists: (image) => image.git.length > 0 && gitAfterPatch(image),
  isEmpty: (ctx) => patchesEmpty(ctx.patches) && !ctx.facts.git.some(partialArchive),
  dependencies(ctx) {
    const texts = ctx.facts.git.map((_g, i) => ctx.patches[i]?.patchText ?? '');
    const parts = texts.map((t, i) => ({ name: `git[${i}].patch`, value: t }));
    // A partial archive (no history): this stage lays the rest of the content, named by its content commit.
    ctx.facts.git.forEach((g, i) => partialArchive(g) && parts.push({ name: `git[${i}].content`, value: g.commit }));
    return { value: sha256Hash(...parts.map((p) => p.value)), parts };
  },
  llb(ctx, prev, _config, inputs) {
    let a = allPatchActions(ctx.image, ctx.facts, ctx.patches, inputs);
    gitMappings(ctx.image).forEach((m, i) => {
      const g = ctx.facts.git[i];
      if (partialArchive(g)) a = archiveActions(m, g, inputs.local(g.source), a);
    });
    return a ? prev.file(a, opOptions(ctx.image, 'gitLatestPatch', undefined, ctx.image.git[0]?.pos, inputs)) : prev;
  },
  imageConfig: (_ctx, c) => c,
};

export { gitAfterPatch };
