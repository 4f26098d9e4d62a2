/**
 * Plain-data contract between the stage conveyor and its driver. The conveyor is pure: everything
 * that needs git, a registry or the stages storage arrives here as data (facts), computed by the
 * driver (with helper layers `git`, `storage`, the gateway) before the stage is evaluated.
 */
import type { GitMapping, Image, Model, Pos, StapelImage } from '../config/model';
import type { OciImageConfig } from '../build/gateway';
import type { SourceLocation, State } from '../llb';

export type StageName =
  | 'from'
  | 'beforeInstall'
  | 'dependenciesBeforeInstall'
  | 'gitArchive'
  | 'install'
  | 'dependenciesAfterInstall'
  | 'beforeSetup'
  | 'dependenciesBeforeSetup'
  | 'setup'
  | 'dependenciesAfterSetup'
  | 'gitCache'
  | 'gitLatestPatch'
  | 'dockerInstructions'
  | 'imageSpec';

/** werf's initStages order (pkg/build/image/stapel.go): gitCache comes after dependenciesAfterSetup. */
export const STAGE_ORDER: readonly StageName[] = [
  'from',
  'beforeInstall',
  'dependenciesBeforeInstall',
  'gitArchive',
  'install',
  'dependenciesAfterInstall',
  'beforeSetup',
  'dependenciesBeforeSetup',
  'setup',
  'dependenciesAfterSetup',
  'gitCache',
  'gitLatestPatch',
  'dockerInstructions',
  'imageSpec',
];

/** One git mapping's facts at the current commit (helper `git` computes them). */
export interface GitMappingFacts {
  /** werf's GetParamshash of the mapping (hex sha256). */
  paramshash: string;
  /** The mapping repository's current commit (HEAD, `--dev` worktree commit, remote ref). */
  commit: string;
  /** Tree object id of `add` at `commit` (Stapelkit's amend/rebase rule), when known. */
  tree?: string;
  /** Whether `add` is a file or a directory (or submodule) at `commit`. */
  type: 'file' | 'directory';
  /** Per user stage, werf's StageDependenciesChecksum of this mapping (`""` without masks). */
  stageDependencies: { install: string; beforeSetup: string; setup: string };
  /**
   * Name of a local source (FileSync dir) the driver serves with the mapping's matched files at
   * `commit`, rooted at the mapping's scope: the contents of `add` for a directory, the single file
   * `basename(add)` for a file.
   */
  source: string;
  /**
   * Set by a driver with no git history (the frontend's build context, no stages storage): what
   * gitArchive lays instead of `source` — only the files the user stages depend on (the mapping's
   * files matched by its stageDependencies masks; `""`: none). BuildKit then re-runs a user stage
   * exactly when those files change, as werf does, and gitLatestPatch lays the whole `source` on
   * top. Images without gitLatestPatch (artifacts, git.disableGitAfterPatch) ignore it.
   */
  archiveSource?: string;
}

/** The difference of one git mapping between a stage's recorded commit and the current commit. */
export interface PatchFacts {
  /** The commit the previous built stage recorded for the mapping. */
  from: string;
  /** Added, modified or type-changed paths, relative to the mapping scope (as in the sources), matched by its filters. */
  changed: string[];
  /** Deleted paths, relative to the mapping scope. */
  deleted: string[];
  /** Directories left empty by the deletions (werf prunes them up to `to`), relative to the mapping scope. */
  deletedDirs?: string[];
  /** Plain `git diff` text of the mapping (gitLatestPatch digest input). */
  patchText: string;
  /** Size in bytes of the full-context `--binary` patch (gitCache digest input and threshold). */
  binaryPatchSize: number;
  /** Local source serving the `changed` files at the current commit, laid out like GitMappingFacts.source. */
  source: string;
}

/** One `import` of the image, in model order. */
export interface ImportFacts {
  /** werf's import checksum (md5 list of the imported files); see CalculateDependencyImportChecksum. */
  checksum: string;
  /** Stage ID (`<repo>:<digest>-<ts>`) of the source stage, for the werf-import-source-stage-id label. */
  sourceStageId?: string;
  /**
   * Files and symlinks matched by include/exclude, relative to `add`, sorted. Needed only when the
   * import has filters and the daemon lacks file.copy.includeexcludepatterns (BuildKit < v0.9).
   */
  paths?: string[];
}

/** One `dependencies` entry of the image, in model order: the last stage of the dependency image. */
export interface DependencyFacts {
  /** `<repo>:<digest>-<ts>` of the dependency's last stage (werf's GetImageNameForLastImageStage). */
  imageName: string;
  imageId: string;
  imageDigest: string;
}

/** What the `from` digest needs about the base beyond the config (the config says which kind it is). */
export interface BaseFacts {
  /** fromImage / fromArtifact / `from: <werf image>`: the content digest of that image's last stage. */
  contentDigest?: string;
  /** fromLatest: the registry image id fetched at this run. */
  repoId?: string;
}

export interface ImageFacts {
  /** Normalised target platform (`linux/amd64`); it enters digests unless it is linux/amd64. */
  platform: string;
  /** HEAD commit of the project repository (label werf-project-repo-commit). */
  headCommit: string;
  /** Value of the `werf-version` label. */
  toolVersion: string;
  base: BaseFacts;
  /** Labels of the base image when it is a werf stage (its mounts are inherited, as werf does). */
  baseLabels?: Record<string, string>;
  /** In conveyor mapping order (see `gitMappings`): local mappings first, then remote ones. */
  git: GitMappingFacts[];
  /** Parallel to image.imports. */
  imports: ImportFacts[];
  /** Parallel to image.dependencies. */
  dependencies: DependencyFacts[];
}

/** What the driver recorded about the stage chosen before this one (stored, or just built). */
export interface PrevStage {
  name: StageName;
  digest: string;
  /** The chosen stage image's labels (stored labels, or the labels of the stage just built). */
  labels: Record<string, string>;
  /** werf's GetNextStageDependencies of that stage. */
  nextStageDependencies: string;
  /** `<repo>:<digest>-<ts>` (werf.io/parent-stage-id of the next one). */
  stageId: string;
}

export interface StageContext {
  model: Pick<Model, 'project' | 'meta'>;
  image: StapelImage;
  facts: ImageFacts;
  /** The previous non-empty stage as selected; undefined for `from`. */
  prev?: PrevStage;
  /**
   * Per git mapping (conveyor order): the patch from the previous stage's recorded commit to the
   * current one, or undefined when they are equal or the stage needs none (see `patchBases`).
   */
  patches: (PatchFacts | undefined)[];
}

/** One named digest input, for `--explain` and WERF_DEBUG-style breakdowns. */
export interface DigestPart {
  name: string;
  value: string;
}

/** The dependencies string of one stage and the parts it was made of. */
export interface StageDependencies {
  value: string;
  parts: DigestPart[];
}

/** Build-time inputs of the LLB that are not digest inputs (session-bound sources, the base image). */
export interface LlbInputs {
  /** The base filesystem for `from` (an image source, a stored stage, another image's last stage). */
  base?: State;
  /** Filesystem of each import's source stage, parallel to image.imports. */
  importSources?: State[];
  /** A local source of the session by name (git content, fromPath mounts). */
  local(name: string): State;
  /** Daemon LLB caps; decides between include/exclude patterns and explicit per-path copies. */
  caps?: ReadonlySet<string>;
  /** How WERF_COMMIT_* reach user commands (default: a session secret). */
  commitEnv?: CommitEnvDelivery;
  /** Forward the ssh agent to user stages (id "" = default agent). */
  ssh?: { id?: string };
  /** The LLB source location of a werf.yaml position (spine's SourceMap.at), attached to every op of the stage. */
  location?(pos: Pos): SourceLocation | undefined;
  /** Local source name for a `fromPath` mount (default `mount:<fromPath>`). */
  mountSourceName?(fromPath: string): string;
}

/**
 * `secret`: the commands source a file served by the session as secret `id` (its contents come
 * from commitEnvFile); the values never enter the LLB. `env`: plain exec env (for frontends with
 * no session secrets; the values then become part of BuildKit's cache key). `none`: not set.
 */
export type CommitEnvDelivery =
  | { mode: 'secret'; id?: string }
  | { mode: 'env'; hash: string; timeHuman: string; timeUnix: string }
  | { mode: 'none' };

export interface StageImpl {
  readonly name: StageName;
  /** werf's creation rule (initStages): is this stage part of the image's conveyor at all. */
  exists(image: StapelImage, model: Pick<Model, 'meta'>): boolean;
  /** Whether the stage is skipped at build time (werf's IsEmpty). */
  isEmpty(ctx: StageContext): boolean;
  dependencies(ctx: StageContext): StageDependencies;
  /** Whether the stage carries git content (its labels record commits; its next-stage deps are commits). */
  readonly gitBearing: boolean;
  /** The stage's own filesystem change on top of `prev` (prev is returned when it adds no layer). */
  llb(ctx: StageContext, prev: State, prevConfig: OciImageConfig, inputs: LlbInputs): State;
  /** The stage's image config from the previous stage's (labels are added by the conveyor). */
  imageConfig(ctx: StageContext, prevConfig: OciImageConfig): OciImageConfig;
  /** Whether the stage adds no layer (config-only: dockerInstructions, imageSpec). */
  readonly configOnly: boolean;
  /**
   * Labels this stage's image does not keep (imageSpec's removeLabels), inherited or werf's service
   * labels alike: the stage's recorded labels, which the driver writes over its config, leave them out too.
   */
  dropsLabel?(ctx: StageContext): (key: string) => boolean;
}

export type { GitMapping, Image, Model, Pos, StapelImage, OciImageConfig };
