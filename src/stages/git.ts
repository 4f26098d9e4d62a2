/**
 * Git mappings in the conveyor: werf's mapping order, the commit labels stages record, patch bases
 * (the previous built stage's commit per mapping), and the LLB that lays git content into the
 * image: an archive copy (gitArchive) or a patch (changed entries copied, deleted ones removed).
 */
import { copy, rm, type FileAction, type State } from '../llb';
import type { GitMapping, StapelImage } from '../config/model';
import { cleanPath, joinPath } from '../util/gopath';
import { StapelkitError } from '../errors';
import { gitLabel } from './labels';
import { HASH_SEPARATOR, goSortStrings, sha256Hash } from './hash';
import type { GitMappingFacts, ImageFacts, LlbInputs, PatchFacts, PrevStage } from './types';

/** werf's generateGitMappings order: local mappings first, then remote ones, each in config order. */
export function gitMappings(image: StapelImage): GitMapping[] {
  return [...image.git.filter((m) => m.type === 'local'), ...image.git.filter((m) => m.type === 'remote')];
}

function checkFacts(image: StapelImage, facts: ImageFacts): void {
  if (facts.git.length !== image.git.length) {
    throw new StapelkitError('STAGE_FACTS', `image ${JSON.stringify(image.name)}: ${image.git.length} git mappings but facts for ${facts.git.length}`);
  }
}

/** The commits a stage image recorded, per mapping (undefined where the label is missing). */
export function recordedCommits(labels: Record<string, string> | undefined, facts: ImageFacts): (string | undefined)[] {
  return facts.git.map((g) => labels?.[gitLabel.commit(g.paramshash)]);
}

// Every stage of every image of one commit hashes the same few commit lists: each list once.
const nextDepsMemo = new Map<string, string>();

/** werf's getNextStageGitDependencies: H256 of the sorted commits the chosen stage recorded. */
export function nextStageGitDependencies(labels: Record<string, string>, facts: ImageFacts): string {
  const commits = goSortStrings(facts.git.map((g) => labels[gitLabel.commit(g.paramshash)] ?? g.commit));
  // Keyed by the very string sha256Hash hashes: the same key is the same digest.
  const key = commits.join(HASH_SEPARATOR);
  let h = nextDepsMemo.get(key);
  if (h === undefined) {
    if (nextDepsMemo.size >= 10_000) nextDepsMemo.clear();
    nextDepsMemo.set(key, (h = sha256Hash(...commits)));
  }
  return h;
}

/** Labels of a stage that holds every mapping at its current commit. */
export function currentGitLabels(facts: ImageFacts): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of facts.git) {
    out[gitLabel.commit(g.paramshash)] = g.commit;
    out[gitLabel.virtualMerge(g.paramshash)] = 'false';
    out[gitLabel.type(g.paramshash)] = g.type;
    if (g.tree) out[gitLabel.tree(g.paramshash)] = g.tree;
  }
  return out;
}

/**
 * Per mapping, the commit a patch must start from: the previous chosen stage's recorded commit when
 * it differs from the current one, else undefined (no patch). The driver fetches PatchFacts for these.
 */
export function patchBases(image: StapelImage, facts: ImageFacts, prev: PrevStage | undefined): (string | undefined)[] {
  checkFacts(image, facts);
  const recorded = recordedCommits(prev?.labels, facts);
  return facts.git.map((g, i) => (recorded[i] && recorded[i] !== g.commit ? recorded[i] : undefined));
}

function owner(m: GitMapping): { user?: string; group?: string } | undefined {
  if (m.owner === undefined && m.group === undefined) return undefined;
  return { user: m.owner, group: m.group };
}

function basename(p: string): string {
  const c = cleanPath(p);
  return c.slice(c.lastIndexOf('/') + 1);
}

/** Actions that put the mapping's files (as served by `source`) at `to`: werf's file vs directory add (§4.2). */
export function archiveActions(m: GitMapping, g: GitMappingFacts, src: State, chain?: FileAction): FileAction {
  const opts = { owner: owner(m), createDestPath: true, followSymlinks: false };
  if (g.type === 'file') {
    if (cleanPath(m.to) === '/') {
      throw new StapelkitError('GIT_TO_ROOT', `git mapping add: ${m.add} is a file; \`to: /\` cannot hold it, use \`to: /${basename(m.add)}\``, { pos: m.pos });
    }
    const clear = chain ? chain.rm(m.to, { allowNotFound: true }) : rm(m.to, { allowNotFound: true });
    return clear.copy(src, '/' + basename(m.add), m.to, opts);
  }
  const o = { ...opts, dirCopyContents: true };
  return chain ? chain.copy(src, '/', m.to, o) : copy(src, '/', m.to, o);
}

/** Actions applying one mapping's patch: remove deleted entries (and emptied dirs), copy changed ones. */
export function patchActions(m: GitMapping, g: GitMappingFacts, p: PatchFacts, src: State, chain?: FileAction): FileAction | undefined {
  let a = chain;
  const del = (path: string) => {
    a = a ? a.rm(path, { allowNotFound: true }) : rm(path, { allowNotFound: true });
  };
  if (g.type === 'file') {
    if (p.deleted.length) del(m.to);
    if (p.changed.length) a = archiveActions(m, g, src, a);
    return a;
  }
  for (const d of goSortStrings(p.deleted)) del(joinPath(m.to, d));
  for (const d of goSortStrings(p.deletedDirs ?? [])) del(joinPath(m.to, d));
  if (p.changed.length) {
    const o = { owner: owner(m), createDestPath: true, followSymlinks: false, dirCopyContents: true };
    a = a ? a.copy(src, '/', m.to, o) : copy(src, '/', m.to, o);
  }
  return a;
}

/** The patch actions of every mapping with a non-empty patch, chained; undefined when there is nothing to do. */
export function allPatchActions(image: StapelImage, facts: ImageFacts, patches: (PatchFacts | undefined)[], inputs: LlbInputs): FileAction | undefined {
  const maps = gitMappings(image);
  let chain: FileAction | undefined;
  maps.forEach((m, i) => {
    const p = patches[i];
    if (!p || (p.changed.length === 0 && p.deleted.length === 0)) return;
    chain = patchActions(m, facts.git[i], p, inputs.local(p.source), chain);
  });
  return chain;
}

/** True when no mapping has a change to apply (werf's isPatchEmptyByChangedPaths). */
export function patchesEmpty(patches: (PatchFacts | undefined)[]): boolean {
  return patches.every((p) => !p || (p.changed.length === 0 && p.deleted.length === 0));
}
