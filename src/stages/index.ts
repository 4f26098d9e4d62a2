/**
 * The Stapel stage conveyor and per-stage LLB (one file per stage kind, like werf's
 * pkg/build/stage). Pure: facts in (see types.ts), digests, labels, image configs and LLB out.
 */
export * from './types';
export { planStages, evaluateStage, stageDigest, stageContentDigest, stageNameForDigest, STAGES, BUILD_CACHE_VERSION, type EvaluatedStage, type EmptyStage } from './conveyor';
export { gitMappings, patchBases, recordedCommits, nextStageGitDependencies, currentGitLabels } from './git';
export { sha256Hash, sha3_224Hash, goQuote } from './hash';
export { LABEL, gitLabel, mergedMounts, mountLabels, ESSENTIAL_LABELS } from './labels';
export { makeScript, commitEnvFile, goTimeString, COMMIT_ENV_SECRET_ID, COMMIT_ENV_PATH, SCRIPT_PATH, SSH_AUTH_SOCK_PATH, type CommitInfo } from './script';
export { shellChecksum } from './user';
export { importId, dependencyImportId } from './dependencies';
export { buildDirCacheId } from './exec';
export { PATCH_SIZE_STEP } from './git-stages';
