/**
 * Loads the project's own `.proto` files (under `proto/`) into one protobufjs Root, and turns a
 * protobufjs service into a grpc-js ServiceDefinition. Field names are kept exactly as written in
 * the .proto files (BuildKit's names, e.g. `Ref`, `ExporterAttrs`), so code reads like the protocol.
 *
 * Decoding convention: int64/uint64 become JS numbers when safe (strings otherwise), bytes stay
 * Buffers/Uint8Arrays, enums stay numbers, defaults are NOT filled in.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as protobuf from 'protobufjs';
import type * as grpc from '@grpc/grpc-js';
import { bundledProtoJson, bundledRpc } from './util/rpc-deps';

/** protobufjs is loaded (and the .proto files parsed) on the first message or service asked for. */
function protobufJs(): typeof protobuf {
  return bundledRpc()?.protobuf ?? (require('protobufjs') as typeof protobuf);
}

/** proto/ directory: next to src/ in the repo, or next to dist/src when compiled. */
export function protoDir(): string {
  const candidates = [path.resolve(__dirname, '..', 'proto'), path.resolve(__dirname, '..', '..', 'proto')];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`proto directory not found (looked in ${candidates.join(', ')})`);
}

function listProtos(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) out.push(...listProtos(p, base));
    else if (ent.name.endsWith('.proto')) out.push(path.relative(base, p));
  }
  return out.sort();
}

let cachedRoot: protobuf.Root | undefined;

/** All messages and services of proto/**\/*.proto in one Root (imports resolved relative to proto/). */
export function protoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const json = bundledProtoJson();
  if (json) {
    // The same files, parsed when the bundle was made (protoJson()).
    const root = protobufJs().Root.fromJSON(JSON.parse(fs.readFileSync(json, 'utf8')));
    root.resolveAll();
    return (cachedRoot = root);
  }
  const dir = protoDir();
  const root = new (protobufJs().Root)();
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(dir, target));
  root.loadSync(listProtos(dir), { keepCase: true });
  root.resolveAll();
  cachedRoot = root;
  return root;
}

/** proto/ as protobufjs JSON, for bundles: protoRoot() then reads it instead of the .proto files. */
export function protoJson(): string {
  return JSON.stringify(protoRoot().toJSON({ keepComments: false }));
}

export function messageType(fullName: string): protobuf.Type {
  return protoRoot().lookupType(fullName);
}

// 64-bit fields come out as bigint here and are settled by `settleLongs` below.
const toObjectOptions: protobuf.IConversionOptions = { longs: BigInt, enums: Number, bytes: Buffer as unknown as typeof String, defaults: false, arrays: true, objects: true };

/** int64/uint64 values: a number when exact, else the decimal string (UnixNano timestamps exceed 2^53). */
function settleLongs(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map(settleLongs);
  if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = settleLongs(o[k]);
  }
  return v;
}

export function encodeMessage(type: protobuf.Type, obj: Record<string, unknown>): Buffer {
  const err = type.verify(obj);
  if (err) throw new Error(`${type.fullName}: ${err}`);
  return Buffer.from(type.encode(type.fromObject(obj)).finish());
}

export function decodeMessage<T = Record<string, any>>(type: protobuf.Type, bytes: Uint8Array): T {
  return settleLongs(type.toObject(type.decode(bytes), toObjectOptions)) as T;
}

/** A grpc-js ServiceDefinition for a protobufjs service (`moby.buildkit.v1.Control` …). */
export function serviceDefinition(fullName: string): grpc.ServiceDefinition {
  const svc = protoRoot().lookupService(fullName);
  const def: Record<string, grpc.MethodDefinition<any, any>> = {};
  for (const m of svc.methodsArray) {
    m.resolve();
    const req = m.resolvedRequestType!;
    const res = m.resolvedResponseType!;
    def[m.name] = {
      path: `/${fullName}/${m.name}`,
      requestStream: !!m.requestStream,
      responseStream: !!m.responseStream,
      requestSerialize: (o: any) => (Buffer.isBuffer(o) ? o : encodeMessage(req, o)),
      requestDeserialize: (b: Buffer) => decodeMessage(req, b),
      responseSerialize: (o: any) => (Buffer.isBuffer(o) ? o : encodeMessage(res, o)),
      responseDeserialize: (b: Buffer) => decodeMessage(res, b),
      originalName: m.name,
    };
  }
  return def as grpc.ServiceDefinition;
}
