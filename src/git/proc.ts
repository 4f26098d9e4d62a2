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

/** One running `git cat-file --batch` with its own request queue and parse state. */
interface BatchProc {
  child: ChildProcessWithoutNullStreams;
  queue: BatchRequest[];
  buf: Buffer;
  /** The object being received. */
  current?: { oid: string; type: string; size: number; parts: Buffer[]; got: number };
  stderr: string;
}

/**
 * One `git cat-file --batch` process kept open; requests are answered in order. Idle processes are
 * closed after a short delay (`close()` ends it at once) so short-lived tools do not hang on it. Each
 * process keeps its own queue: a closing process never sees requests meant for its successor.
 */
export class CatFileBatch {
  private proc?: BatchProc;
  private idleTimer?: NodeJS.Timeout;

  constructor(private readonly gitDir: string, private readonly idleMs = 200) {}

  read(name: string): Promise<CatFileObject | undefined> {
    if (name.includes('\n')) return Promise.reject(new StapelkitError('GIT_FAILED', `invalid object name ${JSON.stringify(name)}`));
    return new Promise((resolve, reject) => {
      const proc = this.ensure();
      if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
      proc.queue.push({ name, resolve, reject });
      proc.child.stdin.write(name + '\n');
    });
  }

  close(): void {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    const p = this.proc;
    this.proc = undefined;
    if (p) p.child.stdin.end();
  }

  private ensure(): BatchProc {
    if (this.proc) return this.proc;
    const child = spawn('git', ['cat-file', '--batch'], { cwd: this.gitDir, env: gitEnv() });
    const proc: BatchProc = { child, queue: [], buf: Buffer.alloc(0), stderr: '' };
    this.proc = proc;
    child.stdout.on('data', (chunk: Buffer) => this.onData(proc, chunk));
    child.stderr.on('data', (c: Buffer) => { proc.stderr += c.toString(); });
    child.stdin.on('error', () => { /* reported by close */ });
    const fail = (e: Error) => {
      if (this.proc === proc) this.proc = undefined;
      const q = proc.queue;
      proc.queue = [];
      for (const r of q) r.reject(e);
    };
    child.on('error', (e) => fail(new StapelkitError('GIT_EXEC', `cannot run git: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (proc.queue.length) fail(new StapelkitError('GIT_FAILED', `git cat-file exited (${code}): ${proc.stderr.trim()}`));
      if (this.proc === proc) this.proc = undefined;
    });
    return proc;
  }

  private onData(proc: BatchProc, chunk: Buffer): void {
    proc.buf = proc.buf.length ? Buffer.concat([proc.buf, chunk]) : chunk;
    for (;;) {
      if (!proc.current) {
        const nl = proc.buf.indexOf(0x0a);
        if (nl < 0) return;
        const header = proc.buf.subarray(0, nl).toString();
        proc.buf = proc.buf.subarray(nl + 1);
        const req = proc.queue[0];
        if (!req) continue;
        if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
          proc.queue.shift();
          req.resolve(undefined);
          this.scheduleIdle(proc);
          continue;
        }
        const [oid, type, sizeStr] = header.split(' ');
        const size = Number(sizeStr);
        if (!Number.isFinite(size)) {
          proc.queue.shift();
          req.reject(new StapelkitError('GIT_FAILED', `unexpected git cat-file output: ${header}`));
          continue;
        }
        proc.current = { oid, type, size, parts: [], got: 0 };
      }
      const cur = proc.current;
      const need = cur.size + 1 - cur.got;
      if (proc.buf.length < need) {
        cur.parts.push(proc.buf);
        cur.got += proc.buf.length;
        proc.buf = Buffer.alloc(0);
        return;
      }
      cur.parts.push(proc.buf.subarray(0, need));
      proc.buf = proc.buf.subarray(need);
      proc.current = undefined;
      const all = cur.parts.length === 1 ? cur.parts[0] : Buffer.concat(cur.parts);
      const req = proc.queue.shift();
      req?.resolve({ oid: cur.oid, type: cur.type, data: all.subarray(0, cur.size) });
      this.scheduleIdle(proc);
    }
  }

  private scheduleIdle(proc: BatchProc): void {
    if (proc.queue.length || this.proc !== proc) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.proc === proc && !proc.queue.length) this.close();
    }, this.idleMs);
    this.idleTimer.unref();
  }
}
