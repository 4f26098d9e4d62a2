/**
 * BuildKit's Status stream for people and for tests.
 *
 * - `ProgressCollector` records, per vertex digest, its name, cached/started/completed/error and
 *   logs (tests assert "every vertex cached"; the client uses it to explain a failed RUN).
 * - `PlainPrinter`: buildx's plain format (`#N [name]`, `#N 0.123 log line`, `#N CACHED`,
 *   `#N DONE 1.2s`, `#N ERROR: …`), one line at a time, good for logs and CI.
 * - `TtyPrinter`: a live view redrawn in place (running steps with timers and their last log lines).
 * `createProgress('auto')` picks tty when the stream is a terminal, plain otherwise.
 */
import type { Writable } from 'node:stream';

export interface VertexInfo {
  digest: string;
  inputs: string[];
  name: string;
  cached: boolean;
  started?: Date;
  completed?: Date;
  error?: string;
}

export interface VertexStatusInfo {
  id: string;
  vertex: string;
  name: string;
  current: number;
  total: number;
  timestamp?: Date;
  started?: Date;
  completed?: Date;
}

export interface VertexLogInfo {
  vertex: string;
  timestamp?: Date;
  /** 1 = stdout, 2 = stderr */
  stream: number;
  msg: Buffer;
}

/** One StatusResponse, decoded. */
export interface StatusUpdate {
  vertexes: VertexInfo[];
  statuses: VertexStatusInfo[];
  logs: VertexLogInfo[];
}

export interface ProgressSink {
  update(u: StatusUpdate): void;
  /** Called once when the build ended (err set when it failed). */
  done?(err?: unknown): void;
}

/** A google.protobuf.Timestamp (protobufjs object) as a Date; unset or zero gives undefined. */
export function protoDate(t: any): Date | undefined {
  if (!t) return undefined;
  const seconds = Number(t.seconds ?? 0);
  const nanos = Number(t.nanos ?? 0);
  if (!seconds && !nanos) return undefined;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6));
}

/**
 * Appends a log chunk to the unfinished line `partial`: the complete lines it ends (without "\r\n"
 * or "\n") and the new unfinished rest.
 */
function splitLogLines(partial: string, chunk: Buffer): { lines: string[]; rest: string } {
  const lines = (partial + chunk.toString()).split('\n');
  const rest = lines.pop() ?? '';
  return { lines: lines.map((l) => l.replace(/\r$/, '')), rest };
}

/** A decoded `moby.buildkit.v1.StatusResponse` (protobufjs object) as a StatusUpdate. */
export function toStatusUpdate(msg: any): StatusUpdate {
  return {
    vertexes: (msg.vertexes ?? []).map((v: any) => ({
      digest: v.digest ?? '',
      inputs: v.inputs ?? [],
      name: v.name ?? '',
      cached: !!v.cached,
      started: protoDate(v.started),
      completed: protoDate(v.completed),
      error: v.error || undefined,
    })),
    statuses: (msg.statuses ?? []).map((s: any) => ({
      id: s.ID ?? '',
      vertex: s.vertex ?? '',
      name: s.name ?? '',
      current: Number(s.current ?? 0),
      total: Number(s.total ?? 0),
      timestamp: protoDate(s.timestamp),
      started: protoDate(s.started),
      completed: protoDate(s.completed),
    })),
    logs: (msg.logs ?? []).map((l: any) => ({ vertex: l.vertex ?? '', timestamp: protoDate(l.timestamp), stream: Number(l.stream ?? 0), msg: Buffer.from(l.msg ?? []) })),
  };
}

export interface VertexRecord extends VertexInfo {
  /** Raw log chunks in arrival order (stdout and stderr mixed). */
  logs: Buffer[];
  /** Complete log lines in arrival order, with their stream (1 stdout, 2 stderr). */
  lines: { stream: number; text: string }[];
  /** Unfinished last line per stream. */
  partial: Record<number, string>;
}

export class ProgressCollector implements ProgressSink {
  /** In order of first appearance. */
  readonly vertices = new Map<string, VertexRecord>();
  /**
   * Digests of the build's source ops (image, local, git, http), filled in by solve(). BuildKit
   * never reports these as cached: when everything after them is cached they are only resolved
   * (for their cache key), shown as completed, and not loaded.
   */
  readonly sourceDigests = new Set<string>();
  finished = false;
  error: unknown;

  update(u: StatusUpdate): void {
    for (const v of u.vertexes) {
      const prev = this.vertices.get(v.digest);
      if (prev) Object.assign(prev, { ...v, logs: prev.logs, lines: prev.lines, partial: prev.partial, started: v.started ?? prev.started, completed: v.completed ?? prev.completed, error: v.error ?? prev.error });
      else this.vertices.set(v.digest, { ...v, logs: [], lines: [], partial: {} });
    }
    for (const l of u.logs) {
      let rec = this.vertices.get(l.vertex);
      if (!rec) {
        rec = { digest: l.vertex, inputs: [], name: '', cached: false, logs: [], lines: [], partial: {} };
        this.vertices.set(l.vertex, rec);
      }
      rec.logs.push(l.msg);
      const { lines, rest } = splitLogLines(rec.partial[l.stream] ?? '', l.msg);
      rec.partial[l.stream] = rest;
      for (const text of lines) rec.lines.push({ stream: l.stream, text });
    }
  }

  done(err?: unknown): void {
    this.finished = true;
    this.error = err;
  }

  list(): VertexRecord[] {
    return [...this.vertices.values()];
  }

  /**
   * true when at least one vertex was reported and every one was cached — except source ops, which
   * count when they completed without error (see sourceDigests); `strict` counts them too.
   */
  allCached(opts: { strict?: boolean } = {}): boolean {
    return this.list().length > 0 && this.uncached(opts).length === 0;
  }

  /** The vertices that were not answered from the cache (sources exempt as in allCached). */
  uncached(opts: { strict?: boolean } = {}): VertexRecord[] {
    return this.list().filter((v) => !v.cached && (opts.strict || !this.sourceDigests.has(v.digest) || !v.completed || !!v.error));
  }

  failed(): VertexRecord[] {
    return this.list().filter((v) => v.error);
  }

  logText(digest: string): string {
    return Buffer.concat(this.vertices.get(digest)?.logs ?? []).toString();
  }

  /**
   * The last `n` non-empty log lines of a vertex, in arrival order. stdout and stderr are separate
   * pipes, so their relative order is not exact; since error messages usually go to stderr, the
   * last few stderr lines are always kept (in place of the oldest stdout lines).
   */
  lastLogLines(digest: string, n = 10, keepStderr = 3): string[] {
    const rec = this.vertices.get(digest);
    if (!rec) return [];
    const lines = [...rec.lines, ...Object.entries(rec.partial).filter(([, t]) => t).map(([st, t]) => ({ stream: Number(st), text: t }))].filter((l) => l.text.trim() !== '');
    if (lines.length <= n) return lines.map((l) => l.text);
    const picked = new Set<number>();
    for (let i = lines.length - n; i < lines.length; i++) picked.add(i);
    const errs = lines
      .map((l, i) => (l.stream === 2 ? i : -1)).filter((i) => i >= 0);
    errs.splice(0, Math.max(0, errs.length - Math.max(0, Math.min(keepStderr, n))));
    for (const e of errs) {
      if (picked.has(e)) continue;
      const oldestOut = [...picked].sort((a, b) => a - b).find((i) => lines[i].stream !== 2);
      if (oldestOut === undefined) break;
      picked.delete(oldestOut);
      picked.add(e);
    }
    return [...picked].sort((a, b) => a - b).map((i) => lines[i].text);
  }

  byName(pattern: string | RegExp): VertexRecord | undefined {
    return this.list().find((v) => (typeof pattern === 'string' ? v.name.includes(pattern) : pattern.test(v.name)));
  }
}

const secs = (ms: number) => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;

function fmtBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(2)}${units[i]}`;
}

interface PlainVertex {
  /** Assigned when the vertex is first printed, so numbers follow the order people see. */
  n: number;
  name: string;
  started?: Date;
  announced: boolean;
  finished: boolean;
  partial: string;
  statuses: Map<string, VertexStatusInfo>;
}

/** buildx-style plain output: complete lines, vertex numbers in order of appearance. */
export class PlainPrinter implements ProgressSink {
  private readonly vs = new Map<string, PlainVertex>();
  private last: string | undefined;
  private next = 1;

  constructor(private readonly out: Writable = process.stderr) {}

  private get(digest: string, name = ''): PlainVertex {
    let v = this.vs.get(digest);
    if (!v) {
      v = { n: 0, name, announced: false, finished: false, partial: '', statuses: new Map() };
      this.vs.set(digest, v);
    }
    if (name) v.name = name;
    return v;
  }

  private write(digest: string, v: PlainVertex, line: string): void {
    if (this.last !== digest) {
      if (this.last !== undefined) this.out.write('\n');
      this.last = digest;
      if (v.announced && line !== `#${v.n} ${v.name}`) this.out.write(`#${v.n} ${v.name}\n`);
    }
    this.out.write(`${line}\n`);
  }

  private announce(digest: string, v: PlainVertex): void {
    if (v.announced) return;
    v.n = this.next++;
    this.write(digest, v, `#${v.n} ${v.name}`);
    v.announced = true;
  }

  update(u: StatusUpdate): void {
    for (const x of u.vertexes) {
      let v = this.get(x.digest, x.name);
      // The same digest run again by a later solve (each stage is its own solve: e.g. every
      // "exporting to image"): a new entry, so its time is printed rather than hidden.
      if (v.finished && !x.cached && x.started && v.started && x.started.getTime() > v.started.getTime()) {
        this.vs.delete(x.digest);
        if (this.last === x.digest) this.last = ''; // a blank line before the new entry
        v = this.get(x.digest, x.name || v.name);
      }
      if (x.started) v.started = x.started;
      if (!x.started && !x.cached && !x.completed) continue; // only queued
      this.announce(x.digest, v);
      if (v.finished) continue;
      if (x.error) {
        this.flushPartial(x.digest, v);
        this.write(x.digest, v, `#${v.n} ERROR: ${x.error}`);
        v.finished = true;
      } else if (x.cached) {
        this.write(x.digest, v, `#${v.n} CACHED`);
        v.finished = true;
      } else if (x.completed) {
        this.flushPartial(x.digest, v);
        for (const s of v.statuses.values()) this.write(x.digest, v, `#${v.n} ${statusText(s)} done`);
        this.write(x.digest, v, `#${v.n} DONE ${secs(x.completed.getTime() - (v.started ?? x.completed).getTime())}`);
        v.finished = true;
      }
    }
    for (const s of u.statuses) {
      const v = this.get(s.vertex);
      v.statuses.set(s.id, s);
    }
    for (const l of u.logs) {
      const v = this.get(l.vertex);
      this.announce(l.vertex, v);
      const { lines, rest } = splitLogLines(v.partial, l.msg);
      v.partial = rest;
      const at = l.timestamp && v.started ? ` ${(Math.max(0, l.timestamp.getTime() - v.started.getTime()) / 1000).toFixed(3)}` : '';
      for (const line of lines) this.write(l.vertex, v, `#${v.n}${at} ${line}`);
    }
  }

  private flushPartial(digest: string, v: PlainVertex): void {
    if (v.partial) {
      this.write(digest, v, `#${v.n} ${v.partial}`);
      v.partial = '';
    }
  }

  done(): void {
    for (const [d, v] of this.vs) this.flushPartial(d, v);
  }
}

function statusText(s: VertexStatusInfo): string {
  const name = s.name || s.id;
  if (s.total) return `${name} ${fmtBytes(s.current)} / ${fmtBytes(s.total)}`;
  if (s.current) return `${name} ${fmtBytes(s.current)}`;
  return name;
}

interface TtyVertex {
  name: string;
  cached: boolean;
  started?: number;
  completed?: number;
  error?: string;
  logs: string[];
  partial: string;
}

/** Live view for terminals: the whole list is redrawn in place at most every `intervalMs`. */
export class TtyPrinter implements ProgressSink {
  private readonly vs = new Map<string, TtyVertex>();
  private readonly t0 = Date.now();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly out: Writable & { columns?: number; rows?: number } = process.stderr,
    private readonly intervalMs = 150,
  ) {}

  update(u: StatusUpdate): void {
    for (const x of u.vertexes) {
      let v = this.vs.get(x.digest);
      if (!v) {
        v = { name: x.name, cached: false, logs: [], partial: '' };
        this.vs.set(x.digest, v);
      }
      v.name = x.name || v.name;
      v.cached = x.cached;
      if (x.started) v.started = x.started.getTime();
      if (x.completed) v.completed = x.completed.getTime();
      if (x.error) v.error = x.error;
    }
    for (const l of u.logs) {
      const v = this.vs.get(l.vertex);
      if (!v) continue;
      const { lines, rest } = splitLogLines(v.partial, l.msg);
      v.partial = rest;
      v.logs.push(...lines);
      if (v.logs.length > 50) v.logs.splice(0, v.logs.length - 50);
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.draw(false);
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /** The lines of the current view (exported for tests). */
  render(final: boolean, now = Date.now()): string[] {
    const cols = Math.max(40, this.out.columns ?? 100);
    // In the order steps started (cached ones have no start: by when they were reported).
    const all = [...this.vs.values()]
      .filter((v) => v.started !== undefined || v.cached || v.completed !== undefined)
      .map((v, i) => ({ v, i, at: v.started ?? v.completed ?? Number.MAX_SAFE_INTEGER }))
      .sort((a, b) => a.at - b.at || a.i - b.i)
      .map((x) => x.v);
    const doneCount = all.filter((v) => v.completed !== undefined || v.cached).length;
    const lines = [`[+] Building ${secs(now - this.t0)} (${doneCount}/${this.vs.size})${final ? ' FINISHED' : ''}`];
    for (const v of all) {
      const dur = v.cached ? '' : secs((v.completed ?? now) - (v.started ?? now));
      const label = `${v.error ? ' => ERROR ' : v.cached ? ' => CACHED ' : ' => '}${v.name}`;
      const room = cols - dur.length - 1;
      lines.push(label.length > room ? `${label.slice(0, room - 1)}… ${dur}`.trimEnd() : `${label.padEnd(room)} ${dur}`.trimEnd());
      const running = v.completed === undefined && !v.cached;
      if ((running && !final) || v.error) {
        const tail = [...v.logs, ...(v.partial ? [v.partial] : [])].slice(v.error ? -10 : -6);
        for (const l of tail) lines.push(` => => # ${l}`.slice(0, cols));
      }
    }
    return lines;
  }

  private draw(final: boolean): void {
    const lines = this.render(final);
    let s = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    for (const l of lines) s += `\x1b[2K${l}\n`;
    // Clear whatever remains below when the view got shorter.
    for (let i = lines.length; i < this.drawn; i++) s += '\x1b[2K\n';
    const extra = Math.max(0, this.drawn - lines.length);
    if (extra) s += `\x1b[${extra}A`;
    this.out.write(s);
    this.drawn = lines.length;
  }

  done(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.draw(true);
    this.closed = true;
  }
}

export type ProgressMode = 'auto' | 'plain' | 'tty' | 'quiet';

/** A printer for `mode`; `auto` is tty when `out` is a terminal, plain otherwise. */
export function createProgress(mode: ProgressMode = 'auto', out: Writable & { isTTY?: boolean } = process.stderr): ProgressSink {
  if (mode === 'quiet') return { update: () => undefined };
  if (mode === 'tty' || (mode === 'auto' && out.isTTY)) return new TtyPrinter(out);
  return new PlainPrinter(out);
}

/** Several sinks fed from one stream. */
export function teeProgress(...sinks: (ProgressSink | undefined)[]): ProgressSink {
  const list = sinks.filter((s): s is ProgressSink => !!s);
  return {
    update: (u) => list.forEach((s) => s.update(u)),
    done: (err) => list.forEach((s) => s.done?.(err)),
  };
}
