/**
 * A content-addressed blob store over a local OCI image-layout directory (`blobs/<alg>/<hex>`), the
 * session side of BuildKit's `--cache-to/--cache-from type=local` and of the oci/docker exporters
 * with tar=false. Semantics follow containerd's local content store, which BuildKit's own client
 * serves there: resumable writes per ref under `ingest/`, commit checks size and digest, an existing
 * blob is "already exists", a ref being written elsewhere is "unavailable". Labels live in memory
 * for the session (the on-disk layout has no place for them).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';

/** Error kinds as containerd's errdefs (mapped to gRPC codes by the service). */
export type ContentErrorKind = 'not-found' | 'already-exists' | 'unavailable' | 'failed-precondition' | 'invalid-argument' | 'out-of-range';

export class ContentError extends Error {
  constructor(
    readonly kind: ContentErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ContentError';
  }
}

export interface BlobInfo {
  digest: string;
  size: number;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

export interface IngestStatus {
  ref: string;
  offset: number;
  total: number;
  expected: string;
  startedAt: Date;
  updatedAt: Date;
}

const DIGEST_RE = /^(sha256|sha384|sha512):([a-f0-9]{64}|[a-f0-9]{96}|[a-f0-9]{128})$/;

function parseDigest(d: string): { alg: string; hex: string } {
  const m = DIGEST_RE.exec(d);
  if (!m || m[2].length !== { sha256: 64, sha384: 96, sha512: 128 }[m[1]]) throw new ContentError('invalid-argument', `invalid digest ${JSON.stringify(d)}`);
  return { alg: m[1], hex: m[2] };
}

interface IngestMeta { ref: string; total: number; expected: string; startedAt: string; updatedAt: string }

/** An open write (one per ref at a time). */
export class ContentWriter {
  private closed = false;

  constructor(
    private readonly store: LocalContentStore,
    readonly ref: string,
    private readonly dir: string,
    private meta: IngestMeta,
  ) {}

  private get dataPath(): string {
    return path.join(this.dir, 'data');
  }

  status(): IngestStatus {
    return { ref: this.ref, offset: fs.statSync(this.dataPath).size, total: this.meta.total, expected: this.meta.expected, startedAt: new Date(this.meta.startedAt), updatedAt: new Date(this.meta.updatedAt) };
  }

  /** Latest total/expected win (as containerd's Write stream says). */
  expect(total: number, expected: string): void {
    if (total > 0) this.meta.total = total;
    if (expected) this.meta.expected = expected;
    this.saveMeta();
  }

  private saveMeta(): void {
    fs.writeFileSync(path.join(this.dir, 'meta.json'), JSON.stringify(this.meta));
  }

  write(data: Uint8Array): number {
    fs.appendFileSync(this.dataPath, data);
    this.meta.updatedAt = new Date().toISOString();
    this.saveMeta();
    return data.length;
  }

  truncate(size: number): void {
    fs.truncateSync(this.dataPath, size);
  }

  /** Digest of what has been written so far. */
  digest(alg = 'sha256'): string {
    const h = crypto.createHash(alg);
    const fd = fs.openSync(this.dataPath, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    } finally {
      fs.closeSync(fd);
    }
    return `${alg}:${h.digest('hex')}`;
  }

  /** Moves the data to blobs/ after checking size and digest; the writer is done either way on success. */
  commit(total: number, expected: string, labels: Record<string, string> = {}): string {
    const size = fs.statSync(this.dataPath).size;
    const wantTotal = total > 0 ? total : this.meta.total;
    if (wantTotal > 0 && size !== wantTotal) throw new ContentError('failed-precondition', `unexpected commit size ${size}, expected ${wantTotal}`);
    const want = expected || this.meta.expected;
    const got = this.digest(want ? parseDigest(want).alg : 'sha256');
    if (want && got !== want) throw new ContentError('failed-precondition', `unexpected commit digest ${got}, expected ${want}`);
    const target = this.store.blobPath(got);
    if (fs.existsSync(target)) {
      this.close(true);
      throw new ContentError('already-exists', `content ${got}: already exists`);
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.renameSync(this.dataPath, target);
    if (Object.keys(labels).length) this.store.setLabels(got, labels);
    this.close(true);
    return got;
  }

  /** Releases the ref; `remove` also deletes the ingest (after commit or abort). */
  close(remove = false): void {
    if (this.closed) return;
    this.closed = true;
    if (remove) fs.rmSync(this.dir, { recursive: true, force: true });
    this.store.release(this.ref);
  }
}

export class LocalContentStore {
  private readonly locked = new Set<string>();
  private readonly labels = new Map<string, Record<string, string>>();
  private readonly updated = new Map<string, Date>();

  constructor(readonly root: string) {
    fs.mkdirSync(root, { recursive: true });
  }

  blobPath(digest: string): string {
    const { alg, hex } = parseDigest(digest);
    return path.join(this.root, 'blobs', alg, hex);
  }

  private ingestDir(ref: string): string {
    return path.join(this.root, 'ingest', crypto.createHash('sha256').update(ref).digest('hex'));
  }

  info(digest: string): BlobInfo {
    const p = this.blobPath(digest);
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new ContentError('not-found', `content digest ${digest}: not found`);
    }
    return { digest, size: st.size, createdAt: st.mtime, updatedAt: this.updated.get(digest) ?? st.mtime, labels: { ...(this.labels.get(digest) ?? {}) } };
  }

  /** Replaces labels (all, or only the `labels.<key>` fields named in `fieldPaths`). */
  update(digest: string, labels: Record<string, string>, fieldPaths: string[] = []): BlobInfo {
    this.info(digest);
    let next: Record<string, string>;
    if (fieldPaths.length === 0 || fieldPaths.includes('labels')) next = { ...labels };
    else {
      next = { ...(this.labels.get(digest) ?? {}) };
      for (const fp of fieldPaths) {
        if (!fp.startsWith('labels.')) throw new ContentError('invalid-argument', `cannot update ${fp} on content info`);
        const k = fp.slice('labels.'.length);
        if (labels[k] === undefined || labels[k] === '') delete next[k];
        else next[k] = labels[k];
      }
    }
    this.setLabels(digest, next);
    return this.info(digest);
  }

  setLabels(digest: string, labels: Record<string, string>): void {
    this.labels.set(digest, labels);
    this.updated.set(digest, new Date());
  }

  /** Reads `size` bytes at `offset` (size 0: to the end). */
  read(digest: string, offset = 0, size = 0): Readable {
    const info = this.info(digest);
    if (offset > info.size) throw new ContentError('invalid-argument', `offset ${offset} beyond the end of ${digest} (${info.size} bytes)`);
    const len = (size > 0 ? Math.min(info.size, offset + size) : info.size) - offset;
    if (len <= 0) return Readable.from([]);
    return fs.createReadStream(this.blobPath(digest), { start: offset, end: offset + len - 1, highWaterMark: 1 << 20 });
  }

  delete(digest: string): void {
    try {
      fs.unlinkSync(this.blobPath(digest));
    } catch {
      throw new ContentError('not-found', `content digest ${digest}: not found`);
    }
    this.labels.delete(digest);
  }

  list(): BlobInfo[] {
    const out: BlobInfo[] = [];
    const blobs = path.join(this.root, 'blobs');
    if (!fs.existsSync(blobs)) return out;
    for (const alg of fs.readdirSync(blobs)) {
      for (const hex of fs.readdirSync(path.join(blobs, alg))) {
        const d = `${alg}:${hex}`;
        if (DIGEST_RE.test(d)) out.push(this.info(d));
      }
    }
    return out;
  }

  private readMeta(dir: string): IngestMeta | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as IngestMeta;
    } catch {
      return undefined;
    }
  }

  status(ref: string): IngestStatus {
    const dir = this.ingestDir(ref);
    const meta = this.readMeta(dir);
    if (!meta) throw new ContentError('not-found', `ingest ref ${JSON.stringify(ref)}: not found`);
    const size = fs.existsSync(path.join(dir, 'data')) ? fs.statSync(path.join(dir, 'data')).size : 0;
    return { ref, offset: size, total: meta.total, expected: meta.expected, startedAt: new Date(meta.startedAt), updatedAt: new Date(meta.updatedAt) };
  }

  listStatuses(): IngestStatus[] {
    const ingest = path.join(this.root, 'ingest');
    if (!fs.existsSync(ingest)) return [];
    const out: IngestStatus[] = [];
    for (const h of fs.readdirSync(ingest)) {
      const meta = this.readMeta(path.join(ingest, h));
      if (meta) out.push(this.status(meta.ref));
    }
    return out;
  }

  abort(ref: string): void {
    const dir = this.ingestDir(ref);
    if (!this.readMeta(dir)) throw new ContentError('not-found', `ingest ref ${JSON.stringify(ref)}: not found`);
    if (this.locked.has(ref)) throw new ContentError('unavailable', `ref ${ref} is being written`);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  /** Opens (or resumes) the write of `ref`. */
  writer(ref: string, total = 0, expected = ''): ContentWriter {
    if (!ref) throw new ContentError('invalid-argument', 'a write needs a ref');
    if (expected && fs.existsSync(this.blobPath(expected))) throw new ContentError('already-exists', `content ${expected}: already exists`);
    if (this.locked.has(ref)) throw new ContentError('unavailable', `ref ${ref} locked`);
    const dir = this.ingestDir(ref);
    let meta = this.readMeta(dir);
    if (!meta) {
      fs.mkdirSync(dir, { recursive: true });
      const now = new Date().toISOString();
      meta = { ref, total, expected, startedAt: now, updatedAt: now };
      fs.writeFileSync(path.join(dir, 'data'), '');
      fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify(meta));
    }
    this.locked.add(ref);
    const w = new ContentWriter(this, ref, dir, meta);
    w.expect(total, expected);
    return w;
  }

  release(ref: string): void {
    this.locked.delete(ref);
  }
}
