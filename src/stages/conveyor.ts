/**
 * The Stapel stage conveyor (werf pkg/build/image/stapel.go initStages, build_phase.go
 * calculateDigest). Incremental, like werf: a stage's digest chains to the previous non-empty stage
 * *as selected* (its digest and the commits that stage recorded), and git patches start from the
 * commit the previous chosen stage recorded. So the driver walks the plan stage by stage:
 *
 *   let prev; for (const name of planStages(image, model)) {
 *     const bases = patchBases(image, facts, prev);            // fetch PatchFacts for these
 *     const st = evaluateStage(name, { model, image, facts, prev, patches });
 *     if (st.empty) continue;
 *     const stored = select(st.digest) …;                      // or build st.llb(…) with st.imageConfig(…)
 *     prev = st.chosen(stored ? { labels: stored.labels, stageId } : { labels: st.labels(prev?.stageId), stageId });
 *   }
 */
import type { Model, StapelImage } from '../config/model';
import type { State } from '../llb';
import { StapelkitError } from '../errors';
import { sha256Hash, sha3_224Hash } from './hash';
import { LABEL, mergedMounts, mountLabels } from './labels';
import { currentGitLabels, gitMappings, nextStageGitDependencies, recordedCommits } from './git';
import { importLabels } from './dependencies';
import { fromStage } from './from';
import { beforeInstallStage, beforeSetupStage, installStage, setupStage } from './user';
import { dependenciesAfterInstallStage, dependenciesAfterSetupStage, dependenciesBeforeInstallStage, dependenciesBeforeSetupStage } from './dependencies';
import { gitArchiveStage, gitCacheStage, gitLatestPatchStage } from './git-stages';
import { dockerInstructionsStage } from './docker-instructions';
import { imageSpecStage } from './image-spec';
import { STAGE_ORDER, type DigestPart, type LlbInputs, type OciImageConfig, type PrevStage, type StageContext, type StageDependencies, type StageImpl, type StageName } from './types';

/** imagePkg.BuildCacheVersion. */
export const BUILD_CACHE_VERSION = '1.2';

export const STAGES: Readonly<Record<StageName, StageImpl>> = {
  from: fromStage,
  beforeInstall: beforeInstallStage,
  dependenciesBeforeInstall: dependenciesBeforeInstallStage,
  gitArchive: gitArchiveStage,
  install: installStage,
  dependenciesAfterInstall: dependenciesAfterInstallStage,
  beforeSetup: beforeSetupStage,
  dependenciesBeforeSetup: dependenciesBeforeSetupStage,
  setup: setupStage,
  dependenciesAfterSetup: dependenciesAfterSetupStage,
  gitCache: gitCacheStage,
  gitLatestPatch: gitLatestPatchStage,
  dockerInstructions: dockerInstructionsStage,
  imageSpec: imageSpecStage,
};

/** werf's GetLegacyCompatibleStageName: the dependency stages keep their v1 names in digests. */
export function stageNameForDigest(name: StageName): string {
  switch (name) {
    case 'dependenciesBeforeInstall':
      return 'importsBeforeInstall';
    case 'dependenciesAfterInstall':
      return 'importsAfterInstall';
    case 'dependenciesBeforeSetup':
      return 'importsBeforeSetup';
    case 'dependenciesAfterSetup':
      return 'importsAfterSetup';
    default:
      return name;
  }
}

/** The image's candidate stages in werf's order (creation rules of initStages; emptiness is decided later). */
export function planStages(image: StapelImage, model: Pick<Model, 'meta'>): StageName[] {
  return STAGE_ORDER.filter((n) => STAGES[n].exists(image, model));
}

/** werf's calculateDigest: H3([platform ≠ linux/amd64], "1.2", name, deps, [prev.digest, prev.nextStageDeps]). */
export function stageDigest(platform: string, name: StageName, dependencies: string, prev: Pick<PrevStage, 'digest' | 'nextStageDependencies'> | undefined): { digest: string; parts: DigestPart[] } {
  const parts: DigestPart[] = [];
  if (platform && platform !== 'linux/amd64') parts.push({ name: 'TargetPlatform', value: platform });
  parts.push({ name: 'BuildCacheVersion', value: BUILD_CACHE_VERSION }, { name: 'StageName', value: stageNameForDigest(name) }, { name: 'StageDependencies', value: dependencies });
  if (prev) parts.push({ name: 'PrevStageDigest', value: prev.digest }, { name: 'PrevStageNextStageDependencies', value: prev.nextStageDependencies });
  return { digest: sha3_224Hash(...parts.map((p) => p.value)), parts };
}

/** werf's content digest label: H3([platform], "1.2", "<name>-content", "", digest, nextStageDeps). */
export function stageContentDigest(platform: string, name: StageName, digest: string, nextStageDependencies: string): string {
  const args: string[] = [];
  if (platform && platform !== 'linux/amd64') args.push(platform);
  args.push(BUILD_CACHE_VERSION, `${stageNameForDigest(name)}-content`, '', digest, nextStageDependencies);
  return sha3_224Hash(...args);
}

export interface EmptyStage {
  name: StageName;
  empty: true;
}

export interface EvaluatedStage {
  name: StageName;
  empty: false;
  digest: string;
  /** The stage's own dependencies string and its parts. */
  dependencies: StageDependencies;
  /** The inputs of the H3 digest. */
  digestParts: DigestPart[];
  /** Whether the stage adds no layer (its image is the previous one with a new config). */
  configOnly: boolean;
  /** `werf.yaml:L:C` of the directive the stage comes from, for error messages. */
  pos: StapelImage['pos'];
  /** Progress name of the stage's ops: `image "app", stage install`. */
  displayName: string;
  /**
   * All labels of the stage image if built now: the previous stage's labels with werf's service
   * labels of this stage (and Stapelkit's inputs label) written over them.
   */
  labels(parentStageId: string | undefined): Record<string, string>;
  /** The stage's filesystem on top of the previous stage's. */
  llb(prev: State, prevConfig: OciImageConfig, inputs: LlbInputs): State;
  /** The stage's image config: the previous config, this stage's edits and `labels(parentStageId)`. */
  imageConfig(prevConfig: OciImageConfig, parentStageId: string | undefined): OciImageConfig;
  /** The record the next stage chains to, once the driver chose this stage's image: its full labels (stored, or `labels()` when built now). */
  chosen(image: { labels: Record<string, string>; stageId: string }): PrevStage;
  /** The digest breakdown as `name = value` lines (WERF_DEBUG_STAGE_DIGEST style, for --log-debug / --explain). */
  explain(): string[];
}

function stagePos(name: StageName, image: StapelImage): StapelImage['pos'] {
  if (name === 'from') return image.base.pos;
  if (name === 'beforeInstall' || name === 'install' || name === 'beforeSetup' || name === 'setup') return image.shell.pos ?? image.pos;
  if (name.startsWith('dependencies')) return image.imports.find((i) => i.targetStage === name)?.pos ?? image.dependencies[0]?.pos ?? image.pos;
  if (name.startsWith('git')) return image.git[0]?.pos ?? image.pos;
  if (name === 'dockerInstructions') return image.docker?.pos ?? image.pos;
  return image.imageSpec?.pos ?? image.pos;
}

/** Long inputs (patch texts) are kept in labels as their sha256. */
function shortValue(v: string): string {
  return v.length <= 200 ? v : `sha256:${sha256Hash(v)}`;
}

export function evaluateStage(name: StageName, ctx: StageContext): EvaluatedStage | EmptyStage {
  const impl = STAGES[name];
  if (ctx.facts.git.length !== ctx.image.git.length) {
    throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(ctx.image.name)}: ${ctx.image.git.length} git mappings but facts for ${ctx.facts.git.length}`);
  }
  if (name !== 'from' && !ctx.prev) throw new StapelkitError('STAGE_PLAN', `stage ${name} needs the previous stage`);
  if (impl.isEmpty(ctx)) return { name, empty: true };
  const dependencies = impl.dependencies(ctx);
  const { digest, parts: digestParts } = stageDigest(ctx.facts.platform, name, dependencies.value, ctx.prev);
  const pos = stagePos(name, ctx.image);
  const displayName = `${ctx.image.isArtifact ? 'artifact' : 'image'} ${ctx.image.name === '' ? '~' : JSON.stringify(ctx.image.name)}, stage ${name}`;

  // Which commits the stage records when built now: gitArchive records the current ones; a patch
  // stage does whenever some mapping's recorded commit differs from the current one (werf's
  // GitPatchStage.IsEmpty is false, and PreparePatchForImage labels every mapping, even with an
  // empty diff); otherwise the previous stage's labels are inherited.
  const recorded = recordedCommits(ctx.prev?.labels, ctx.facts);
  const commitsDiffer = ctx.facts.git.some((g, i) => recorded[i] !== g.commit);
  const recordsCurrent = impl.gitBearing && gitMappings(ctx.image).length > 0 && (name === 'gitArchive' || commitsDiffer);
  const nextDeps = (labels: Record<string, string>) => (impl.gitBearing ? nextStageGitDependencies(labels, ctx.facts) : '');

  // The driver asks for the same stage's labels several times (plan, build, image config): compute
  // them once per parent stage id and hand out copies.
  const labelsMemo = new Map<string | undefined, Record<string, string>>();
  /** The memoised labels themselves: only for reading (spreading) here. */
  const labelsOf = (parentStageId: string | undefined): Readonly<Record<string, string>> => {
    let done = labelsMemo.get(parentStageId);
    if (!done) labelsMemo.set(parentStageId, (done = computeLabels(parentStageId)));
    return done;
  };
  const labels = (parentStageId: string | undefined): Record<string, string> => ({ ...labelsOf(parentStageId) });
  const computeLabels = (parentStageId: string | undefined): Record<string, string> => {
    const own: Record<string, string> = {
      [LABEL.werf]: ctx.model.project,
      [LABEL.version]: ctx.facts.toolVersion,
      [LABEL.projectRepoCommit]: ctx.facts.headCommit,
      ...mountLabels(mergedMounts(ctx.prev ? ctx.prev.labels : ctx.facts.baseLabels, ctx.image.mounts)),
      ...importLabels(ctx, name),
      ...(recordsCurrent ? currentGitLabels(ctx.facts) : {}),
    };
    if (parentStageId) own[LABEL.parentStageId] = parentStageId;
    const merged = { ...(ctx.prev ? ctx.prev.labels : ctx.facts.baseLabels ?? {}), ...own };
    // werf's modifyLabels: service labels merged in first, then the removes (never the essential ones).
    const drop = impl.dropsLabel?.(ctx);
    if (drop) for (const k of Object.keys(merged)) if (drop(k)) delete merged[k];
    merged[LABEL.stageContentDigest] = stageContentDigest(ctx.facts.platform, name, digest, nextDeps(merged));
    return merged;
  };

  return {
    name,
    empty: false,
    digest,
    dependencies,
    digestParts,
    configOnly: impl.configOnly,
    pos,
    displayName,
    labels,
    llb: (prev, prevConfig, inputs) => impl.llb(ctx, prev, prevConfig, inputs),
    imageConfig(prevConfig, parentStageId) {
      const withLabels: OciImageConfig = { ...prevConfig, config: { ...prevConfig.config, Labels: { ...(prevConfig.config?.Labels ?? {}), ...labelsOf(parentStageId) } } };
      return impl.imageConfig(ctx, withLabels);
    },
    chosen: (img) => ({ name, digest, labels: img.labels, stageId: img.stageId, nextStageDependencies: nextDeps(img.labels) }),
    explain: () => [
      `stage ${name} digest ${digest}`,
      ...digestParts.map((p) => `  ${p.name} = ${p.value}`),
      `  dependencies of ${name}:`,
      ...dependencies.parts.map((p) => `    ${p.name} = ${shortValue(p.value)}`),
    ],
  };
}

export { gitMappings };
