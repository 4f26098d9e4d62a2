/**
 * The imageSpec an image ends up with: werf merges the global `build.imageSpec` into final images
 * only (`mergeImageSpec`, werf-semantics §7.2): global author wins, `clearHistory` and
 * `keepEssentialWerfLabels` are OR-ed, global labels are written over image labels, `removeLabels`
 * is the union (image first); everything else comes from the image.
 */
import { Image, ImageSpec, Model, Pos } from './model';

/** An imageSpec with nothing set: what an image without `imageSpec:` means. */
export function emptyImageSpec(pos: Pos): ImageSpec {
  return {
    clearHistory: false,
    config: {
      env: {},
      expose: [],
      volumes: [],
      labels: {},
      removeLabels: [],
      removeVolumes: [],
      removeEnv: [],
      keepEssentialWerfLabels: false,
      clearWerfLabels: false,
      clearCmd: false,
      clearEntrypoint: false,
      clearUser: false,
      clearWorkingDir: false,
    },
    pos,
  };
}

export function effectiveImageSpec(model: Pick<Model, 'meta'>, image: Image): ImageSpec | undefined {
  const global = model.meta.build.imageSpec;
  const own = image.imageSpec;
  if (!image.final || !global) return own;
  const base: ImageSpec = own ?? emptyImageSpec(global.pos);
  const merged: ImageSpec = JSON.parse(JSON.stringify(base)) as ImageSpec;
  if (global.author !== undefined) merged.author = global.author;
  merged.clearHistory = base.clearHistory || global.clearHistory;
  merged.config.keepEssentialWerfLabels = base.config.keepEssentialWerfLabels || global.config.keepEssentialWerfLabels;
  merged.config.labels = { ...base.config.labels, ...global.config.labels };
  merged.config.removeLabels = [...base.config.removeLabels, ...global.config.removeLabels.filter((l) => !base.config.removeLabels.includes(l))];
  return merged;
}
