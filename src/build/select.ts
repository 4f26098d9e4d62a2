/**
 * Choosing a stored stage for a digest (werf's calculateStage / SelectSuitableStageDesc, §3.5):
 * candidates older than the previous stage are dropped; git-bearing stages need, per git mapping,
 * a recorded commit that is an ancestor of the current one (werf), and then the oldest wins.
 *
 * Stapelkit's one departure (werf's most reported complaint, PR #7746): when no candidate passes the
 * ancestry test — after an amend or a rebase — a candidate whose recorded commit (or recorded tree)
 * still exists in the repository is used too, because later stages can diff from it. Pure except
 * for the git questions, which come in as callbacks.
 */
import type { StoredStage } from '../storage/types';

/** Label with the commit a git mapping's files were taken from (werf's name). */
export function gitCommitLabel(paramshash: string): string {
  return `werf-git-${paramshash}-commit`;
}
/** Stapelkit's label with the tree object id of the mapping's `add` at that commit. */
export function gitTreeLabel(paramshash: string): string {
  return `stapelkit-git-${paramshash}-tree`;
}

export interface GitSelectContext {
  /** paramshash of every git mapping of the image. */
  paramshashes: string[];
  currentCommit: string;
  isAncestor(ancestor: string, commit: string): Promise<boolean>;
  /** Whether a commit or tree object is present in the repository. */
  hasObject(oid: string): Promise<boolean>;
  /**
   * The questions for a mapping whose commits live in another repository (a remote mapping: its
   * recorded commit is in the remote's mirror and its current commit is the ref's, not HEAD).
   */
  forMapping?(paramshash: string): Omit<GitSelectContext, 'paramshashes' | 'forMapping'> | undefined;
}

export interface SelectOptions {
  /** Creation time of the previous non-empty stage actually used (stored or just built). */
  parentCreatedMs?: number;
  /** Set for git-bearing stages (gitArchive, gitCache, gitLatestPatch, and user stages of images with git). */
  git?: GitSelectContext;
}

export interface Selection {
  stage: StoredStage;
  /** `oldest`, `ancestor`, or `diffable` (Stapelkit's amend/rebase rule). */
  how: 'oldest' | 'ancestor' | 'diffable';
  /** Candidates skipped and why, for --explain. */
  skipped: string[];
}

export async function selectStoredStage(candidates: readonly StoredStage[] | undefined, opts: SelectOptions = {}): Promise<Selection | undefined> {
  if (!candidates || candidates.length === 0) return undefined;
  const skipped: string[] = [];
  const fresh = [...candidates]
    .sort((a, b) => a.createdMs - b.createdMs)
    .filter((c) => {
      if (opts.parentCreatedMs !== undefined && c.createdMs < opts.parentCreatedMs) {
        skipped.push(`${c.imageName}: older than its parent stage`);
        return false;
      }
      return true;
    });
  if (fresh.length === 0) return undefined;
  const git = opts.git;
  if (!git || git.paramshashes.length === 0) return { stage: fresh[0], how: 'oldest', skipped };

  for (const c of fresh) {
    let ok = true;
    for (const ph of git.paramshashes) {
      const commit = c.labels[gitCommitLabel(ph)];
      const g = git.forMapping?.(ph) ?? git;
      if (!commit || !(await g.hasObject(commit)) || !(await g.isAncestor(commit, g.currentCommit))) {
        ok = false;
        break;
      }
    }
    if (ok) return { stage: c, how: 'ancestor', skipped };
    skipped.push(`${c.imageName}: a recorded commit is not an ancestor of ${git.currentCommit.slice(0, 12)}`);
  }
  // Newest first: the closest content gives the smallest patch.
  for (const c of [...fresh].reverse()) {
    let ok = true;
    for (const ph of git.paramshashes) {
      const commit = c.labels[gitCommitLabel(ph)];
      const tree = c.labels[gitTreeLabel(ph)];
      const g = git.forMapping?.(ph) ?? git;
      const usable = (commit && (await g.hasObject(commit))) || (tree && (await g.hasObject(tree)));
      if (!usable) {
        ok = false;
        break;
      }
    }
    if (ok) return { stage: c, how: 'diffable', skipped };
  }
  return undefined;
}
