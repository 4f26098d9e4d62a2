/**
 * For the frontend tests and bench: bundle the frontend when dist/frontend.js is older than src/,
 * load the frontend image (offline, scripts/frontend-image.ts) into the test daemon, and make projects.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { DockerApi } from '../../src/daemon/docker-api';
import { bundleFrontend, FRONTEND_BUNDLE_NAME } from '../../scripts/bundle';
import { loadFrontendImage } from '../../scripts/frontend-image';

const ROOT = path.resolve(__dirname, '..', '..');

function newestMtime(dir: string, ext: string): number {
  let newest = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p, ext));
    else if (e.name.endsWith(ext)) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Re-bundles the frontend (scripts/bundle.ts) when any src/**.ts is newer than dist/frontend.js. */
export function ensureDist(): void {
  const out = path.join(ROOT, 'dist', FRONTEND_BUNDLE_NAME);
  const built = fs.existsSync(out) ? fs.statSync(out).mtimeMs : 0;
  if (built > newestMtime(path.join(ROOT, 'src'), '.ts')) return;
  bundleFrontend(path.join(ROOT, 'dist'));
}

/** The frontend image in the test daemon; its reference. */
export async function frontendImage(docker: DockerApi): Promise<string> {
  ensureDist();
  return (await loadFrontendImage(docker)).ref;
}

/** A temp project dir with `files`; removed by the returned cleanup. */
export function projectDir(files: Record<string, string>): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-fe-'));
  for (const [f, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), c);
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Debian's docker.io CLI (20.10), not a docker CLI someone installed elsewhere. */
export const DOCKER_CLI = '/usr/bin/docker';

/**
 * `DOCKER_BUILDKIT=1 docker build --progress=plain -f werf.yaml ARGS .` in `dir` against the test
 * daemon's socket (its own empty docker config in the project): exit code and combined output.
 */
export function dockerBuildWerf(dockerSocket: string, dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER_CLI, ['build', '--progress=plain', '-f', 'werf.yaml', ...args, '.'], {
      cwd: dir,
      env: { ...process.env, DOCKER_HOST: `unix://${dockerSocket}`, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: dir + '/.docker-config' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}
