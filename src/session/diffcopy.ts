/**
 * The fsutil DiffCopy packet protocol (fsutil send.go / receive.go semantics), both roles:
 *  - sendDiffCopy: we are the sender (FileSync: the daemon pulls a local context from us).
 *  - receiveDiffCopy: we are the receiver (FileSend for the `local` exporter: the daemon pushes a tree).
 * Both work on an object-mode message stream of encoded Packets.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import {
  PACKET_DATA, PACKET_ERR, PACKET_FIN, PACKET_REQ, PACKET_STAT, DATA_HEADER_ROOM,
  decodePacket, encodeDataPacketInPlace, encodeSimplePacket, encodeStatPacket, type Stat,
} from './packet';
import { walk, type WalkOptions } from './walker';
import { normalizeTree, walkTree, type TreeSource, type TreeSourceEntry } from './tree-source';
import { waitDrain } from './stream';
import { chmodBitsFromGo, isDir, isRegular, isSymlink } from './gomode';
import { cleanPath } from '../util/gopath';
import { StapelkitError } from '../errors';

function ignoreLateError(): void { /* nothing left to report to */ }

interface StreamListeners {
  data(msg: Buffer): void;
  end(): void;
  error(e: Error): void;
  /** grpc-js server calls emit 'cancelled' (not 'end') when the peer cancels. */
  cancelled(): void;
}

/** Attaches `on` to `conn`; the returned function detaches them and swallows late errors from the peer. */
function listen(conn: Duplex, on: StreamListeners): () => void {
  const events = Object.entries(on) as [string, (...a: any[]) => void][];
  for (const [ev, fn] of events) conn.on(ev, fn);
  return () => {
    for (const [ev, fn] of events) conn.off(ev, fn);
    conn.on('error', ignoreLateError); // the peer may tear the call down after we are done
  };
}

/** Settles a DiffCopy promise: non-Error failures are wrapped in a DiffCopyError. */
function settle<T>(resolve: (v: T) => void, reject: (e: Error) => void, result: T, err?: unknown): void {
  if (err) reject(err instanceof Error ? err : new DiffCopyError(String(err)));
  else resolve(result);
}

/** fsutil sends file contents in 32 KiB DATA packets. */
export const DEFAULT_CHUNK_SIZE = 32 * 1024;
/** Virtual-tree file reads kept in flight ahead of the one being sent. */
const TREE_READ_AHEAD = 128;
/** Walk entries sent between yields to the event loop, so REQs are answered while walking. */
const WALK_BATCH = 256;

export class DiffCopyError extends StapelkitError {
  constructor(message: string, cause?: unknown) {
    super('E_SESSION_DIFFCOPY', message, { cause });
  }
}

export interface SendOptions extends WalkOptions {
  chunkSize?: number;
  /** Called once per walked entry (e.g. for progress); must be cheap. */
  onStat?: (stat: Stat) => void;
}

export interface SendResult {
  entries: number;
  filesSent: number;
  bytesSent: number;
  /** Time spent waiting for the stream to drain (receiver/flow control slower than us). */
  drainMs: number;
  /** Time the file pump sat idle with nothing requested after the walk finished. */
  idleMs: number;
  walkMs: number;
}

/**
 * Runs the sender side over `conn` until the receiver's FIN has been answered. On a walk error a
 * PACKET_ERR is sent and the promise rejects. `root` is a directory on disk or a virtual tree.
 */
export function sendDiffCopy(conn: Duplex, root: string | TreeSource, opts: SendOptions = {}): Promise<SendResult> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  return new Promise<SendResult>((resolve, reject) => {
    const paths: string[] = []; // entry id → absolute path (disk)
    const treeEntries: TreeSourceEntry[] = []; // entry id → virtual entry (tree source)
    const source = typeof root === 'string' ? undefined : root;
    const sizes: number[] = [];
    const regular: boolean[] = [];
    const queue: number[] = [];
    let qHead = 0;
    let pumping = false;
    let finished = false;
    const result: SendResult = { entries: 0, filesSent: 0, bytesSent: 0, drainMs: 0, idleMs: 0, walkMs: 0 };
    const t0 = Date.now();
    let walkDone = 0;
    let idleSince = 0;
    const drain = async () => { const t = Date.now(); await waitDrain(conn); result.drainMs += Date.now() - t; };

    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      detach();
      settle(resolve, reject, result, err);
    };
    const onData = (msg: Buffer) => {
      let p;
      try {
        p = decodePacket(msg);
      } catch (e) {
        return finish(new DiffCopyError(`invalid packet from receiver: ${(e as Error).message}`, e));
      }
      switch (p.type) {
        case PACKET_REQ:
          if (p.id >= paths.length) return finish(new DiffCopyError(`invalid file request ${p.id}`));
          queue.push(p.id);
          void pump();
          break;
        case PACKET_ERR:
          return finish(new DiffCopyError(`error from receiver: ${p.data ? p.data.toString() : ''}`));
        case PACKET_FIN:
          if (idleSince) result.idleMs += Date.now() - idleSince;
          conn.write(encodeSimplePacket(PACKET_FIN));
          conn.end();
          return finish();
        default:
          break; // STAT/DATA are not sent to a sender; fsutil ignores them too
      }
    };
    const detach = listen(conn, {
      data: onData,
      end: () => finish(new DiffCopyError('receiver closed the stream before FIN')),
      error: finish,
      cancelled: () => finish(new DiffCopyError('transfer cancelled by the receiver')),
    });

    /** A virtual file: its contents from the source, in DATA packets of chunkSize. */
    // Virtual files are read ahead of the pump (up to TREE_READ_AHEAD requested ids), so reads from a
    // slow source (a git cat-file pipe) overlap instead of costing one round trip per file.
    const prefetched = new Map<number, Promise<Buffer>>();
    const readAhead = () => {
      for (let i = qHead; i < queue.length && i < qHead + TREE_READ_AHEAD; i++) {
        const id = queue[i];
        if (regular[id] && !prefetched.has(id)) {
          const p = source!.read(treeEntries[id]);
          p.catch(() => undefined); // awaited (and reported) by sendTreeFile
          prefetched.set(id, p);
        }
      }
    };
    const sendTreeFile = async (id: number) => {
      if (regular[id]) {
        readAhead();
        const pending = prefetched.get(id) ?? source!.read(treeEntries[id]);
        prefetched.delete(id);
        const data = await pending;
        if (finished) return;
        for (let off = 0; off < data.length; off += chunkSize) {
          const n = Math.min(chunkSize, data.length - off);
          const buf = Buffer.allocUnsafe(DATA_HEADER_ROOM + n);
          data.copy(buf, DATA_HEADER_ROOM, off, off + n);
          result.bytesSent += n;
          const ok = conn.write(encodeDataPacketInPlace(buf, id, n));
          if (finished) return;
          if (!ok) await drain();
        }
      }
      result.filesSent++;
      if (!conn.write(encodeSimplePacket(PACKET_DATA, id)) && !finished) await drain();
    };

    const sendFile = async (id: number) => {
      if (source) return sendTreeFile(id);
      let fd = -1;
      // Only regular files are served, never through a symlink (a daemon asking for a symlink's id
      // must not get the contents of whatever it points to outside the context).
      if (regular[id]) {
        try {
          fd = fs.openSync(paths[id], fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
        } catch {
          fd = -1; // fsutil still answers with an empty DATA when the file cannot be opened
        }
      }
      if (fd >= 0) {
        try {
          // Read size+1 bytes for small files: a short read then marks EOF without another syscall.
          let want = Math.min(chunkSize, sizes[id] + 1);
          for (;;) {
            const buf = Buffer.allocUnsafe(DATA_HEADER_ROOM + want);
            const n = fs.readSync(fd, buf, DATA_HEADER_ROOM, want, null);
            if (n === 0) break;
            result.bytesSent += n;
            const ok = conn.write(encodeDataPacketInPlace(buf, id, n));
            if (finished) return;
            if (!ok) await drain();
            if (n < want) break;
            want = chunkSize;
          }
        } finally {
          fs.closeSync(fd);
        }
      }
      result.filesSent++;
      if (!conn.write(encodeSimplePacket(PACKET_DATA, id)) && !finished) await drain();
    };

    const pump = async () => {
      if (pumping) return;
      pumping = true;
      if (idleSince) { result.idleMs += Date.now() - idleSince; idleSince = 0; }
      try {
        while (qHead < queue.length && !finished) {
          await sendFile(queue[qHead++]);
          if (qHead > 4096 && qHead === queue.length) { queue.length = 0; qHead = 0; }
        }
      } catch (e) {
        finish(e);
      } finally {
        pumping = false;
        if (walkDone) idleSince = Date.now();
      }
    };

    const walkAndSend = async () => {
      try {
        let n = 0;
        const entries = source
          ? walkTree(normalizeTree(await source.entries(), source.dirMode), { ...opts, mtimeNs: source.mtimeNs })
          : walk(root as string, opts);
        for (const entry of entries) {
          if (finished) return;
          if ('absPath' in entry) paths.push(entry.absPath);
          else { paths.push(''); treeEntries.push(entry.entry); }
          sizes.push(Number(entry.stat.size));
          regular.push(entry.isFile);
          opts.onStat?.(entry.stat);
          result.entries++;
          if (!conn.write(encodeStatPacket(entry.stat))) await drain();
          if (++n % WALK_BATCH === 0) await new Promise<void>((r) => setImmediate(r));
        }
        if (!finished) conn.write(encodeStatPacket(undefined));
        walkDone = Date.now();
        result.walkMs = walkDone - t0;
        if (!pumping) idleSince = walkDone;
      } catch (e) {
        if (finished) return;
        try {
          conn.write(encodeSimplePacket(PACKET_ERR, 0, Buffer.from((e as Error).message)));
        } catch { /* the stream may already be broken */ }
        finish(e);
      }
    };
    void walkAndSend();
  });
}

// ---------------------------------------------------------------------------------------------

export interface ReceiveResult {
  entries: number;
  files: number;
  bytes: number;
  /** Entries that could not be recreated (device nodes, fifos): path and reason. */
  skipped: { path: string; reason: string }[];
}

interface PendingFile { target: string; stat: Stat; fd: number }

function removeExisting(target: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(target);
  } catch {
    return;
  }
  if (st.isDirectory()) fs.rmSync(target, { recursive: true, force: true });
  else fs.unlinkSync(target);
}

function setTimes(target: string, stat: Stat, symlink: boolean): void {
  const t = Number(stat.modTime) / 1e9;
  if (symlink) fs.lutimesSync(target, t, t);
  else fs.utimesSync(target, t, t);
}

/**
 * Runs the receiver side: recreates the sent tree under `dest` (created if missing; existing entries
 * with the same names are replaced, others are left alone), requests every regular file, then sends
 * FIN and waits for the sender to close. Owners are not changed.
 */
export function receiveDiffCopy(conn: Duplex, dest: string): Promise<ReceiveResult> {
  fs.mkdirSync(dest, { recursive: true });
  const root = fs.realpathSync(dest);
  return new Promise<ReceiveResult>((resolve, reject) => {
    const result: ReceiveResult = { entries: 0, files: 0, bytes: 0, skipped: [] };
    const dirSet = new Set<string>(); // dirs created from this stream (safe parents)
    const fileSet = new Set<string>(); // regular files (valid hardlink targets)
    const seen = new Set<string>();
    const dirs: { target: string; stat: Stat }[] = [];
    const pending = new Map<number, PendingFile>();
    let nextId = 0;
    let statsDone = false;
    let finSent = false;
    let finished = false;

    const finish = (err?: unknown) => {
      if (finished) return;
      finished = true;
      detach();
      for (const p of pending.values()) if (p.fd >= 0) try { fs.closeSync(p.fd); } catch { /* ignore */ }
      if (err) {
        try { conn.write(encodeSimplePacket(PACKET_ERR, 0, Buffer.from(String((err as Error).message ?? err)))); conn.end(); } catch { /* ignore */ }
      }
      settle(resolve, reject, result, err);
    };

    const maybeFinish = () => {
      if (!statsDone || pending.size > 0 || finSent) return;
      // Directory metadata last, deepest first, so writing children does not disturb mtimes.
      for (let i = dirs.length - 1; i >= 0; i--) {
        const d = dirs[i];
        fs.chmodSync(d.target, chmodBitsFromGo(d.stat.mode));
        setTimes(d.target, d.stat, false);
      }
      finSent = true;
      conn.write(encodeSimplePacket(PACKET_FIN));
    };

    const handleStat = (stat: Stat) => {
      const id = nextId++;
      const rel = stat.path;
      if (!rel || rel.startsWith('/') || cleanPath(rel) !== rel || rel === '..' || rel.startsWith('../')) {
        throw new DiffCopyError(`invalid path ${JSON.stringify(rel)} in transfer`);
      }
      const slash = rel.lastIndexOf('/');
      const parent = slash < 0 ? '' : rel.slice(0, slash);
      if (parent && !dirSet.has(parent)) throw new DiffCopyError(`changes out of order: ${rel} before its parent directory`);
      // A repeated path could turn a directory we created into a symlink and redirect later writes.
      if (seen.has(rel)) throw new DiffCopyError(`duplicate path ${rel} in transfer`);
      seen.add(rel);
      const target = path.join(root, rel);
      result.entries++;
      if (isDir(stat.mode)) {
        let existing: fs.Stats | undefined;
        try { existing = fs.lstatSync(target); } catch { existing = undefined; }
        if (existing && !existing.isDirectory()) { fs.unlinkSync(target); existing = undefined; }
        if (!existing) fs.mkdirSync(target, 0o700);
        dirSet.add(rel);
        dirs.push({ target, stat });
      } else if (isSymlink(stat.mode)) {
        removeExisting(target);
        fs.symlinkSync(stat.linkname, target);
        setTimes(target, stat, true);
      } else if (isRegular(stat.mode)) {
        removeExisting(target);
        if (stat.linkname) {
          if (!fileSet.has(stat.linkname)) throw new DiffCopyError(`invalid hardlink ${rel} → ${stat.linkname}`);
          fs.linkSync(path.join(root, stat.linkname), target);
          return;
        }
        fs.closeSync(fs.openSync(target, 'wx', 0o600));
        fileSet.add(rel);
        pending.set(id, { target, stat, fd: -1 });
        result.files++;
        conn.write(encodeSimplePacket(PACKET_REQ, id));
      } else {
        result.skipped.push({ path: rel, reason: `unsupported file type (mode ${(stat.mode >>> 0).toString(8)})` });
      }
    };

    const handleData = (id: number, data: Buffer | undefined) => {
      const p = pending.get(id);
      if (!p) throw new DiffCopyError(`unexpected data for entry ${id}`);
      if (!data || data.length === 0) {
        if (p.fd >= 0) fs.closeSync(p.fd);
        pending.delete(id);
        fs.chmodSync(p.target, chmodBitsFromGo(p.stat.mode));
        setTimes(p.target, p.stat, false);
        maybeFinish();
        return;
      }
      if (p.fd < 0) p.fd = fs.openSync(p.target, 'r+');
      let off = 0;
      while (off < data.length) off += fs.writeSync(p.fd, data, off, data.length - off);
      result.bytes += data.length;
    };

    const onData = (msg: Buffer) => {
      try {
        const p = decodePacket(msg);
        switch (p.type) {
          case PACKET_STAT:
            if (statsDone) throw new DiffCopyError('STAT after the end of the listing');
            if (p.stat) handleStat(p.stat);
            else { statsDone = true; maybeFinish(); }
            break;
          case PACKET_DATA:
            handleData(p.id, p.data);
            break;
          case PACKET_ERR:
            return finish(new DiffCopyError(`error from sender: ${p.data ? p.data.toString() : ''}`));
          case PACKET_FIN:
            // The sender's answer to our FIN. BuildKit's exporter does not close its side afterwards
            // (the call lives until the solve ends), so the FIN itself completes the transfer.
            if (!finSent) throw new DiffCopyError('sender finished before the transfer completed');
            conn.end();
            return finish();
          default:
            break;
        }
      } catch (e) {
        finish(e);
      }
    };
    const detach = listen(conn, {
      data: onData,
      end: () => {
        if (!finSent) return finish(new DiffCopyError('sender closed the stream before the transfer completed'));
        conn.end();
        finish();
      },
      error: finish,
      cancelled: () => finish(new DiffCopyError('transfer cancelled by the sender')),
    });
  });
}
