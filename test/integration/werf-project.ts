/**
 * Throw-away werf projects for integration tests (not a test file): a git repository in a temp dir
 * with werf.yaml and files, commits, amends, and `stapelkit build` runs whose build report tells
 * which stages were built and which came from the stages storage.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli, type CliResult } from './cli-run';

export interface WerfProject {
  dir: string;
  /** Writes files (relative paths; a Buffer for binary, null deletes). */
  write(files: Record<string, string | Buffer | null>): void;
  commit(message?: string, opts?: { amend?: boolean }): string;
  git(...args: string[]): string;
  head(): string;
  remove(): void;
}

function git(dir: string, args: string[]): string {
  const r = spawnSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: dir,
    },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export function werfProject(files: Record<string, string | Buffer>): WerfProject {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-werf-'));
  git(dir, ['init', '-q', '-b', 'main']);
  const p: WerfProject = {
    dir,
    write(fs_: Record<string, string | Buffer | null>) {
      for (const [rel, content] of Object.entries(fs_)) {
        const abs = path.join(dir, rel);
        if (content === null) fs.rmSync(abs, { recursive: true, force: true });
        else {
          fs.mkdirSync(path.dirname(abs), { recursive: true });
          fs.writeFileSync(abs, content);
        }
      }
    },
    commit(message = 'change', opts = {}) {
      git(dir, ['add', '-A']);
      git(dir, ['commit', '-q', '--allow-empty', ...(opts.amend ? ['--amend'] : []), '-m', message]);
      return p.head();
    },
    git: (...args) => git(dir, args),
    head: () => git(dir, ['rev-parse', 'HEAD']),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  p.write(files);
  p.commit('initial');
  return p;
}

export interface StageRecord {
  image: string;
  stage: string;
  rebuilt: boolean;
  tag: string;
}

export interface BuildRun extends CliResult {
  report?: any;
  stages: StageRecord[];
  /** `image/stage` of every stage that was built (not taken from storage). */
  built: string[];
}

/** `stapelkit build` of a project with a JSON build report; throws with the output when it fails and `expectFail` is not set. */
export async function build(project: WerfProject | string, args: string[] = [], opts: { expectFail?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<BuildRun> {
  const dir = typeof project === 'string' ? project : project.dir;
  const reportPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-report-')), 'report.json');
  const res = await runCli(['build', '--dir', dir, '--progress', 'plain', '--save-build-report', '--build-report-path', reportPath, ...args], { env: opts.env, timeoutMs: 600_000 });
  if (!opts.expectFail && res.code !== 0) throw new Error(`stapelkit build failed (${res.code}):\n${res.stderr}\n${res.stdout}`);
  let report: any;
  if (fs.existsSync(reportPath)) report = JSON.parse(fs.readFileSync(reportPath, 'utf8'));
  const stages: StageRecord[] = [];
  for (const [image, rec] of Object.entries<any>(report?.Images ?? {})) {
    for (const s of rec.Stages ?? []) stages.push({ image, stage: s.Name, rebuilt: !!s.Rebuilt, tag: s.DockerTag });
  }
  return { ...res, report, stages, built: stages.filter((s) => s.rebuilt).map((s) => `${s.image}/${s.stage}`) };
}
