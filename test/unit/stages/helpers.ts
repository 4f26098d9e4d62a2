/** Shared helpers for the stage conveyor tests: fixed facts and a driver-like walk over the conveyor. */
import { createHash } from 'node:crypto';
import type { Model, StapelImage } from '../../../src/config/model';
import { evaluateStage, gitMappings, patchBases, planStages, LABEL, type EvaluatedStage, type ImageFacts, type PatchFacts, type PrevStage } from '../../../src/stages';

export const COMMIT_A = 'a'.repeat(40);
export const COMMIT_B = 'b'.repeat(40);
export const HEAD = 'c'.repeat(40);

/** The test's own werf hashes (not the module's): strings joined with ":::". */
export const h256 = (...a: string[]) => createHash('sha256').update(a.join(':::')).digest('hex');
export const h3 = (...a: string[]) => createHash('sha3-224').update(a.join(':::')).digest('hex');

/** Deterministic facts for an image: what helper `git` and the driver would compute. */
export function factsFor(image: StapelImage, opts: { commit?: string; platform?: string; contentDigests?: Map<string, string> } = {}): ImageFacts {
  const commit = opts.commit ?? COMMIT_A;
  const sd = (masks: string[]) => (masks.length ? h256('sd', ...masks, commit) : '');
  return {
    platform: opts.platform ?? 'linux/amd64',
    headCommit: HEAD,
    toolVersion: 'stapelkit-test',
    base: {
      contentDigest: image.base.type === 'image' ? opts.contentDigests?.get(image.base.image) : undefined,
      repoId: image.fromLatest ? 'sha256:' + '1'.repeat(64) : undefined,
    },
    git: gitMappings(image).map((m, i) => ({
      paramshash: h256('paramshash', String(i), m.add, m.to),
      commit,
      tree: 't'.repeat(40),
      type: 'directory' as const,
      stageDependencies: { install: sd(m.stageDependencies.install), beforeSetup: sd(m.stageDependencies.beforeSetup), setup: sd(m.stageDependencies.setup) },
      source: `git-${i}`,
    })),
    imports: image.imports.map((imp, i) => ({ checksum: createHash('md5').update(`import:${i}:${imp.add}`).digest('hex'), sourceStageId: `example:${'9'.repeat(56)}-1` })),
    dependencies: image.dependencies.map((d) => ({ imageName: `example:${h3('dep', d.image)}-1700000000000`, imageId: 'sha256:' + '2'.repeat(64), imageDigest: 'sha256:' + '3'.repeat(64) })),
  };
}

export interface WalkedStage {
  name: string;
  digest: string;
  stage: EvaluatedStage;
  prev?: PrevStage;
}

/**
 * Walks an image's conveyor like the driver does: every stage either taken from `stored` (digest →
 * stored labels) or built now. `patch(mappingIndex, fromCommit)` supplies PatchFacts.
 */
export function walk(model: Model, image: StapelImage, facts: ImageFacts, opts: { stored?: Map<string, Record<string, string>>; patch?: (i: number, from: string) => PatchFacts } = {}): WalkedStage[] {
  const out: WalkedStage[] = [];
  let prev: PrevStage | undefined;
  for (const name of planStages(image, model)) {
    const bases = patchBases(image, facts, prev);
    const patches = bases.map((b, i) => (b && opts.patch ? opts.patch(i, b) : undefined));
    const st = evaluateStage(name, { model, image, facts, prev, patches });
    if (st.empty) continue;
    const stageId = `${model.project}:${st.digest}-1700000000000`;
    const stored = opts.stored?.get(st.digest);
    out.push({ name, digest: st.digest, stage: st, prev });
    prev = st.chosen({ labels: stored ?? st.labels(prev?.stageId), stageId });
  }
  return out;
}

/** Content digest of an image's last stage, as the label says. */
export function imageContentDigest(w: WalkedStage[]): string {
  const last = w[w.length - 1];
  return last.stage.labels(last.prev?.stageId)[LABEL.stageContentDigest];
}
