/** werf's stage image labels (pkg/image/const.go) and Stapelkit's own. */
import type { Mount } from '../config/model';
import { cleanPath } from '../util/gopath';

export const LABEL = {
  werf: 'werf',
  version: 'werf-version',
  stageContentDigest: 'werf-stage-content-digest',
  parentStageId: 'werf.io/parent-stage-id',
  projectRepoCommit: 'werf-project-repo-commit',
  mountTmpDir: 'werf-mount-type-tmp-dir',
  mountBuildDir: 'werf-mount-type-build-dir',
  mountCustomDirPrefix: 'werf-mount-type-custom-dir-',
  importChecksumPrefix: 'werf-import-checksum-',
  importSourceStageIdPrefix: 'werf-import-source-stage-id-',
} as const;

/** Labels imageSpec's removeLabels can never remove (werf's modifyLabels). */
export const ESSENTIAL_LABELS: readonly string[] = [LABEL.werf, LABEL.parentStageId, LABEL.stageContentDigest];

export const gitLabel = {
  commit: (ph: string) => `werf-git-${ph}-commit`,
  type: (ph: string) => `werf-git-${ph}-type`,
  virtualMerge: (ph: string) => `werf-git-${ph}-virtual-merge`,
  /** Stapelkit: tree id of the mapping at the recorded commit (same name as src/build/select.ts). */
  tree: (ph: string) => `stapelkit-git-${ph}-tree`,
};

/** Mount points by kind: tmp_dir / build_dir, and custom dirs keyed by their host path. */
export interface MountSet {
  tmpDir: string[];
  buildDir: string[];
  custom: Map<string, string[]>;
}

function uniq(values: string[]): string[] {
  return [...new Set(values)];
}

function splitMountpoints(v: string): string[] {
  return uniq(v.split(';')).filter((s) => s !== '');
}

/** werf's getServiceMounts + getCustomMounts: mounts inherited through labels, merged with the config's. */
export function mergedMounts(prevLabels: Record<string, string> | undefined, config: readonly Mount[]): MountSet {
  const labels = prevLabels ?? {};
  const set: MountSet = { tmpDir: [], buildDir: [], custom: new Map() };
  if (LABEL.mountTmpDir in labels) set.tmpDir = splitMountpoints(labels[LABEL.mountTmpDir]);
  if (LABEL.mountBuildDir in labels) set.buildDir = splitMountpoints(labels[LABEL.mountBuildDir]);
  // for…in walks the keys in Object.entries order without an array per label (stages have dozens, every stage asks).
  for (const k in labels) {
    if (Object.prototype.hasOwnProperty.call(labels, k) && k.startsWith(LABEL.mountCustomDirPrefix)) set.custom.set(k.slice(LABEL.mountCustomDirPrefix.length).replaceAll('--', '/'), splitMountpoints(labels[k]));
  }
  const cfgTmp: string[] = [];
  const cfgBuild: string[] = [];
  const cfgCustom = new Map<string, string[]>();
  for (const m of config) {
    const to = cleanPath(m.to);
    if (m.type === 'tmp_dir') cfgTmp.push(to);
    else if (m.type === 'build_dir') cfgBuild.push(to);
    else {
      const from = cleanPath(m.fromPath ?? '');
      cfgCustom.set(from, uniq([...(cfgCustom.get(from) ?? []), to]));
    }
  }
  if (cfgTmp.length) set.tmpDir = uniq([...set.tmpDir, ...cfgTmp]);
  if (cfgBuild.length) set.buildDir = uniq([...set.buildDir, ...cfgBuild]);
  for (const [from, pts] of cfgCustom) set.custom.set(from, uniq([...(set.custom.get(from) ?? []), ...pts]));
  return set;
}

export function mountLabels(set: MountSet): Record<string, string> {
  const out: Record<string, string> = {};
  if (set.tmpDir.length) out[LABEL.mountTmpDir] = set.tmpDir.join(';');
  if (set.buildDir.length) out[LABEL.mountBuildDir] = set.buildDir.join(';');
  for (const [from, pts] of set.custom) out[LABEL.mountCustomDirPrefix + from.replaceAll('/', '--')] = pts.join(';');
  return out;
}
