/**
 * Entry of dist/stapelkit-rpc.js (scripts/bundle.ts): grpc-js and protobufjs in one file, each
 * initialised on first use. bin/stapelkit.cjs loads it for src/util/rpc-deps.ts.
 */
import type { RpcDeps } from '../util/rpc-deps';

export const rpc: RpcDeps = {
  get grpc() {
    return require('@grpc/grpc-js');
  },
  get protobuf() {
    return require('protobufjs');
  },
};
