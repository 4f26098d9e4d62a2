/**
 * werf's build report (`--save-build-report`, pkg/build/build_report.go): JSON `ImagesReport` or the
 * `.env` form, chosen by the report path's extension. Pure: the driver fills the records.
 */
export interface ReportStageRecord {
  Name: string;
  DockerImageName: string;
  DockerTag: string;
  DockerImageID: string;
  DockerImageDigest: string;
  /** unix ns */
  CreatedAt: number;
  Size: number;
  SourceType: string;
  BaseImagePulled: boolean;
  Rebuilt: boolean;
  BuildTime: string;
  Commit: string;
}

export interface ReportImageRecord {
  WerfImageName: string;
  ConfigType: 'stapel' | 'dockerfile' | 'staged' | 'unknown';
  DockerRepo: string;
  DockerTag: string;
  DockerImageID: string;
  DockerImageDigest: string;
  DockerImageName: string;
  /** `""` for a manifest list. */
  TargetPlatform: string;
  Rebuilt: boolean;
  Final: boolean;
  Size: number;
  BuildTime: string;
  Commit: string;
  Stages: ReportStageRecord[];
}

export interface ImagesReport {
  Runtime: { Backend: string; InContainer: boolean };
  Images: Record<string, ReportImageRecord>;
  ImagesByPlatform?: Record<string, Record<string, ReportImageRecord>>;
}

/** werf's `%.2f` seconds. */
export function buildTime(ms: number): string {
  return (ms / 1000).toFixed(2);
}

/** `WERF_<NAME>_…` key part: uppercased, `/ - .` → `_`; the nameless image gives `""`. */
export function envKeyName(image: string): string {
  return image.toUpperCase().replace(/[/.-]/g, '_');
}

export function formatReport(report: ImagesReport, path: string): string {
  if (path.endsWith('.env')) return formatEnvReport(report);
  return JSON.stringify(report, null, 2) + '\n';
}

function formatEnvReport(report: ImagesReport): string {
  const lines: string[] = [];
  for (const [name, r] of Object.entries(report.Images).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const n = envKeyName(name);
    const prefix = n === '' ? 'WERF_' : `WERF_${n}_`;
    lines.push(`${prefix}DOCKER_IMAGE_NAME=${r.DockerImageName}`);
    lines.push(`${prefix}DOCKER_IMAGE_ID=${r.DockerImageID}`);
    lines.push(`${prefix}DOCKER_IMAGE_DIGEST=${r.DockerImageDigest}`);
    lines.push(`${prefix}DOCKER_REPO=${r.DockerRepo}`);
    lines.push(`${prefix}DOCKER_TAG=${r.DockerTag}`);
    lines.push(`${prefix}WERF_IMAGE_NAME=${r.WerfImageName}`);
    lines.push(`${prefix}FINAL=${r.Final}`);
  }
  return lines.join('\n') + '\n';
}
