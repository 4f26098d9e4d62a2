/**
 * The message-stream shape the DiffCopy sender/receiver need: an object-mode Duplex of whole protobuf
 * messages (Buffers). A grpc-js ServerDuplexStream with identity (de)serializers is one; tests use an
 * in-memory pair.
 */
import { Duplex, type Writable } from 'node:stream';
import { decodeBytesMessage } from './packet';

/** Waits until the stream can take more writes (or fails/closes). */
export function waitDrain(s: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => { cleanup(); resolve(); };
    const fail = (e: Error) => { cleanup(); reject(e); };
    const closed = () => { cleanup(); reject(new Error('stream closed while waiting to write')); };
    const cleanup = () => { s.off('drain', done); s.off('error', fail); s.off('close', closed); };
    s.on('drain', done);
    s.on('error', fail);
    s.on('close', closed);
  });
}

/**
 * Writes the payload of every BytesMessage arriving on `call` to `out`, pausing `call` while `out`
 * is full. `onBytes` sees each payload's size (empty messages included).
 */
export function pipeBytesMessages(call: Duplex, out: Writable, onBytes?: (n: number) => void): void {
  call.on('data', (msg: Buffer) => {
    const data = decodeBytesMessage(msg);
    onBytes?.(data.length);
    if (data.length && !out.write(data)) {
      call.pause();
      out.once('drain', () => call.resume());
    }
  });
}

/** Two connected object-mode duplexes: what one writes, the other reads. For tests and loopbacks. */
export function messagePair(): [Duplex, Duplex] {
  let a!: Duplex;
  let b!: Duplex;
  const make = (peer: () => Duplex) =>
    new Duplex({
      objectMode: true,
      highWaterMark: 16,
      read() { /* data is pushed by the peer */ },
      write(chunk, _enc, cb) {
        const p = peer();
        if (p.destroyed) return cb(new Error('peer closed'));
        if (!p.push(chunk)) {
          // Respect the reader's buffer: finish this write once the peer drains.
          const origRead = p._read.bind(p);
          p._read = (n: number) => { p._read = origRead; cb(); origRead(n); };
          return;
        }
        cb();
      },
      final(cb) { peer().push(null); cb(); },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}

/**
 * Wraps a byte-stream Duplex so that HTTP/2 output reaches it in large chunks. Node's http2 over a
 * JS stream hands each frame buffer to write() separately; when every write is a gRPC message of
 * its own (the `Control.Session` tunnel) and completes only after a round trip, that caps the
 * session's throughput. Writes issued while one is in flight are merged into one (via _writev).
 */
export class CoalescingDuplex extends Duplex {
  private waitingRead = false;

  constructor(private readonly inner: Duplex) {
    super({ writableHighWaterMark: 1 << 20, allowHalfOpen: true });
    inner.on('data', (d: Buffer) => {
      if (!this.push(d)) {
        this.waitingRead = true;
        inner.pause();
      }
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (e) => this.destroy(e));
    inner.on('close', () => this.destroy());
  }

  override _read(): void {
    if (this.waitingRead) {
      this.waitingRead = false;
      this.inner.resume();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.inner.write(chunk, cb);
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (err?: Error | null) => void): void {
    this.inner.write(chunks.length === 1 ? chunks[0].chunk : Buffer.concat(chunks.map((c) => c.chunk)), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.inner.destroyed) this.inner.destroy(err ?? undefined);
    cb(err);
  }
}
