/**
 * Bytes of Control-API requests and what they say about a Definition: the SolveRequest with the
 * Definition appended verbatim, and decoders for a Definition's source ops, source map and caps.
 */
import * as crypto from 'node:crypto';
import type { SourcePos } from '../errors';
import { encodeMessage, messageType } from '../proto';
import { posFromRangeStart } from './build-error';

/** A marshalled pb.Definition: raw bytes, or anything with toBytes() (src/llb's Definition). */
export type DefinitionLike = Uint8Array | { toBytes(): Uint8Array };

export function defBytes(d: DefinitionLike): Uint8Array {
  return d instanceof Uint8Array ? d : d.toBytes();
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2) written by hand, so Definition bytes pass through untouched. */
export function lenField(fieldNo: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint((fieldNo << 3) | 2), varint(bytes.length), bytes]);
}

/**
 * SolveRequest bytes: the plain fields through protobufjs, then `Definition` (2) and each
 * `FrontendInputs` (10) map entry appended verbatim (protobuf allows fields in any order).
 */
export function encodeSolveRequest(req: Record<string, unknown>, definition?: Uint8Array, frontendInputs?: Record<string, Uint8Array>): Buffer {
  const parts = [encodeMessage(messageType('moby.buildkit.v1.SolveRequest'), req)];
  if (definition) parts.push(lenField(2, definition));
  for (const key of Object.keys(frontendInputs ?? {}).sort()) {
    const entry = Buffer.concat([lenField(1, Buffer.from(key)), lenField(2, frontendInputs![key])]);
    parts.push(lenField(10, entry));
  }
  return Buffer.concat(parts);
}

/** Digests of the source ops (image, local, git, http) of a marshalled Definition. */
export function definitionSourceDigests(def: Uint8Array): string[] {
  const d = messageType('pb.Definition').decode(def) as unknown as { def?: Uint8Array[] };
  const opType = messageType('pb.Op');
  const out: string[] = [];
  for (const bytes of d.def ?? []) {
    const op = opType.decode(bytes) as unknown as { source?: unknown };
    if (op.source) out.push(`sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`);
  }
  return out;
}

/**
 * The first source location of each op in a Definition's source map (`Definition.Source`, v0.8):
 * op digest → file and 1-based line/column of where the op came from.
 */
export function definitionSourceMap(def: Uint8Array): Map<string, SourcePos> {
  const t = messageType('pb.Definition');
  const d = t.toObject(t.decode(def), { defaults: false, arrays: true, objects: true }) as {
    Source?: { locations?: Record<string, { locations?: { sourceIndex?: number; ranges?: { start?: { line?: number; character?: number } }[] }[] }>; infos?: { filename?: string }[] };
  };
  const out = new Map<string, SourcePos>();
  for (const [digest, locs] of Object.entries(d.Source?.locations ?? {})) {
    const loc = locs.locations?.[0];
    const file = d.Source?.infos?.[loc?.sourceIndex ?? 0]?.filename;
    if (!loc || !file) continue;
    out.set(digest, posFromRangeStart(file, loc.ranges?.[0]?.start));
  }
  return out;
}

/** Each op's progress name (`llb.customname` in its metadata), by digest. */
export function definitionVertexNames(def: Uint8Array): Map<string, string> {
  const t = messageType('pb.Definition');
  const d = t.toObject(t.decode(def), { defaults: false, objects: true }) as { metadata?: Record<string, { description?: Record<string, string> }> };
  const out = new Map<string, string>();
  for (const [digest, m] of Object.entries(d.metadata ?? {})) {
    const name = m.description?.['llb.customname'];
    if (name) out.set(digest, name);
  }
  return out;
}

/** The caps listed in a Definition's metadata (`metadata[digest].caps`). */
export function definitionCaps(def: Uint8Array): string[] {
  const t = messageType('pb.Definition');
  const d = t.toObject(t.decode(def), { defaults: false, objects: true }) as { metadata?: Record<string, { caps?: Record<string, boolean> }> };
  const caps = new Set<string>();
  for (const m of Object.values(d.metadata ?? {})) for (const [k, v] of Object.entries(m.caps ?? {})) if (v) caps.add(k);
  return [...caps].sort();
}

export function sortedMap(m?: Record<string, string>): Record<string, string> | undefined {
  if (!m || Object.keys(m).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

/** Op digests (`sha256:…`) of a marshalled Definition, in `def` order. */
export function definitionOpDigests(def: Uint8Array): string[] {
  const d = messageType('pb.Definition').decode(def) as unknown as { def?: Uint8Array[] };
  return (d.def ?? []).map((b) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`);
}
