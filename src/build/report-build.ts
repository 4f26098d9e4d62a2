/** The werf build report from the driver's outcomes. */
import type { Model } from '../config';
import type { PublishedList, StagesStorage } from '../storage/types';
import type { ImageOutcome } from './driver';
import { buildTime, type ImagesReport, type ReportImageRecord } from './report';

function splitName(imageName: string): { repo: string; tag: string } {
  const i = imageName.lastIndexOf(':');
  return i > 0 && !imageName.slice(i).includes('/') ? { repo: imageName.slice(0, i), tag: imageName.slice(i + 1) } : { repo: imageName, tag: '' };
}

export function buildReport(images: ImageOutcome[], storage: StagesStorage, _totalMs: number, model: Model, lists: ReadonlyMap<string, PublishedList> = new Map()): ImagesReport {
  const report: ImagesReport = { Runtime: { Backend: 'buildkit', InContainer: false }, Images: {} };
  const multi = new Set(images.map((i) => i.platform)).size > 1;
  for (const o of images) {
    const last = o.last;
    const { repo, tag } = splitName(last.imageName);
    const rec: ReportImageRecord = {
      WerfImageName: o.image.name,
      ConfigType: o.image.kind === 'stapel' ? 'stapel' : 'dockerfile',
      DockerRepo: repo || storage.repo,
      DockerTag: tag,
      DockerImageID: last.labels['__imageId'] ?? '',
      DockerImageDigest: '',
      DockerImageName: last.imageName,
      TargetPlatform: o.platform,
      Rebuilt: o.stages.some((s) => s.how === 'built'),
      Final: o.image.final,
      Size: 0,
      BuildTime: buildTime(o.ms),
      Commit: model.commit.hash,
      Stages: o.stages.map((s) => {
        const n = splitName(s.imageName);
        return {
          Name: multi ? `${s.stage} (${s.platform})` : s.stage,
          DockerImageName: s.imageName,
          DockerTag: n.tag,
          DockerImageID: '',
          DockerImageDigest: '',
          CreatedAt: s.createdMs * 1e6,
          Size: 0,
          SourceType: s.how === 'storage' ? 'local' : 'build',
          BaseImagePulled: false,
          Rebuilt: s.how === 'built',
          BuildTime: buildTime(s.ms),
          Commit: model.commit.hash,
        };
      }),
    };
    if (multi) {
      report.ImagesByPlatform ??= {};
      (report.ImagesByPlatform[o.image.name] ??= {})[o.platform] = rec;
      // The platform-less record: the manifest list where one was published (werf), else the first platform's.
      const list = lists.get(o.image.name);
      report.Images[o.image.name] ??= list
        ? { ...rec, TargetPlatform: '', DockerImageName: list.imageName, DockerTag: list.tag, DockerImageDigest: list.digest, DockerImageID: '' }
        : { ...rec, TargetPlatform: '' };
    } else report.Images[o.image.name] = rec;
  }
  return report;
}
