/**
 * Where grpc-js and protobufjs come from. From the sources or the tsc output: node_modules, as
 * usual. From the CLI bundle: bin/stapelkit.cjs hands over a second bundle of the two
 * (dist/stapelkit-rpc.js, compiled with a V8 code cache of its own, as the CLI bundle is) and the
 * .proto files as one JSON descriptor made at bundle time — loading them from node_modules and
 * parsing proto/ was ~0.1 s of every command that dials BuildKit's gRPC.
 */
import type * as Grpc from '@grpc/grpc-js';
import type * as Protobuf from 'protobufjs';

export interface RpcDeps {
  grpc: typeof Grpc;
  protobuf: typeof Protobuf;
}

export interface BundledRpc {
  /** The bundle of both libraries (its getters load each on first use). */
  load(): RpcDeps;
  /** proto/ as protobufjs JSON (Root.toJSON of the same files), when the bundle carries it. */
  protoJson?: string;
}

let bundled: BundledRpc | undefined;
let deps: RpcDeps | undefined;

export function setBundledRpc(b: BundledRpc | undefined): void {
  bundled = b;
  deps = undefined;
}

export function bundledProtoJson(): string | undefined {
  return bundled?.protoJson;
}

/**
 * The bundled libraries, or undefined: the caller then requires the package itself (each caller
 * names only its own package, so a bundle of the frontend, which needs protobufjs alone, does not
 * take in grpc-js).
 */
export function bundledRpc(): RpcDeps | undefined {
  return bundled ? (deps ??= bundled.load()) : undefined;
}
