/**
 * LLB capabilities (BuildKit `solver/pb/caps.go`): every op records the caps it needs in its
 * OpMetadata, and `checkCaps` refuses a Definition that needs a cap the daemon does not list —
 * before anything is solved, with a message naming the feature. A v0.8 daemon silently ignores
 * unknown proto fields, so without this check e.g. a tmpfs size would simply be dropped.
 */
import { StapelkitError } from '../errors';

export const Cap = {
  SourceImage: 'source.image',
  SourceImageResolveMode: 'source.image.resolvemode',
  SourceImageLayerLimit: 'source.image.layerlimit',
  SourceLocal: 'source.local',
  SourceLocalUnique: 'source.local.unique',
  SourceLocalSessionID: 'source.local.sessionid',
  SourceLocalIncludePatterns: 'source.local.includepatterns',
  SourceLocalFollowPaths: 'source.local.followpaths',
  SourceLocalExcludePatterns: 'source.local.excludepatterns',
  SourceLocalSharedKeyHint: 'source.local.sharedkeyhint',
  SourceGit: 'source.git',
  SourceGitKeepDir: 'source.git.keepgitdir',
  SourceGitFullURL: 'source.git.fullurl',
  SourceGitHTTPAuth: 'source.git.httpauth',
  SourceGitKnownSSHHosts: 'source.git.knownsshhosts',
  SourceGitMountSSHSock: 'source.git.mountsshsock',
  SourceHTTP: 'source.http',
  SourceHTTPChecksum: 'source.http.checksum',
  SourceHTTPPerm: 'source.http.perm',
  SourceHTTPUIDGID: 'soruce.http.uidgid', // sic: misspelt in BuildKit itself
  ExecMetaBase: 'exec.meta.base',
  ExecMetaProxy: 'exec.meta.proxyenv',
  ExecMetaNetwork: 'exec.meta.network',
  ExecMetaSecurity: 'exec.meta.security',
  ExecMetaSetsDefaultPath: 'exec.meta.setsdefaultpath',
  ExecMountBind: 'exec.mount.bind',
  ExecMountBindReadWriteNoOutput: 'exec.mount.bind.readwrite-nooutput',
  ExecMountCache: 'exec.mount.cache',
  ExecMountCacheSharing: 'exec.mount.cache.sharing',
  ExecMountSelector: 'exec.mount.selector',
  ExecMountTmpfs: 'exec.mount.tmpfs',
  ExecMountTmpfsSize: 'exec.mount.tmpfs.size',
  ExecMountSecret: 'exec.mount.secret',
  ExecMountSSH: 'exec.mount.ssh',
  FileBase: 'file.base',
  FileRmWildcard: 'file.rm.wildcard',
  FileCopyIncludeExcludePatterns: 'file.copy.includeexcludepatterns',
  FileCopyAlwaysReplaceExistingDestPaths: 'file.copy.alwaysreplaceexistingdestpaths',
  MergeOp: 'mergeop',
  DiffOp: 'diffop',
  Constraints: 'constraints',
  Platform: 'platform',
  MetaIgnoreCache: 'meta.ignorecache',
  MetaDescription: 'meta.description',
  MetaExportCache: 'meta.exportcache',
} as const;

/**
 * The LLB caps of BuildKit v0.8 (`solver/pb/caps.go` at the version dockerd 20.10 embeds). For tests
 * and as a conservative fallback; prefer the list the daemon reports (LLBBridge.Ping).
 */
export const BUILDKIT_V08_LLB_CAPS: readonly string[] = [
  'source.image',
  'source.image.resolvemode',
  'source.local',
  'source.local.unique',
  'source.local.sessionid',
  'source.local.includepatterns',
  'source.local.followpaths',
  'source.local.excludepatterns',
  'source.local.sharedkeyhint',
  'source.git',
  'source.git.keepgitdir',
  'source.git.fullurl',
  'source.git.httpauth',
  'source.git.knownsshhosts',
  'source.git.mountsshsock',
  'source.http',
  'source.http.checksum',
  'source.http.perm',
  'soruce.http.uidgid',
  'source.buildop.llbfilename',
  'exec.meta.base',
  'exec.meta.proxyenv',
  'exec.meta.network',
  'exec.meta.setsdefaultpath',
  'exec.meta.security',
  'exec.meta.security.devices.v1',
  'exec.mount.bind',
  'exec.mount.bind.readwrite-nooutput',
  'exec.mount.cache',
  'exec.mount.cache.sharing',
  'exec.mount.selector',
  'exec.mount.tmpfs',
  'exec.mount.secret',
  'exec.mount.ssh',
  'exec.cgroup',
  'file.base',
  'file.rm.wildcard',
  'constraints',
  'platform',
  'meta.ignorecache',
  'meta.description',
  'meta.exportcache',
];

/** What a user asked for that needs the cap; read as "<feature> need BuildKit cap …". */
const CAP_FEATURES: Record<string, string> = {
  [Cap.SourceImage]: 'image sources',
  [Cap.SourceImageResolveMode]: 'image resolve mode "pull"',
  [Cap.SourceImageLayerLimit]: 'image layer limits',
  [Cap.SourceLocal]: 'local sources',
  [Cap.SourceLocalUnique]: 'local sources without a session',
  [Cap.SourceLocalSessionID]: 'local sources bound to a session',
  [Cap.SourceLocalIncludePatterns]: 'local include patterns',
  [Cap.SourceLocalFollowPaths]: 'local follow paths',
  [Cap.SourceLocalExcludePatterns]: 'local exclude patterns',
  [Cap.SourceLocalSharedKeyHint]: 'local shared key hints',
  [Cap.SourceGit]: 'git sources',
  [Cap.SourceGitKeepDir]: 'git sources keeping .git',
  [Cap.SourceGitFullURL]: 'git sources with a full URL',
  [Cap.SourceGitHTTPAuth]: 'git HTTP auth secrets',
  [Cap.SourceGitKnownSSHHosts]: 'git over SSH (known hosts)',
  [Cap.SourceGitMountSSHSock]: 'git over SSH (agent socket)',
  [Cap.SourceHTTP]: 'http sources',
  [Cap.SourceHTTPChecksum]: 'http source checksums',
  [Cap.SourceHTTPPerm]: 'http source permissions',
  [Cap.SourceHTTPUIDGID]: 'http source owners',
  [Cap.ExecMetaBase]: 'run steps',
  [Cap.ExecMetaProxy]: 'run proxy settings',
  [Cap.ExecMetaNetwork]: 'run network modes',
  [Cap.ExecMetaSecurity]: 'insecure (privileged) run steps',
  [Cap.ExecMetaSetsDefaultPath]: 'run steps relying on the daemon default PATH',
  [Cap.ExecMountBind]: 'bind mounts',
  [Cap.ExecMountBindReadWriteNoOutput]: 'writable bind mounts without output',
  [Cap.ExecMountCache]: 'cache mounts',
  [Cap.ExecMountCacheSharing]: 'cache mount sharing modes',
  [Cap.ExecMountSelector]: 'mount sub-paths (selectors)',
  [Cap.ExecMountTmpfs]: 'tmpfs mounts',
  [Cap.ExecMountTmpfsSize]: 'tmpfs mount sizes',
  [Cap.ExecMountSecret]: 'secret mounts',
  [Cap.ExecMountSSH]: 'ssh agent mounts',
  [Cap.FileBase]: 'file operations',
  [Cap.FileRmWildcard]: 'rm wildcards',
  [Cap.FileCopyIncludeExcludePatterns]: 'copy include/exclude patterns',
  [Cap.FileCopyAlwaysReplaceExistingDestPaths]: 'copy replacing existing destination paths',
  [Cap.MergeOp]: 'merge operations',
  [Cap.DiffOp]: 'diff operations',
  [Cap.Constraints]: 'worker constraints',
  [Cap.Platform]: 'platforms',
  [Cap.MetaIgnoreCache]: 'ignore-cache steps',
  [Cap.MetaDescription]: 'step descriptions',
  [Cap.MetaExportCache]: 'export-cache settings',
};

export function capFeature(cap: string): string | undefined {
  return CAP_FEATURES[cap];
}

/** The part of a Definition the check reads (see definition.ts). */
export interface CapCheckable {
  ops: readonly { digest: string; name: string; caps: readonly string[] }[];
}

export interface CheckCapsOptions {
  /** How to name the daemon in messages, e.g. `BuildKit v0.8`. */
  daemon?: string;
}

/** Caps the Definition needs that `daemonCaps` lacks (deduplicated, sorted). */
export function missingCaps(def: CapCheckable, daemonCaps: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const op of def.ops) for (const c of op.caps) if (!daemonCaps.has(c)) out.add(c);
  return [...out].sort();
}

/**
 * Throws StapelkitError `LLB_CAP_MISSING` if any op needs a cap the daemon does not list. The message
 * names the first missing cap (in graph order), its feature and the op; all missing caps go in the hint.
 */
export function checkCaps(def: CapCheckable, daemonCaps: ReadonlySet<string>, opts: CheckCapsOptions = {}): void {
  const missing = missingCaps(def, daemonCaps);
  if (missing.length === 0) return;
  for (const op of def.ops) {
    const cap = op.caps.find((c) => !daemonCaps.has(c));
    if (cap === undefined) continue;
    const feature = capFeature(cap) ?? `the feature behind cap ${cap}`;
    const who = opts.daemon ? `this daemon (${opts.daemon})` : 'this daemon';
    const message = `${feature} need BuildKit cap ${cap}, which ${who} lacks (step: ${op.name})`;
    const hint = missing.length > 1 ? `all missing caps: ${missing.join(', ')}` : 'use a newer BuildKit daemon or drop the feature';
    throw new StapelkitError('LLB_CAP_MISSING', message, { hint });
  }
}
