/**
 * User stages beforeInstall, install, beforeSetup, setup (werf before_install.go, install.go,
 * before_setup.go, setup.go, user_with_git_patch.go; shell builder pkg/build/builder/shell.go).
 * install/beforeSetup/setup apply the pending git patch before their commands.
 */
import type { Shell, StapelImage, UserStage } from '../config/model';
import { sha256Hash } from './hash';
import { allPatchActions, gitMappings } from './git';
import { opOptions, runUserCommands } from './exec';
import type { DigestPart, StageImpl } from './types';

function stageCacheVersion(shell: Shell, stage: UserStage): string | undefined {
  return shell[`${stage}CacheVersion` as const];
}

// Per shell section and stage: planning asks whether the stage exists, evaluation for its
// dependencies. Kept with the inputs it was computed from, so a reassigned list is not served stale.
type Checksum = { value: string; parts: DigestPart[] };
type Memo = { cmds: readonly string[]; n: number; own: string | undefined; common: string | undefined; sum: Checksum };
const checksums = new WeakMap<Shell, Map<UserStage, Memo>>();

/** werf's Shell.stageChecksum: H256(cmds…, [H256([<stage>CacheVersion], [cacheVersion])]), `""` when nothing is set. */
export function shellChecksum(shell: Shell, stage: UserStage): Checksum {
  let byStage = checksums.get(shell);
  if (!byStage) checksums.set(shell, (byStage = new Map()));
  let m = byStage.get(stage);
  if (!m || m.cmds !== shell[stage] || m.n !== shell[stage].length || m.own !== stageCacheVersion(shell, stage) || m.common !== shell.cacheVersion) {
    m = { cmds: shell[stage], n: shell[stage].length, own: stageCacheVersion(shell, stage), common: shell.cacheVersion, sum: computeShellChecksum(shell, stage) };
    byStage.set(stage, m);
  }
  // Callers may extend `parts`: each gets its own array.
  return { value: m.sum.value, parts: [...m.sum.parts] };
}

function computeShellChecksum(shell: Shell, stage: UserStage): { value: string; parts: DigestPart[] } {
  const parts: DigestPart[] = shell[stage].map((c, i) => ({ name: `${stage}[${i}]`, value: c }));
  const versions: string[] = [];
  const own = stageCacheVersion(shell, stage);
  if (own) versions.push(own);
  if (shell.cacheVersion) versions.push(shell.cacheVersion);
  if (versions.length) parts.push({ name: 'versionChecksum', value: sha256Hash(...versions) });
  return { value: parts.length ? sha256Hash(...parts.map((p) => p.value)) : '', parts };
}

function userStage(stage: UserStage, withGitPatch: boolean): StageImpl {
  return {
    name: stage,
    gitBearing: withGitPatch,
    configOnly: false,
    exists: (image: StapelImage) => shellChecksum(image.shell, stage).value !== '',
    isEmpty: () => false,
    dependencies(ctx) {
      const builder = shellChecksum(ctx.image.shell, stage);
      if (!withGitPatch) return { value: builder.value, parts: builder.parts };
      const perMapping = ctx.facts.git.map((g) => g.stageDependencies[stage as 'install' | 'beforeSetup' | 'setup']);
      const sd = sha256Hash(...perMapping);
      const parts: DigestPart[] = [
        ...builder.parts,
        { name: 'builderChecksum', value: builder.value },
        { name: 'stageDependenciesChecksum', value: sd },
      ];
      perMapping.forEach((v, i) => parts.push({ name: `git[${i}].stageDependencies.${stage}`, value: v }));
      return { value: sha256Hash(builder.value, sd), parts };
    },
    llb(ctx, prev, config, inputs) {
      let fs = prev;
      if (withGitPatch && gitMappings(ctx.image).length) {
        const patch = allPatchActions(ctx.image, ctx.facts, ctx.patches, inputs);
        if (patch) fs = fs.file(patch, opOptions(ctx.image, stage, 'git patch', ctx.image.git[0]?.pos, inputs));
      }
      if (ctx.image.shell[stage].length === 0) return fs; // only cache versions: an empty stage image, as werf
      return runUserCommands(fs, {
        image: ctx.image,
        project: ctx.model.project,
        stage,
        commands: ctx.image.shell[stage],
        prevLabels: ctx.prev?.labels,
        config,
        inputs,
        pos: ctx.image.shell.pos ?? ctx.image.pos,
      });
    },
    imageConfig: (_ctx, prevConfig) => prevConfig,
  };
}

export const beforeInstallStage = userStage('beforeInstall', false);
export const installStage = userStage('install', true);
export const beforeSetupStage = userStage('beforeSetup', true);
export const setupStage = userStage('setup', true);
