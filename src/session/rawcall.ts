/**
 * A gRPC bidi-streaming call served directly on a node:http2 stream, for the session's bulk
 * streams (FileSync/FileSend DiffCopy, SSH ForwardAgent). grpc-js completes each message write only
 * after the HTTP/2 write callback, i.e. one message in flight at a time, which costs a round trip
 * through the whole tunnel per 32 KiB packet. Here writes are flow-controlled by bytes (the HTTP/2
 * stream's buffer), messages are framed by hand (1 flag byte + 4-byte big-endian length), and the
 * call ends with `grpc-status` trailers.
 *
 * The object is an object-mode Duplex of whole message payloads, like a grpc-js ServerDuplexStream;
 * it emits 'cancelled' when the client resets the stream.
 */
import { Duplex } from 'node:stream';
import type * as http2 from 'node:http2';

const MAX_MESSAGE = 256 << 20;
const WRITE_BUFFER = 1 << 20;
const FLUSH_AT = 128 << 10;

/** Header values of one request, exactly as received (repeated fields stay separate). */
export function rawHeaderValues(rawHeaders: string[] | undefined, headers: http2.IncomingHttpHeaders, key: string): string[] {
  if (Array.isArray(rawHeaders)) {
    const out: string[] = [];
    for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i].toLowerCase() === key) out.push(rawHeaders[i + 1]);
    return out;
  }
  const v = headers[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [String(v)];
}

/** Lower-case names of the non-pseudo headers of a request. */
export function rawHeaderKeys(rawHeaders: string[] | undefined, headers: http2.IncomingHttpHeaders): string[] {
  const keys = Array.isArray(rawHeaders) ? rawHeaders.filter((_, i) => i % 2 === 0).map((k) => k.toLowerCase()) : Object.keys(headers);
  return [...new Set(keys.filter((k) => !k.startsWith(':')))];
}

/** grpc-message is percent-encoded (gRPC over HTTP/2 spec). */
function encodeGrpcMessage(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => [...Buffer.from(c)].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join(''));
}

export class RawGrpcCall extends Duplex {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;
  private status = { code: 0, message: '' };
  private finished = false;
  private paused = false;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;

  constructor(private readonly stream: http2.ServerHttp2Stream) {
    super({ objectMode: true, readableHighWaterMark: 64, writableHighWaterMark: 64 });
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => {
      const t: Record<string, string> = { 'grpc-status': String(this.status.code) };
      if (this.status.message) t['grpc-message'] = encodeGrpcMessage(this.status.message);
      stream.sendTrailers(t);
    });
    stream.on('data', (d: Buffer) => this.onData(d));
    stream.on('end', () => {
      if (this.buffered > 0) return this.destroy(new Error('truncated gRPC message'));
      this.push(null);
    });
    stream.on('aborted', () => this.emit('cancelled'));
    stream.on('close', () => {
      if (!this.finished && stream.rstCode) this.emit('cancelled');
      this.finished = true;
    });
    stream.on('error', (e) => this.destroy(e));
  }

  private takeBytes(n: number): Buffer {
    const first = this.chunks[0];
    this.buffered -= n;
    if (first.length === n) { this.chunks.shift(); return first; }
    if (first.length > n) { this.chunks[0] = first.subarray(n); return first.subarray(0, n); }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  private onData(d: Buffer): void {
    this.chunks.push(d);
    this.buffered += d.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 5) return;
        const h = this.takeBytes(5);
        if (h[0] !== 0) return void this.fail(12, 'compressed messages are not supported');
        this.need = h.readUInt32BE(1);
        if (this.need > MAX_MESSAGE) return void this.fail(8, `message of ${this.need} bytes is too large`);
      }
      if (this.buffered < this.need) return;
      const msg = this.need === 0 ? Buffer.alloc(0) : this.takeBytes(this.need);
      this.need = -1;
      if (!this.push(msg) && !this.paused) {
        this.paused = true;
        this.stream.pause();
      }
    }
  }

  override _read(): void {
    if (this.paused) {
      this.paused = false;
      this.stream.resume();
    }
  }

  override _write(msg: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.stream.closed || this.stream.destroyed) return cb(new Error('stream closed'));
    const header = Buffer.allocUnsafe(5);
    header[0] = 0;
    header.writeUInt32BE(msg.length, 1);
    this.out.push(header, msg);
    this.outBytes += 5 + msg.length;
    // Frames written in one burst go to HTTP/2 as one write: far fewer DATA frames and socket
    // writes for the many tiny packets of a small-file transfer (the daemon pays per read).
    if (this.outBytes >= FLUSH_AT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    // Keep up to WRITE_BUFFER bytes queued on the HTTP/2 stream (its own high-water mark is 16 KiB,
    // less than one DATA packet); beyond that, wait for the peer's flow control to drain it.
    if (this.stream.writableLength < WRITE_BUFFER) cb();
    else this.stream.once('drain', () => cb());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.outBytes || this.stream.closed || this.stream.destroyed) return;
    const buf = this.out.length === 1 ? this.out[0] : Buffer.concat(this.out, this.outBytes);
    this.out = [];
    this.outBytes = 0;
    this.stream.write(buf);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.flush();
    this.finished = true;
    if (!this.stream.closed) this.stream.end();
    cb();
  }

  /** Ends the call with a non-OK status (our side), e.g. NotFound. */
  fail(code: number, message: string): void {
    if (this.finished) return;
    this.status = { code, message };
    this.end();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.stream.closed && !this.stream.destroyed) {
      if (err && !this.finished) {
        this.status = { code: 2, message: err.message };
        this.finished = true;
        this.stream.end();
      } else if (!this.finished) this.stream.close();
    }
    cb(err);
  }
}
