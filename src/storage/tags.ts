/**
 * werf's stage tags: `<digest>-<unix-ms>`, the digest being 56 hex digits (SHA3-224). Everything
 * else in a stages repo (`<digest>-<ms>-rejected`, `managed-image-…`, `meta-…`, custom tags) is not
 * a stage and is ignored.
 */
import type { StoredStage } from './types';

const STAGE_TAG = /^([0-9a-f]{56})-(\d{1,16})$/;

export function parseStageTag(tag: string): { digest: string; createdMs: number } | undefined {
  const m = STAGE_TAG.exec(tag);
  if (!m) return undefined;
  const createdMs = Number(m[2]);
  return Number.isSafeInteger(createdMs) ? { digest: m[1], createdMs } : undefined;
}

export function stageTag(digest: string, createdMs: number): string {
  return `${digest}-${createdMs}`;
}

/** `name:tag` split at the last colon after the last slash (`127.0.0.1:5000/app:tag`). */
export function splitRepoTag(repoTag: string): { repo: string; tag: string } | undefined {
  const slash = repoTag.lastIndexOf('/');
  const colon = repoTag.lastIndexOf(':');
  if (colon <= slash) return undefined;
  return { repo: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) };
}

/** Stages grouped by digest, oldest first (werf selects the oldest suitable one). */
export function groupStages(stages: Iterable<StoredStage>): Map<string, StoredStage[]> {
  const out = new Map<string, StoredStage[]>();
  for (const s of stages) {
    const list = out.get(s.digest);
    if (list) list.push(s);
    else out.set(s.digest, [s]);
  }
  for (const list of out.values()) list.sort((a, b) => a.createdMs - b.createdMs || (a.imageName < b.imageName ? -1 : 1));
  return out;
}

/** A timestamp for a new stage: now, but never earlier than or equal to `after` (keeps tags unique and ordered). */
export function newStageMs(now: number, after?: number): number {
  return after !== undefined && now <= after ? after + 1 : now;
}
