/** werf-like stage lines and `--explain` text (pure formatting). */
import type { StageOutcome } from './driver';

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** `image app  stage install  3f2a9c1d0e4b  built in 2.3s` (platform shown when not the host's). */
export function formatStageLine(o: StageOutcome, showPlatform: boolean): string {
  const name = o.image === '' ? '~' : o.image;
  const what = o.how === 'built' ? `built in ${secs(o.ms)}` : o.how === 'storage' ? 'from storage' : o.how === 'missing' ? 'not stored' : 'cached';
  const plat = showPlatform ? ` [${o.platform}]` : '';
  let line = `image ${name}${plat}  stage ${o.stage.padEnd(24)} ${o.digest.slice(0, 12)}  ${what}`;
  if (o.imageName && o.how === 'built') line += `  → ${o.imageName}`;
  return line;
}

export function formatExplain(o: StageOutcome): string[] {
  return (o.explain ?? []).map((l) => `    ${l}`);
}
