/** Temporary git repositories for tests (created at test time, removed by the caller). */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2024-01-02T03:04:05+03:00',
  GIT_COMMITTER_DATE: '2024-01-02T03:04:05+03:00',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: os.tmpdir(),
};

export function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'init.defaultBranch=main', '-c', 'core.autocrlf=false', ...args], { cwd: dir, env: GIT_ENV });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [p, content] of Object.entries(files)) {
    const abs = path.join(dir, p);
    fs.mkdirSync(path.dirname(abs), { recursive: true });
    fs.writeFileSync(abs, content);
  }
}

/** A new repository with `files` committed (one commit). */
export function makeRepo(files: Record<string, string>, opts: { commit?: boolean; name?: string } = {}): string {
  let dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-test-')));
  if (opts.name) {
    // A fixed directory name keeps messages that mention it deterministic.
    dir = path.join(dir, opts.name);
    fs.mkdirSync(dir);
  }
  git(dir, 'init', '-q');
  writeFiles(dir, files);
  if (opts.commit !== false) {
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'init');
  }
  return dir;
}

/** Copy a fixture directory into a new repository and commit it. */
export function repoFromDir(src: string, skip: (name: string) => boolean = () => false, name?: string): string {
  const files: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (skip(r)) continue;
      if (e.isDirectory()) walk(path.join(d, e.name), r);
      else files[r] = fs.readFileSync(path.join(d, e.name), 'utf8');
    }
  };
  walk(src, '');
  return makeRepo(files, { name });
}

export function removeRepo(dir: string): void {
  const parent = path.dirname(dir);
  fs.rmSync(dir, { recursive: true, force: true });
  if (path.basename(parent).startsWith('stapelkit-test-')) fs.rmSync(parent, { recursive: true, force: true });
}
