/**
 * Human form of the model for `stapelkit config`: YAML of the normalised data, positions shown as
 * `# file:line` comments instead of `pos` fields so the output reads like a config.
 */
import { stringify } from 'yaml';
import { Model, Pos } from './model';

function isPos(v: unknown): v is Pos {
  return typeof v === 'object' && v !== null && 'file' in v && 'line' in v && 'column' in v && Object.keys(v).length === 3;
}

/** Drop `pos` fields and empty defaults so the human form stays short. */
function prune(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(prune);
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === 'pos' && isPos(x)) continue;
    if (Array.isArray(x) && x.length === 0) continue;
    if (typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length === 0) continue;
    const p = prune(x);
    if (typeof p === 'object' && p !== null && !Array.isArray(p) && Object.keys(p).length === 0) continue;
    out[k] = p;
  }
  return out;
}

export function formatModel(model: Model): string {
  const parts: string[] = [];
  parts.push(`# project ${model.project}, commit ${model.commit.hash}${model.env ? `, env ${model.env}` : ''}`);
  parts.push(stringify(prune({ project: model.project, configVersion: model.configVersion, build: model.meta.build, buildSets: model.buildSets })).trimEnd());
  for (const img of model.images) {
    parts.push('---');
    parts.push(`# ${img.pos.file}:${img.pos.line}`);
    parts.push(stringify(prune(img), { lineWidth: 0 }).trimEnd());
  }
  return parts.join('\n') + '\n';
}
