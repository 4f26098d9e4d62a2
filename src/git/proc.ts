/**
 * Async git child processes: one-shot commands (output collected or streamed as NUL-separated
 * records) and a long-lived `git cat-file --batch` for blob reads. Nothing here blocks the event loop.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StapelkitError } from '../errors';

export function gitEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // Stable, machine-readable output whatever the user's configuration.
  return { ...process.env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', ...extra };
}

export interface GitRunOptions {
  /** Exit codes that are not failures (the caller reads `code`). Default: only 0. */
  okCodes?: number[];
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** Called for each NUL-terminated record of stdout instead of collecting it. */
  onRecord?: (rec: string) => void;
}

export interface GitRunResult { code: number; stdout: Buffer; stderr: string }

function gitFailed(args: string[], code: number | null, stderr: string): StapelkitError {
  const msg = stderr.trim().split('\n')[0] || `exit code ${code}`;
  return new StapelkitError('GIT_FAILED', `git ${args.filter((a) => !a.startsWith('-c') && !a.includes('=')).slice(0, 1).join(' ')} failed: ${msg}`);
}

/** Runs `git args` in `cwd`; resolves with the output, rejects on a failing exit code. */
export function gitRun(cwd: string, args: string[], opts: GitRunOptions = {}): Promise<GitRunResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcessWithoutNullStreams;
    try {
      child = spawn('git', args, { cwd, env: gitEnv(opts.env) });
    } catch (e) {
      return reject(new StapelkitError('GIT_EXEC', `cannot run git: ${(e as Error).message}`, { cause: e }));
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let pending = '';
    const decoder = new TextDecoder('utf-8');
    child.stdout.on('data', (chunk: Buffer) => {
      if (!opts.onRecord) { out.push(chunk); return; }
      // Streaming parse: complete records are handed over as they arrive.
      pending += decoder.decode(chunk, { stream: true });
      let start = 0;
      for (;;) {
        const nul = pending.indexOf('\0', start);
        if (nul < 0) break;
        opts.onRecord(pending.slice(start, nul));
        start = nul + 1;
      }
      pending = pending.slice(start);
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e) => reject(new StapelkitError('GIT_EXEC', `cannot run git: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString();
      if (opts.onRecord) {
        pending += decoder.decode();
        if (pending) opts.onRecord(pending);
      }
      const ok = code === 0 || (code !== null && (opts.okCodes ?? []).includes(code));
      if (!ok) return reject(gitFailed(args, code, stderr));
      resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => { /* git may exit before reading its input */ });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** A blob or other object read from `cat-file --batch`. */
export interface CatFileObject { oid: string; type: string; data: Buffer }

interface BatchRequest { name: string; resolve: (o: CatFileObject | undefined) => void; reject: (e: Error) => void }

/**
 * One `git cat-file --batch` process kept open; requests are answered in order. Idle processes are
 * closed after a short delay (`close()` ends it at once) so short-lived tools do not hang on it.
 */
export class CatFileBatch {
  /** The process now taking requests; a closed one finishes its own queue and leaves the next one alone. */
  private proc?: BatchProcess;
  private idleTimer?: NodeJS.Timeout;

  constructor(private readonly gitDir: string, private readonly idleMs = 200) {}

  read(name: string): Promise<CatFileObject | undefined> {
    if (name.includes('\n')) return Promise.reject(new StapelkitError('GIT_FAILED', `invalid object name ${JSON.stringify(name)}`));
    return new Promise((resolve, reject) => {
      const p = (this.proc ??= new BatchProcess(this.gitDir, () => this.scheduleIdle(), (dead) => { if (this.proc === dead) this.proc = undefined; }));
      if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
      p.request({ name, resolve, reject });
    });
  }

  close(): void {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    const p = this.proc;
    this.proc = undefined;
    p?.end();
  }

  private scheduleIdle(): void {
    if (!this.proc || this.proc.pending()) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => { this.idleTimer = undefined; if (this.proc && !this.proc.pending()) this.close(); }, this.idleMs);
    this.idleTimer.unref();
  }
}

/** One `git cat-file --batch` child with its own queue and parse state. */
class BatchProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private queue: BatchRequest[] = [];
  private buf: Buffer = Buffer.alloc(0);
  /** Header of the object being received: remaining bytes to collect (+1 for the LF). */
  private current?: { oid: string; type: string; size: number; parts: Buffer[]; got: number };
  private stderr = '';

  constructor(gitDir: string, private readonly onIdle: () => void, onExit: (p: BatchProcess) => void) {
    const child = spawn('git', ['cat-file', '--batch'], { cwd: gitDir, env: gitEnv() });
    this.child = child;
    child.stdout.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stderr.on('data', (c: Buffer) => { this.stderr += c.toString(); });
    child.stdin.on('error', () => { /* reported by close */ });
    const fail = (e: Error) => {
      onExit(this);
      const q = this.queue;
      this.queue = [];
      for (const r of q) r.reject(e);
    };
    child.on('error', (e) => fail(new StapelkitError('GIT_EXEC', `cannot run git: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (this.queue.length) fail(new StapelkitError('GIT_FAILED', `git cat-file exited (${code}): ${this.stderr.trim()}`));
      onExit(this);
    });
  }

  pending(): number {
    return this.queue.length;
  }

  request(r: BatchRequest): void {
    this.queue.push(r);
    this.child.stdin.write(r.name + '\n');
  }

  /** No more requests; git answers those written, then exits. */
  end(): void {
    this.child.stdin.end();
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      if (!this.current) {
        const nl = this.buf.indexOf(0x0a);
        if (nl < 0) return;
        const header = this.buf.subarray(0, nl).toString();
        this.buf = this.buf.subarray(nl + 1);
        const req = this.queue.shift();
        if (!req) continue;
        if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
          req.resolve(undefined);
          this.onIdle();
          continue;
        }
        const [oid, type, sizeStr] = header.split(' ');
        const size = Number(sizeStr);
        if (!Number.isFinite(size)) { req.reject(new StapelkitError('GIT_FAILED', `unexpected git cat-file output: ${header}`)); continue; }
        this.queue.unshift(req);
        this.current = { oid, type, size, parts: [], got: 0 };
      }
      const cur = this.current;
      const need = cur.size + 1 - cur.got;
      if (this.buf.length < need) {
        cur.parts.push(this.buf);
        cur.got += this.buf.length;
        this.buf = Buffer.alloc(0);
        return;
      }
      cur.parts.push(this.buf.subarray(0, need));
      this.buf = this.buf.subarray(need);
      this.current = undefined;
      const all = cur.parts.length === 1 ? cur.parts[0] : Buffer.concat(cur.parts);
      const req = this.queue.shift()!;
      req.resolve({ oid: cur.oid, type: cur.type, data: all.subarray(0, cur.size) });
      this.onIdle();
    }
  }
}
