/**
 * `stapelkit compile` benchmark: process wall time (Node start included) of compiling generated
 * werf projects of 10, 100 and 1000 images to one Definition, written to /dev/null.
 *
 * Each project: images in chains of five — the first of a chain has a base, the others are
 * `fromImage` the previous one; every image has a git mapping of its own directory and a shell
 * install. Two variants:
 *   offline — chain bases are `from: scratch`, no imports: no daemon is dialled at all;
 *   daemon  — chain bases are the local busybox image: its config is resolved on a private dockerd
 *             (one call per chain), and every tenth image imports a file from an earlier one: the
 *             import is scanned there on the first compile (the
 *             checksums are then cached in the import metadata, as werf does: runs 2+ read none).
 * Runs the CLI as users do: bin/stapelkit over the one-file bundle (scripts/bundle.ts into
 * .bench-dist/dist/, bin/stapelkit and bin/stapelkit.cjs copied to .bench-dist/bin/), with its V8 code cache — the first
 * compile of each size writes it, the later ones use it. `--cli tsc` runs the tsc output instead
 * (.bench-dist/src/cli/main.js), as before the bundle. --no-tsc reuses what an earlier run built.
 * Reports the median of --runs (3).
 *
 *   node --import tsx bench/compile.ts [--runs 3] [--sizes 10,100,1000] [--no-daemon] [--no-tsc] [--cli bundle|tsc] [--keep]
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, type TestEnv } from '../test/integration/harness';
import { bundleCli } from '../scripts/bundle';
import { strArg } from './args';

const ROOT = path.resolve(__dirname, '..');
// Its own tsc output (not dist/, which bin/stapelkit and the CLI tests would then pick up).
const OUT = path.join(ROOT, '.bench-dist');
/** --keep: leave each project and state dir, and print the command that compiles it (profiling). */
const KEEP = process.argv.includes('--keep');
const MODE = process.argv.includes('--cli') ? process.argv[process.argv.indexOf('--cli') + 1] : 'bundle';
if (MODE !== 'bundle' && MODE !== 'tsc') throw new Error(`--cli must be bundle or tsc, got ${MODE}`);
const CLI = MODE === 'tsc' ? path.join(OUT, 'src', 'cli', 'main.js') : path.join(OUT, 'bin', 'stapelkit');

function git(dir: string, ...args: string[]): void {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } });
  if (r.status !== 0) throw new Error(r.stderr);
}

function generate(n: number, base: string, withImports: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `skt-bench-compile-${n}-`));
  git(dir, 'init', '-q', '-b', 'main');
  const docs = [`project: bench${n}\nconfigVersion: 1\n`];
  for (let i = 0; i < n; i++) {
    fs.mkdirSync(path.join(dir, 'src', `i${i}`), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', `i${i}`, 'main.txt'), `image ${i}\n`);
    fs.writeFileSync(path.join(dir, 'src', `i${i}`, 'extra.sh'), `#!/bin/sh\necho ${i}\n`);
    const from = i % 5 === 0 ? `from: ${base}` : `fromImage: img${i - 1}`;
    const imp = withImports && i % 10 === 9 ? `import:\n- image: img${i - 2}\n  add: /app${i - 2}/main.txt\n  to: /imported/main.txt\n  before: setup\n` : '';
    docs.push(`image: img${i}\n${from}\ngit:\n- add: /src/i${i}\n  to: /app${i}\n${imp}shell:\n  install:\n  - echo install ${i} > /install${i}\n  setup:\n  - echo setup ${i}\n`);
  }
  fs.writeFileSync(path.join(dir, 'werf.yaml'), docs.join('---\n'));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'bench');
  return dir;
}

const TIME = fs.existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/** Wall time, and the child's user+sys CPU time when /usr/bin/time is there (on a loaded machine wall time is mostly waiting for a core). */
function timeRun(args: string[], env: NodeJS.ProcessEnv): { ms: number; cpuMs?: number; bytes: number } {
  const out = path.join(os.tmpdir(), `skt-bench-def-${process.pid}`);
  const timeFile = `${out}.time`;
  const t0 = process.hrtime.bigint();
  const fd = fs.openSync(out, 'w');
  const cmd = MODE === 'tsc' ? [process.execPath, CLI] : [CLI];
  const argv = TIME ? [TIME, '-o', timeFile, '-f', '%U %S', ...cmd, ...args] : [...cmd, ...args];
  const r = spawnSync(argv[0], argv.slice(1), { env, stdio: ['ignore', fd, 'pipe'] });
  fs.closeSync(fd);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`compile failed: ${r.stderr}`);
  const bytes = fs.statSync(out).size;
  let cpuMs: number | undefined;
  if (TIME) {
    const [u, sy] = fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    cpuMs = (u + sy) * 1000;
    fs.rmSync(timeFile, { force: true });
  }
  fs.rmSync(out, { force: true });
  return { ms, cpuMs, bytes };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const runs = Number(strArg('runs', '3'));
  const sizes = strArg('sizes', '10,100,1000').split(',').map(Number);
  const withDaemon = !process.argv.includes('--no-daemon');
  if (!process.argv.includes('--no-tsc') && MODE === 'tsc') {
    process.stderr.write('bench: compiling the CLI into .bench-dist/ (tsc)…\n');
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json', '--outDir', OUT], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('tsc failed');
  }
  if (!process.argv.includes('--no-tsc') && MODE === 'bundle') {
    process.stderr.write('bench: bundling the CLI into .bench-dist/dist/…\n');
    bundleCli(path.join(OUT, 'dist'));
    fs.mkdirSync(path.join(OUT, 'bin'), { recursive: true });
    for (const f of ['stapelkit', 'stapelkit.cjs']) fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(OUT, 'bin', f));
  }
  const nodeOnly = median(Array.from({ length: 5 }, () => { const t0 = Date.now(); spawnSync(process.execPath, ['-e', '0']); return Date.now() - t0; }));
  const version = median(Array.from({ length: 3 }, () => timeRun(['--version'], process.env).ms));
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores; CLI ${path.relative(ROOT, CLI)}; node -e 0: ${nodeOnly} ms; stapelkit --version: ${version.toFixed(0)} ms`);
  let env: TestEnv | undefined;
  if (withDaemon) env = await testEnv();
  try {
    for (const variant of withDaemon ? ['offline', 'daemon'] : ['offline']) {
      for (const n of sizes) {
        const dir = generate(n, variant === 'offline' ? 'scratch' : env!.images.amd64, variant === 'daemon');
        const state = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-bench-state-'));
        const cliEnv = { ...process.env, XDG_STATE_HOME: state, XDG_CACHE_HOME: path.join(state, 'cache') };
        const args = ['compile', '--dir', dir, '--out-dir', path.join(state, 'out'), ...(variant === 'daemon' ? ['--addr', env!.addr] : ['--addr', 'unix:///nonexistent.sock'])];
        const first = timeRun(args, cliEnv);
        const rest = Array.from({ length: Math.max(1, runs - 1) }, () => timeRun(args, cliEnv));
        const wall = median(rest.map((x) => x.ms));
        const cpu = rest[0].cpuMs !== undefined ? median(rest.map((x) => x.cpuMs!)) : undefined;
        console.log(
          `${variant.padEnd(7)} ${String(n).padStart(5)} images: first ${first.ms.toFixed(0)} ms (git content written${variant === 'daemon' ? ', imports scanned' : ''}); ` +
            `then wall ${wall.toFixed(0)} ms${cpu !== undefined ? `, cpu ${cpu.toFixed(0)} ms` : ''} (median of ${rest.length}); ${(wall / n).toFixed(2)} ms/image wall; Definition ${first.bytes} bytes`,
        );
        if (KEEP) {
          console.log(`  kept: XDG_STATE_HOME=${state} XDG_CACHE_HOME=${path.join(state, 'cache')} ${CLI} ${args.join(' ')}`);
          continue;
        }
        fs.rmSync(dir, { recursive: true, force: true });
        fs.rmSync(state, { recursive: true, force: true });
      }
    }
  } finally {
    await env?.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
