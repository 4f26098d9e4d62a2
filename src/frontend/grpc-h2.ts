/**
 * A minimal unary gRPC client on `node:http2` over any Duplex (the frontend's stdin/stdout).
 *
 * grpc-js cannot dial a pipe it did not open (grpc-node#2038), and the pipe is exactly one
 * connection that must never be re-dialled or idled out, so we speak HTTP/2 with prior knowledge
 * ourselves: each call is one stream carrying one length-prefixed message each way
 * (`[0][len u32 BE][bytes]`), and the status comes in the trailers (`grpc-status`, `grpc-message`,
 * `grpc-status-details-bin`), or in the headers for a trailers-only answer.
 */
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import { decodeMessage, messageType } from '../proto';

/** A non-OK gRPC status. Shaped like grpc-js's ServiceError so src/buildkit's error decoding applies. */
export class GrpcCallError extends Error {
  readonly details: string;
  readonly metadata: { get(key: string): (string | Buffer)[] };

  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    /** Raw `grpc-status-details-bin` (a google.rpc.Status), when the server sent one. */
    readonly statusDetails?: Buffer,
  ) {
    super(`${method}: ${grpcCodeName(code)}: ${message}`);
    this.name = 'GrpcCallError';
    this.details = message;
    const md = statusDetails ? { 'grpc-status-details-bin': [statusDetails] } : {};
    this.metadata = { get: (k: string) => (md as Record<string, Buffer[]>)[k] ?? [] };
  }

  /** The google.rpc.Status of this error (details included when the server sent them). */
  status(): { code: number; message: string; details?: { type_url?: string; value?: Buffer }[] } {
    if (this.statusDetails) {
      try {
        return decodeMessage(messageType('google.rpc.Status'), this.statusDetails);
      } catch {
        /* fall through to the plain status */
      }
    }
    return { code: this.code, message: this.details };
  }
}

const CODE_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? `code ${code}`;
}

/** gRPC's message framing: uncompressed flag + big-endian length + bytes. */
export function frameMessage(bytes: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

/** Splits a response body into its messages; refuses compressed or truncated frames. */
export function unframeMessages(body: Buffer, method = 'response'): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < body.length) {
    if (off + 5 > body.length) throw new GrpcCallError(method, 13, 'truncated gRPC frame header');
    if (body[off] !== 0) throw new GrpcCallError(method, 13, 'compressed gRPC message (no grpc-encoding was offered)');
    const len = body.readUInt32BE(off + 1);
    if (off + 5 + len > body.length) throw new GrpcCallError(method, 13, 'truncated gRPC message');
    out.push(body.subarray(off + 5, off + 5 + len));
    off += 5 + len;
  }
  return out;
}

/** `grpc-message` is percent-encoded (gRPC over HTTP/2 spec). */
function decodeGrpcMessage(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface UnaryOptions {
  timeoutMs?: number;
}

export class GrpcH2Client {
  private readonly session: http2.ClientHttp2Session;
  private failure: Error | undefined;

  constructor(conn: Duplex) {
    this.session = http2.connect('http://localhost', { createConnection: () => conn as any, settings: { enablePush: false } });
    this.session.on('error', (e) => (this.failure = e));
    this.session.on('close', () => (this.failure ??= new Error('the gRPC connection closed')));
    // The one connection lives as long as the build: no idle timeout.
    this.session.setTimeout(0);
  }

  /** One unary call: `path` is `/package.Service/Method`; resolves with the response message bytes. */
  unary(path: string, request: Uint8Array, opts: UnaryOptions = {}): Promise<Buffer> {
    if (this.failure) return Promise.reject(new GrpcCallError(path, 14, this.failure.message));
    return new Promise((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = {
        ':method': 'POST',
        ':path': path,
        ':scheme': 'http',
        'content-type': 'application/grpc+proto',
        te: 'trailers',
      };
      if (opts.timeoutMs) headers['grpc-timeout'] = `${Math.max(1, Math.ceil(opts.timeoutMs))}m`;
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.session.request(headers, { endStream: false });
      } catch (e) {
        reject(new GrpcCallError(path, 14, (e as Error).message));
        return;
      }
      const chunks: Buffer[] = [];
      let head: http2.IncomingHttpHeaders | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      let settled = false;
      const finish = (err?: Error, value?: Buffer) => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve(value!);
      };
      const timer = opts.timeoutMs
        ? setTimeout(() => {
            stream.close(http2.constants.NGHTTP2_CANCEL);
            finish(new GrpcCallError(path, 4, `no answer within ${opts.timeoutMs} ms`));
          }, opts.timeoutMs)
        : undefined;
      stream.on('response', (h) => (head = h));
      stream.on('trailers', (t) => (trailers = t));
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (e) => finish(new GrpcCallError(path, 14, e.message)));
      stream.on('close', () => {
        const st = trailers ?? head;
        const status = st?.['grpc-status'];
        if (status === undefined) {
          const http = Number(head?.[':status'] ?? 0);
          const bad = http !== 0 && http !== 200;
          finish(new GrpcCallError(path, bad ? 13 : 14, bad ? `HTTP status ${http}` : `the stream closed without a gRPC status (rst code ${stream.rstCode ?? '?'})`));
          return;
        }
        const code = Number(status);
        if (code !== 0) {
          const bin = st?.['grpc-status-details-bin'];
          const details = typeof bin === 'string' ? Buffer.from(bin, 'base64') : undefined;
          finish(new GrpcCallError(path, code, decodeGrpcMessage(st?.['grpc-message']), details));
          return;
        }
        try {
          const msgs = unframeMessages(Buffer.concat(chunks), path);
          if (msgs.length !== 1) throw new GrpcCallError(path, 13, `expected one response message, got ${msgs.length}`);
          finish(undefined, msgs[0]);
        } catch (e) {
          finish(e as Error);
        }
      });
      stream.end(frameMessage(request));
    });
  }

  /** Ends the HTTP/2 session (GOAWAY) once in-flight calls are done. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.session.closed || this.session.destroyed) return resolve();
      this.session.close(() => resolve());
    });
  }
}
