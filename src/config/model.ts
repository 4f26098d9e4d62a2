/**
 * The validated, normalised werf configuration. Plain JSON-serialisable data: layers below config
 * (stages, llb, build) read this and never YAML. Every directive item carries the position of its
 * source (template file + line after mapping the rendered text back).
 *
 * Normalisation: defaults filled (`final: true`, git `add: "/"`, import `to` = `add`, empty lists
 * rather than absent ones), paths cleaned (`/a/b`, no trailing slash), overlap excludes added
 * between git mappings and imports (werf-semantics §4.5), `from` resolved to an internal image or
 * an external reference.
 */

export interface Pos {
  file: string;
  line: number;
  column: number;
}

export type UserStage = 'beforeInstall' | 'install' | 'beforeSetup' | 'setup';
export const USER_STAGES: readonly UserStage[] = ['beforeInstall', 'install', 'beforeSetup', 'setup'];

export interface Model {
  project: string;
  configVersion: 1;
  meta: Meta;
  /** Image sections in document order; `image: [a, b]` yields two entries. Artifacts included. */
  images: Image[];
  /** Topological layers of image names: every image depends only on images of earlier sets. */
  buildSets: string[][];
  /** The commit the configuration was read from. */
  commit: { hash: string; date: string };
  env: string;
  giterminism: Giterminism;
  /** Things werf warns about (deprecations, ignored keys); never fatal. */
  warnings: Warning[];
}

export interface Warning {
  message: string;
  pos?: Pos & { keyPath?: string };
}

export interface Meta {
  pos: Pos;
  build: {
    cacheVersion?: string;
    platform: string[];
    staged: boolean;
    imageSpec?: ImageSpec;
  };
  gitWorktree: { forceShallowClone: boolean; allowUnshallow: boolean; allowFetchOriginBranchesAndTags: boolean };
  /** Accepted and kept as plain data; Stapelkit does not deploy or clean up. */
  deploy?: unknown;
  cleanup?: unknown;
}

export type Image = StapelImage | DockerfileImage;

export interface ImageCommon {
  /** `""` for the nameless image (`image: ~`). */
  name: string;
  /** `true` for legacy `artifact:` sections. */
  isArtifact: boolean;
  final: boolean;
  /** Per-image platforms as written (empty: use `build.platform`, then the daemon default). */
  platform: string[];
  cacheVersion?: string;
  network?: string;
  secrets: Secret[];
  dependencies: Dependency[];
  imageSpec?: ImageSpec;
  pos: Pos;
}

export type BaseImage =
  | { type: 'external'; ref: string; pos: Pos }
  | { type: 'scratch'; pos: Pos }
  | { type: 'image'; image: string; directive: 'from' | 'fromImage' | 'fromArtifact'; pos: Pos };

export interface StapelImage extends ImageCommon {
  kind: 'stapel';
  base: BaseImage;
  fromLatest: boolean;
  fromCacheVersion?: string;
  disableGitAfterPatch: boolean;
  shell: Shell;
  git: GitMapping[];
  imports: Import[];
  mounts: Mount[];
  docker?: DockerDirective;
}

export interface Shell {
  beforeInstall: string[];
  install: string[];
  beforeSetup: string[];
  setup: string[];
  cacheVersion?: string;
  beforeInstallCacheVersion?: string;
  installCacheVersion?: string;
  beforeSetupCacheVersion?: string;
  setupCacheVersion?: string;
  pos?: Pos;
}

/** What git mappings and imports share (werf's ExportBase): a filtered copy of `add` to `to`. */
export interface ExportBase {
  /** Absolute, cleaned (`/` for the repository root of a git mapping). */
  add: string;
  /** Absolute, cleaned. */
  to: string;
  owner?: string;
  group?: string;
  includePaths: string[];
  /** User excludes followed by the overlap excludes werf adds (see `autoExcludePaths`). */
  excludePaths: string[];
  /** The excludes added by overlap resolution, also present at the end of `excludePaths`. */
  autoExcludePaths: string[];
  pos: Pos;
}

export interface GitMapping extends ExportBase {
  type: 'local' | 'remote';
  /** Remote repository URL (remote only). */
  url?: string;
  branch?: string;
  tag?: string;
  commit?: string;
  basicAuth?: { username?: string; password?: { env?: string; src?: string; value?: string } };
  stageDependencies: { install: string[]; beforeSetup: string[]; setup: string[] };
}

export type ImportSource =
  | { type: 'image'; image: string }
  | { type: 'artifact'; image: string }
  | { type: 'external'; ref: string };

export interface Import extends ExportBase {
  source: ImportSource;
  /** Source stage; absent: the source image's last stage. */
  stage?: UserStage;
  before?: 'install' | 'setup';
  after?: 'install' | 'setup';
  /** The destination stage the import lands in. */
  targetStage: 'dependenciesBeforeInstall' | 'dependenciesAfterInstall' | 'dependenciesBeforeSetup' | 'dependenciesAfterSetup';
}

export interface Mount {
  type: 'tmp_dir' | 'build_dir' | 'custom_dir';
  /** Host path for `custom_dir`, as written (`~` not expanded). */
  fromPath?: string;
  to: string;
  pos: Pos;
}

export interface DockerDirective {
  VOLUME: string[];
  EXPOSE: string[];
  ENV: Record<string, string>;
  LABEL: Record<string, string>;
  /** String: shell form; list: exec form. */
  CMD?: string | string[];
  ENTRYPOINT?: string | string[];
  WORKDIR?: string;
  USER?: string;
  HEALTHCHECK?: string;
  exactValues: boolean;
  pos: Pos;
}

export interface ImageSpec {
  author?: string;
  clearHistory: boolean;
  config: {
    user?: string;
    workingDir?: string;
    stopSignal?: string;
    cmd?: string[];
    entrypoint?: string[];
    env: Record<string, string>;
    expose: string[];
    volumes: string[];
    labels: Record<string, string>;
    healthcheck?: { test: string[]; interval?: number; timeout?: number; startPeriod?: number; retries?: number };
    removeLabels: string[];
    removeVolumes: string[];
    removeEnv: string[];
    keepEssentialWerfLabels: boolean;
    clearWerfLabels: boolean;
    clearCmd: boolean;
    clearEntrypoint: boolean;
    clearUser: boolean;
    clearWorkingDir: boolean;
  };
  pos: Pos;
}

export interface Secret {
  id: string;
  type: 'env' | 'src' | 'value';
  /** Variable name, file path (as written) or literal value. */
  value: string;
  pos: Pos;
}

export type DependencyImportType = 'ImageName' | 'ImageTag' | 'ImageRepo' | 'ImageID' | 'ImageDigest';
export const DEPENDENCY_IMPORT_TYPES: readonly DependencyImportType[] = ['ImageName', 'ImageTag', 'ImageRepo', 'ImageID', 'ImageDigest'];

export interface Dependency {
  image: string;
  before?: 'install' | 'setup';
  after?: 'install' | 'setup';
  imports: { type: DependencyImportType; targetEnv?: string; targetBuildArg?: string; pos: Pos }[];
  pos: Pos;
}

export interface DockerfileImage extends ImageCommon {
  kind: 'dockerfile';
  /** Relative to `context`, cleaned. */
  dockerfile: string;
  /** Relative to the project directory, cleaned; `""` = project root. */
  context: string;
  target?: string;
  args: Record<string, string>;
  addHost: string[];
  ssh?: string;
  contextAddFiles: string[];
  staged: boolean;
}

export interface Giterminism {
  /** Whether a werf-giterminism.yaml was found (committed, or allowed uncommitted in dev mode). */
  present: boolean;
  config: GiterminismConfig;
}

export interface GiterminismConfig {
  cli: { allowCustomTags: boolean };
  config: {
    allowUncommitted: boolean;
    allowUncommittedTemplates: string[];
    goTemplateRendering: { allowEnvVariables: string[]; allowUncommittedFiles: string[] };
    secrets: { allowEnvVariables: string[]; allowFiles: string[]; allowValueIds: string[] };
    stapel: { allowFromLatest: boolean; git: { allowBranch: boolean }; mount: { allowBuildDir: boolean; allowFromPaths: string[] } };
    dockerfile: { allowUncommitted: string[]; allowUncommittedDockerignoreFiles: string[]; allowContextAddFiles: string[] };
  };
  helm: { allowUncommittedFiles: string[] };
  includes: { allowIncludesUpdate: boolean };
}

/** `image "<name>"`, `artifact "<name>"` or `image ~`: how messages name an image. */
export function imageLabel(img: { name: string; isArtifact: boolean }): string {
  return `${img.isArtifact ? 'artifact' : 'image'} ${img.name === '' ? '~' : JSON.stringify(img.name)}`;
}
