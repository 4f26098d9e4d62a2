/**
 * werf's storage lock, per machine: one lock file per (repo, digest) under the state dir, so two
 * `stapelkit build` processes (and two images of one build) storing the same digest serialise and
 * the second sees the first's stage. The file holds the owner's pid; a lock whose owner is gone is
 * taken over.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const inProcess = new Map<string, Promise<void>>();

/** The lock file of (repo, digest). */
export function stageLockPath(lockDir: string, repo: string, digest: string): string {
  const key = crypto.createHash('sha256').update(`${repo}\n${digest}`).digest('hex').slice(0, 32);
  return path.join(lockDir, `stage-${key}.lock`);
}

async function acquireFile(file: string, timeoutMs: number): Promise<() => void> {
  const until = Date.now() + timeoutMs;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return () => fs.rmSync(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(file, 'utf8').trim());
    } catch {
      continue; // removed meanwhile
    }
    // An empty file is a lock being written right now; a dead owner's lock is stale.
    if (!Number.isNaN(owner) && owner !== 0 && !alive(owner)) {
      fs.rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > until) throw new StapelkitError('STAGE_LOCK', `timed out waiting for the stages storage lock ${file} (held by pid ${owner})`, { hint: 'another stapelkit build stores the same stage; remove the file if that process is gone' });
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Runs `fn` holding the (repo, digest) lock: in-process first (no polling), then the file. */
export async function withStageLock<T>(lockDir: string, repo: string, digest: string, fn: () => Promise<T>, timeoutMs = 10 * 60_000): Promise<T> {
  const file = stageLockPath(lockDir, repo, digest);
  const prev = inProcess.get(file) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((r) => (done = r));
  const chained = prev.then(() => mine);
  inProcess.set(file, chained);
  await prev;
  try {
    const release = await acquireFile(file, timeoutMs);
    try {
      return await fn();
    } finally {
      release();
    }
  } finally {
    done();
    if (inProcess.get(file) === chained) inProcess.delete(file);
  }
}
