/**
 * `--explain`: why a stage was rebuilt. Every stage image carries its digest inputs in the
 * `stapelkit-stage-inputs` label; comparing that with the inputs of the stage now says which ones
 * changed (a changed previous stage shows as PrevStageDigest / the commits it recorded).
 */
import { LABEL } from './labels';
import { sha256Hash } from './hash';
import type { EvaluatedStage } from './conveyor';

export interface RecordedInputs {
  stage: string;
  digest: string;
  deps: string;
  parts: [string, string][];
}

export function recordedInputs(labels: Record<string, string> | undefined): RecordedInputs | undefined {
  const raw = labels?.[LABEL.stageInputs];
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as RecordedInputs;
    return Array.isArray(v.parts) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Human lines naming the inputs that differ between a stored stage (its labels) and the stage now. */
export function explainRebuild(stored: Record<string, string> | undefined, now: EvaluatedStage): string[] {
  const old = recordedInputs(stored);
  if (!old) return ['no earlier stage of this kind with recorded inputs'];
  const short = (v: string) => (v.length <= 200 ? v : `sha256:${sha256Hash(v)}`);
  const before = new Map(old.parts);
  const after = new Map(now.dependencies.parts.map((p) => [p.name, short(p.value)] as const));
  const out: string[] = [];
  for (const [k, v] of after) {
    if (!before.has(k)) out.push(`${k}: added (${v})`);
    else if (before.get(k) !== v) out.push(`${k}: ${before.get(k)} → ${v}`);
  }
  for (const k of before.keys()) if (!after.has(k)) out.push(`${k}: removed`);
  if (out.length === 0 && old.deps === now.dependencies.value && old.digest !== now.digest) out.push('the previous stage changed (its digest or the commits it recorded)');
  return out;
}
