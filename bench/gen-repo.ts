/**
 * A generated git repository for benchmarks: `files` small files in a nested layout
 * (`src/m<i>/p<j>/f<k>.go|.txt`, a few top-level files), one commit, built with `git fast-import`
 * (seconds, no work-tree writes). Returns the repository directory (bare-like work tree without checkout).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface GeneratedRepo { dir: string; files: string[]; commit: string }

export async function generateRepo(files: number, opts: { bytes?: number; checkout?: boolean } = {}): Promise<GeneratedRepo> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-bench-repo-'));
  spawnSync('git', ['init', '-q', '-b', 'main', dir]);
  const paths: string[] = [];
  const perDir = 50;
  const perModule = 20;
  for (let i = 0; paths.length < files - 3; i++) {
    const m = Math.floor(i / (perDir * perModule));
    const p = Math.floor(i / perDir) % perModule;
    paths.push(`src/m${m}/p${p}/f${i}.${i % 3 === 0 ? 'txt' : 'go'}`);
  }
  paths.push('README.md', 'package.json', 'config/app.yaml');
  const size = opts.bytes ?? 200;
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: dir, stdio: ['pipe', 'inherit', 'inherit'] });
  const done = new Promise<void>((res, rej) => child.on('close', (c) => (c === 0 ? res() : rej(new Error(`fast-import exit ${c}`)))));
  const write = (s: string | Buffer) => new Promise<void>((r) => { if (child.stdin.write(s)) r(); else child.stdin.once('drain', () => r()); });
  await write('commit refs/heads/main\ncommitter Bench <b@example.com> 1700000000 +0000\ndata 5\nbench\n');
  for (let i = 0; i < paths.length; i++) {
    const body = Buffer.alloc(size, 97 + (i % 26));
    body.write(`${paths[i]}\n`);
    await write(`M ${i % 50 === 0 ? '100755' : '100644'} inline ${paths[i]}\ndata ${body.length}\n`);
    await write(body);
    await write('\n');
  }
  child.stdin.end();
  await done;
  if (opts.checkout) spawnSync('git', ['checkout', '-q', '-f', 'main'], { cwd: dir });
  const commit = spawnSync('git', ['rev-parse', 'main'], { cwd: dir }).stdout.toString().trim();
  return { dir, files: paths, commit };
}
