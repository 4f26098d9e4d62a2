/**
 * Stages dependenciesBeforeInstall / AfterInstall / BeforeSetup / AfterSetup (werf
 * pkg/build/stage/dependencies.go): `import` copies from other images' stages and `dependencies`
 * env vars. The digest holds what is imported (its checksum), not the source stage's id, so a
 * rebuilt source with identical files does not invalidate the importer.
 */
import { copy, type FileAction } from '../llb';
import { Cap } from '../llb/caps';
import type { Dependency, Import, StapelImage } from '../config/model';
import { StapelkitError } from '../errors';
import { joinPath } from '../util/gopath';
import { sha256Hash } from './hash';
import { LABEL } from './labels';
import { opOptions } from './exec';
import type { DigestPart, LlbInputs, StageContext, StageImpl, StageName } from './types';

type DepStage = 'dependenciesBeforeInstall' | 'dependenciesAfterInstall' | 'dependenciesBeforeSetup' | 'dependenciesAfterSetup';

function depTarget(d: Dependency): DepStage | undefined {
  if (d.before === 'install') return 'dependenciesBeforeInstall';
  if (d.after === 'install') return 'dependenciesAfterInstall';
  if (d.before === 'setup') return 'dependenciesBeforeSetup';
  if (d.after === 'setup') return 'dependenciesAfterSetup';
  return undefined;
}

function stageImports(image: StapelImage, stage: DepStage): { imp: Import; index: number }[] {
  return image.imports.map((imp, index) => ({ imp, index })).filter((x) => x.imp.targetStage === stage);
}

function stageDeps(image: StapelImage, stage: DepStage): { dep: Dependency; index: number }[] {
  return image.dependencies.map((dep, index) => ({ dep, index })).filter((x) => depTarget(x.dep) === stage);
}

/** werf's getImportID: names the import in its labels. */
export function importId(imp: Import): string {
  const s = imp.source;
  return sha256Hash(
    'ImageName',
    s.type === 'image' ? s.image : s.type === 'external' ? s.ref : '',
    'ArtifactName',
    s.type === 'artifact' ? s.image : '',
    'Stage',
    imp.stage ?? '',
    'After',
    imp.after ?? '',
    'Before',
    imp.before ?? '',
    'Add',
    imp.add,
    'To',
    imp.to,
    'Group',
    imp.group ?? '',
    'Owner',
    imp.owner ?? '',
    'IncludePaths',
    imp.includePaths.join('///'),
    'ExcludePaths',
    imp.excludePaths.join('///'),
  );
}

/** werf's getDependencyImportID. */
export function dependencyImportId(type: string, targetEnv: string | undefined): string {
  return sha256Hash('Type', type, 'TargetEnv', targetEnv ?? '');
}

function importFacts(ctx: StageContext, index: number) {
  const f = ctx.facts.imports[index];
  if (!f) throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(ctx.image.name)}: facts for import[${index}] are missing`);
  return f;
}

function importActions(ctx: StageContext, imp: Import, index: number, inputs: LlbInputs, chain: FileAction | undefined): FileAction | undefined {
  const src = inputs.importSources?.[index];
  if (!src) throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(ctx.image.name)}: the source filesystem of import[${index}] is missing`);
  const owner = imp.owner !== undefined || imp.group !== undefined ? { user: imp.owner, group: imp.group } : undefined;
  const base = { owner, createDestPath: true, followSymlinks: false };
  const add = (from: string, to: string, extra: object = {}) => {
    const o = { ...base, ...extra };
    chain = chain ? chain.copy(src, from, to, o) : copy(src, from, to, o);
  };
  const filtered = imp.includePaths.length > 0 || imp.excludePaths.length > 0;
  const paths = importFacts(ctx, index).paths;
  if (!filtered) add(imp.add, imp.to, { dirCopyContents: true });
  else if (paths === undefined && inputs.caps?.has(Cap.FileCopyIncludeExcludePatterns)) {
    add(imp.add, imp.to, { dirCopyContents: true, includePatterns: imp.includePaths, excludePatterns: imp.excludePaths });
  } else {
    if (paths === undefined) {
      throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(ctx.image.name)}: import[${index}] has include/exclude filters and the daemon lacks ${Cap.FileCopyIncludeExcludePatterns}: the matched path list is needed`, { pos: imp.pos });
    }
    // BuildKit < v0.9 cannot filter a copy: one copy per matched file, as werf's matcher chose them.
    for (const rel of paths) add(joinPath(imp.add, rel), joinPath(imp.to, rel));
  }
  return chain;
}

function dependenciesStage(stage: DepStage): StageImpl {
  return {
    name: stage,
    gitBearing: false,
    configOnly: false,
    exists: (image) => stageImports(image, stage).length > 0 || stageDeps(image, stage).length > 0,
    isEmpty: () => false,
    dependencies(ctx) {
      const parts: DigestPart[] = [];
      for (const { imp, index } of stageImports(ctx.image, stage)) {
        parts.push(
          { name: `import[${index}].checksum`, value: importFacts(ctx, index).checksum },
          { name: `import[${index}].to`, value: imp.to },
          { name: `import[${index}].group`, value: imp.group ?? '' },
          { name: `import[${index}].owner`, value: imp.owner ?? '' },
        );
      }
      for (const { dep, index } of stageDeps(ctx.image, stage)) {
        const f = ctx.facts.dependencies[index];
        if (!f) throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(ctx.image.name)}: facts for dependencies[${index}] are missing`);
        parts.push({ name: `dependencies[${index}]`, value: 'Dependency' }, { name: `dependencies[${index}].image`, value: f.imageName });
        dep.imports.forEach((di, j) => parts.push({ name: `dependencies[${index}].imports[${j}]`, value: 'DependencyImport' }, { name: `dependencies[${index}].imports[${j}].id`, value: dependencyImportId(di.type, di.targetEnv) }));
      }
      return { value: sha256Hash(...parts.map((p) => p.value)), parts };
    },
    llb(ctx, prev, _config, inputs) {
      let chain: FileAction | undefined;
      for (const { imp, index } of stageImports(ctx.image, stage)) chain = importActions(ctx, imp, index, inputs, chain);
      if (!chain) return prev;
      const pos = stageImports(ctx.image, stage)[0]?.imp.pos;
      return prev.file(chain, opOptions(ctx.image, stage, 'import', pos, inputs));
    },
    imageConfig(ctx, prevConfig) {
      const env = [...(prevConfig.config?.Env ?? [])];
      const set = (k: string, v: string) => {
        const i = env.findIndex((e) => e === k || e.startsWith(k + '='));
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      };
      let changed = false;
      for (const { dep, index } of stageDeps(ctx.image, stage)) {
        const f = ctx.facts.dependencies[index];
        const { repo, tag } = splitRepoTag(f.imageName);
        for (const di of dep.imports) {
          if (!di.targetEnv) continue;
          const v = di.type === 'ImageName' ? f.imageName : di.type === 'ImageRepo' ? repo : di.type === 'ImageTag' ? tag : di.type === 'ImageID' ? f.imageId : f.imageDigest;
          set(di.targetEnv, v);
          changed = true;
        }
      }
      if (!changed) return prevConfig;
      return { ...prevConfig, config: { ...prevConfig.config, Env: env } };
    },
  };
}

/** werf's image.ParseRepositoryAndTag: the tag is after the last `:` that follows the last `/`. */
export function splitRepoTag(name: string): { repo: string; tag: string } {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (colon > slash) return { repo: name.slice(0, colon), tag: name.slice(colon + 1) };
  return { repo: name, tag: 'latest' };
}

export function importLabels(ctx: StageContext, stage: StageName): Record<string, string> {
  const out: Record<string, string> = {};
  if (!stage.startsWith('dependencies')) return out;
  for (const { imp, index } of stageImports(ctx.image, stage as DepStage)) {
    const id = importId(imp);
    const f = importFacts(ctx, index);
    out[LABEL.importChecksumPrefix + id] = f.checksum;
    if (f.sourceStageId) out[LABEL.importSourceStageIdPrefix + id] = f.sourceStageId;
  }
  return out;
}

export const dependenciesBeforeInstallStage = dependenciesStage('dependenciesBeforeInstall');
export const dependenciesAfterInstallStage = dependenciesStage('dependenciesAfterInstall');
export const dependenciesBeforeSetupStage = dependenciesStage('dependenciesBeforeSetup');
export const dependenciesAfterSetupStage = dependenciesStage('dependenciesAfterSetup');

