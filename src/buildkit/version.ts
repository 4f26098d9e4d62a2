/**
 * What BuildKit a daemon runs: Control.Info (BuildKit v0.11+), else the version the workers
 * report (ListWorkers, also v0.11+), else nothing — BuildKit v0.8 (dockerd 20.10) has neither, so
 * for a dockerd the engine version from the Docker API is the best there is.
 */
export interface BuildkitVersion {
  /** `github.com/moby/buildkit` */
  package: string;
  /** `v0.11.6` */
  version: string;
  revision: string;
}

export interface DaemonVersion {
  buildkit?: BuildkitVersion;
  /** Where `buildkit` came from; 'none' when the daemon does not tell. */
  source: 'info' | 'workers' | 'none';
  /** For a dockerd: its engine version (`/version`), e.g. `20.10.24+dfsg1`. */
  dockerd?: string;
}

/** Proto BuildkitVersion → ours, or undefined when absent or empty. */
export function toBuildkitVersion(v: { package?: string; version?: string; revision?: string } | null | undefined): BuildkitVersion | undefined {
  if (!v || (!v.version && !v.package && !v.revision)) return undefined;
  return { package: v.package ?? '', version: v.version ?? '', revision: v.revision ?? '' };
}

/** One line for people: `BuildKit v0.11.6 (github.com/moby/buildkit 2951a28c)`, `BuildKit in dockerd 20.10.24 (…)`. */
export function formatDaemonVersion(v: DaemonVersion): string {
  if (v.buildkit) {
    const extra = [v.buildkit.package, v.buildkit.revision.slice(0, 12)].filter(Boolean).join(' ');
    const where = v.dockerd ? ` in dockerd ${v.dockerd}` : '';
    return `BuildKit ${v.buildkit.version || '(no version)'}${where}${extra ? ` (${extra})` : ''}`;
  }
  const why = 'the daemon reports no BuildKit version: no Control.Info, so BuildKit older than v0.11';
  return v.dockerd ? `BuildKit in dockerd ${v.dockerd} (${why})` : `BuildKit version unknown (${why})`;
}
