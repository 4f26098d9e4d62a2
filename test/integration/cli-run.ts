/** Runs the real `stapelkit` CLI (`bin/stapelkit …`, as users do) for integration tests (not a test file). */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * `bin/stapelkit <args>` in the repository root. `env` replaces the environment entirely when
 * given (so a test controls BUILDKIT_HOST / DOCKER_HOST / XDG_STATE_HOME); default: this process's.
 */
export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const env = opts.env ?? process.env;
    const child = spawn(path.join(ROOT, 'bin', 'stapelkit'), args, {
      cwd: ROOT,
      // bin/stapelkit finds `node` on PATH, as `#!/usr/bin/env node` would.
      env: { ...env, PATH: env.PATH ?? `${path.dirname(process.execPath)}:/usr/bin:/bin`, NO_COLOR: '1', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/**
 * A throw-away git repository holding a copy of examples/hello at the same path (its git mappings
 * are relative to the repository root), committed; returns the project dir inside it.
 */
export function copyExample(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-hello-'));
  const dir = path.join(root, 'examples', 'hello');
  fs.cpSync(path.join(ROOT, 'examples', 'hello'), dir, { recursive: true });
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  git('init', '-q');
  git('add', '-A');
  git('commit', '-q', '-m', 'example');
  return dir;
}

/** Commits everything in the repository of a copyExample() dir. */
export function commitExample(dir: string, message = 'change'): void {
  const root = path.resolve(dir, '..', '..');
  for (const args of [['add', '-A'], ['commit', '-q', '-m', message]]) {
    const r = spawnSync('git', args, { cwd: root, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  }
}

/** Removes a copyExample() repository. */
export function removeExample(dir: string): void {
  fs.rmSync(path.resolve(dir, '..', '..'), { recursive: true, force: true });
}

/**
 * Step names of plain progress output (`#N name`) with their outcome: 'CACHED', 'DONE' or 'ERROR'.
 * A name printed twice (two vertices) keeps the last outcome.
 */
export function stepOutcomes(plain: string): Map<string, string> {
  const names = new Map<string, string>();
  const out = new Map<string, string>();
  for (const line of plain.split('\n')) {
    const m = /^#(\d+) (.*)$/.exec(line);
    if (!m) continue;
    const [, n, rest] = m;
    if (!names.has(n)) {
      names.set(n, rest);
      continue;
    }
    const outcome = /^(CACHED|DONE|ERROR)\b/.exec(rest)?.[1];
    if (outcome) out.set(names.get(n)!, outcome);
  }
  return out;
}

/** Node's stack frame lines ("    at f (file:1:2)"). */
export const STACK_LINE = /^\s+at .+/m;
