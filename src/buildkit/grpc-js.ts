/**
 * @grpc/grpc-js, loaded on first use. A no-op build (every stage already stored) and an offline
 * compile make no gRPC call at all, and loading grpc-js is a large share of a short command's
 * start-up: modules import its types freely and reach its values only through grpcJs().
 */
import type * as Grpc from '@grpc/grpc-js';
import { bundledRpc } from '../util/rpc-deps';

let loaded: typeof Grpc | undefined;

export function grpcJs(): typeof Grpc {
  return (loaded ??= bundledRpc()?.grpc ?? (require('@grpc/grpc-js') as typeof Grpc));
}
