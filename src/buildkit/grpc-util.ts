/** Small gRPC helpers the Control-API modules share. */
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './grpc-js';
import { StapelkitError } from '../errors';
import { decodeGrpcError } from './build-error';

/** 16 MiB, as BuildKit's Go client. */
export const MAX_MESSAGE_SIZE = 16 << 20;

export type AnyClient = grpc.Client & Record<string, any>;

/** One unary call as a promise. */
export function unary<T>(client: AnyClient, method: string, req: unknown, md: grpc.Metadata = new (grpcJs().Metadata)(), deadlineMs?: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const opts: grpc.CallOptions = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
    client[method](req, md, opts, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** Waits for `p` (settled either way), but at most `ms`; the timer does not keep the process alive. */
export function waitAtMost(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
}

/** Call metadata naming the build a gateway (LLBBridge) call belongs to. */
export function buildIdMetadata(ref: string): grpc.Metadata {
  const md = new (grpcJs().Metadata)();
  md.set('buildkit-controlapi-buildid', ref);
  return md;
}

export function grpcFailure(what: string, err: unknown): StapelkitError {
  const e = err as grpc.ServiceError;
  const d = decodeGrpcError(e);
  if (e?.code === 14 /* UNAVAILABLE */) return new StapelkitError('DAEMON_UNREACHABLE', `${what}: the daemon is unavailable: ${d.message}`, { cause: err });
  return new StapelkitError('DAEMON_ERROR', `${what}: ${d.message}`, { cause: err });
}

