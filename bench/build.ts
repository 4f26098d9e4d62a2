/**
 * `stapelkit build` against `docker build` (Debian's docker CLI 20.10, DOCKER_BUILDKIT=1) on the same
 * private dockerd, one run per scenario (or the median of --runs; the no-op rows run the two
 * commands in turn), wall time of the whole command:
 *
 *  1. no-op rebuild of examples/hello vs a no-op `docker build` of an equivalent two-stage Dockerfile;
 *  2. no-op rebuild of a generated 10-image project over a 20k-file repo (each image maps two modules
 *     with git, an install command with stageDependencies and a setup command) vs 10 `docker build`s
 *     of equivalent Dockerfiles (COPY, RUN install, RUN setup), run as many at a time as stapelkit's
 *     default --parallel-tasks-limit (5);
 *  3. one committed edit outside every stageDependencies (stapelkit: gitLatestPatch of one image;
 *     docker: that image's COPY and every RUN after it);
 *  4. cold build of the 10-image project (BuildKit cache pruned, stages storage empty) — stapelkit's
 *     per-stage line times and its plain progress are kept for profiling (--keep);
 *  5. stageDependencies checksums on a generated 50k-file repo (bench/stage-deps.ts).
 *
 *   node --import tsx bench/build.ts [--runs 1] [--files 20000] [--deps-files 50000] [--keep] [--only 1,2,3,4,5]
 *
 * The daemon is a private dockerd started here (its own temp dir, bridge and containerd), stopped at
 * the end; the stapelkit side is `bin/stapelkit build` (the bundle after `make build`).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startDockerd, type DockerdInstance } from '../src/daemon/dockerd';
import { ensureBusyboxImage } from '../src/daemon/base-images';
import { generateRepo } from './gen-repo';
import { stageDepsBench } from './stage-deps';
import { numArg } from './args';

const ROOT = path.resolve(__dirname, '..');
const RUNS = numArg('runs', 1);
const FILES = numArg('files', 20000);
const DEPS_FILES = numArg('deps-files', 50000);
const KEEP = process.argv.includes('--keep');
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return new Set((i >= 0 ? process.argv[i + 1] : '1,2,3,4,5').split(',').map(Number));
})();
const DOCKER = process.env.STAPELKIT_BENCH_DOCKER || '/usr/bin/docker';
const IMAGES = 10;
const PARALLEL = 5;
const BB = 'stapelkit/busybox:amd64';

/** What bin/stapelkit runs (its own rule): the bundle unless tsc's output is newer, the tsc output, or the sources. */
function cliSource(): string {
  const mtime = (p: string) => (fs.existsSync(p) ? fs.statSync(p).mtimeMs : undefined);
  const bundle = mtime(path.join(ROOT, 'dist', 'stapelkit.js'));
  const compiled = mtime(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'));
  if (bundle !== undefined && (compiled === undefined || bundle >= compiled)) return 'dist/stapelkit.js (bundle, V8 code cache)';
  return compiled !== undefined ? 'dist/src (tsc output)' : 'src/ through tsx';
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * `tailS`: seconds from the last output to the exit (clean-up the user waits for). `timed`: the
 * output with every line prefixed by the seconds since the bench started when it arrived (--keep logs).
 */
interface Run { code: number | null; out: string; timed: string; s: number; tailS: number }

const BENCH_T0 = process.hrtime.bigint();

/** Runs a command, capturing stdout+stderr; throws with the output tail when it fails. */
function run(cmd: string, args: string[], opts: { cwd?: string; env: NodeJS.ProcessEnv }): Promise<Run> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let timed = `${(Number(t0 - BENCH_T0) / 1e9).toFixed(2).padStart(7)} $ ${path.basename(cmd)} ${args.join(' ')}\n`;
    let partial = '';
    let last = t0;
    const add = (b: Buffer) => {
      const text = b.toString();
      out += text;
      last = process.hrtime.bigint();
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      const at = (Number(last - BENCH_T0) / 1e9).toFixed(2).padStart(7);
      for (const l of lines) timed += `${at} ${l}\n`;
    };
    p.stdout.on('data', add);
    p.stderr.on('data', add);
    p.on('error', reject);
    p.on('close', (code) => {
      const end = process.hrtime.bigint();
      const s = Number(end - t0) / 1e9;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`));
      else resolve({ code, out, timed: partial ? `${timed}${partial}\n` : timed, s, tailS: Number(end - last) / 1e9 });
    });
  });
}

function gitIn(dir: string, ...args: string[]): string {
  const r = spawnSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@e', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@e', GIT_CONFIG_NOSYSTEM: '1' },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** At most `n` of `jobs` at once; resolves when all are done. */
async function pool<T>(n: number, jobs: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

// ---- projects -------------------------------------------------------------------------------

/** The docker equivalent of examples/hello/werf.yaml (same steps, same build_dir-like cache mount). */
const HELLO_DOCKERFILE = `FROM ${BB} AS builder
COPY greetings /src/greetings
RUN --mount=type=cache,target=/var/cache/greetings n=$(cat /var/cache/greetings/builds 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > /var/cache/greetings/builds; mkdir -p /out; cat /src/greetings/*.txt > /out/greeting; echo "assembled in build $(cat /var/cache/greetings/builds) on $(uname -m)" >> /out/greeting
FROM ${BB}
COPY app /app
COPY --from=builder /out /app/data
RUN chmod +x /app/hello.sh
WORKDIR /app
ENV GREETING_FILE=/app/data/greeting
LABEL org.opencontainers.image.title="stapelkit-example hello"
CMD ["/app/hello.sh"]
`;

/** A throw-away git repo holding examples/hello at the same path (as test/integration/cli-run.ts copyExample). */
function copyExample(work: string): { root: string; dir: string } {
  const root = path.join(work, 'hello-repo');
  const dir = path.join(root, 'examples', 'hello');
  fs.cpSync(path.join(ROOT, 'examples', 'hello'), dir, { recursive: true });
  gitIn(root, 'init', '-q', '-b', 'main');
  gitIn(root, 'add', '-A');
  gitIn(root, 'commit', '-q', '-m', 'example');
  return { root, dir };
}

const modules = (i: number) => [`m${2 * i}`, `m${2 * i + 1}`];
const INSTALL = 'find /app -type f | wc -l > /install-count';
const SETUP = 'ls -R /app | wc -l > /setup-count';

function tenImagesWerf(): string {
  let y = 'project: skt-bench-ten\nconfigVersion: 1\n';
  for (let i = 0; i < IMAGES; i++) {
    const [a, b] = modules(i);
    y += `---
image: img${i}
from: ${BB}
git:
- add: /src
  to: /app
  includePaths: [${a}, ${b}]
  stageDependencies:
    install: ["${a}/p0/**/*"]
shell:
  install: ['${INSTALL}']
  setup: ['${SETUP}']
`;
  }
  return y;
}

function tenImagesDockerfile(i: number): string {
  const [a, b] = modules(i);
  return `FROM ${BB}\nCOPY src/${a} /app/${a}\nCOPY src/${b} /app/${b}\nRUN ${INSTALL}\nRUN ${SETUP}\n`;
}

// ---- the two sides --------------------------------------------------------------------------

interface Ctx { work: string; d: DockerdInstance; skEnv: NodeJS.ProcessEnv; dkEnv: NodeJS.ProcessEnv }

const shown = new Set<string>();
/** Prints a command the first time it is run (with the env it needs). */
function show(key: string, line: string): void {
  if (shown.has(key)) return;
  shown.add(key);
  console.log(`  $ ${line}`);
}

async function stapelkit(c: Ctx, dir: string, extra: string[] = []): Promise<Run> {
  const bin = path.join(ROOT, 'bin', 'stapelkit');
  const args = ['build', '--dir', dir, '--addr', c.d.addr, ...extra];
  show(`sk ${dir} ${extra.join(' ')}`, `XDG_STATE_HOME=${c.skEnv.XDG_STATE_HOME} ${bin} ${args.join(' ')}`);
  return run(bin, args, { env: c.skEnv, cwd: dir });
}

async function dockerBuild(c: Ctx, ctxDir: string, dockerfile: string, tag: string, showKey: string): Promise<Run> {
  const args = ['build', '--progress=plain', '-f', dockerfile, '-t', tag, ctxDir];
  show(showKey, `DOCKER_HOST=${c.dkEnv.DOCKER_HOST} DOCKER_BUILDKIT=1 ${DOCKER} ${args.join(' ')}`);
  return run(DOCKER, args, { env: c.dkEnv });
}

/** The 10 docker builds, PARALLEL at a time; wall time of all of them. */
async function dockerTen(c: Ctx, repo: string): Promise<{ s: number; runs: Run[] }> {
  const t0 = process.hrtime.bigint();
  const runs = await pool(PARALLEL, Array.from({ length: IMAGES }, (_, i) => () => dockerBuild(c, repo, path.join(c.work, 'ten', `img${i}.Dockerfile`), `skt-bench-docker-img${i}`, `dk ten ${i === 0 ? 0 : 'n'}`)));
  return { s: Number(process.hrtime.bigint() - t0) / 1e9, runs };
}

/**
 * Medians of `runs` runs of each, interleaved (a, b, a, b, …): the machine's drift over the
 * minutes of a bench (a daemon settling after its start, other load) falls on both sides alike.
 */
async function timedPair(runs: number, a: () => Promise<Run | { s: number }>, b: () => Promise<Run | { s: number }>): Promise<[number, number]> {
  const xs: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < runs; i++) {
    xs.push((await a()).s);
    ys.push((await b()).s);
  }
  return [median(xs), median(ys)];
}

/** Empties BuildKit's cache; with `images`, also removes every image but the busybox base (stages storage, docker's tags). */
async function reset(c: Ctx, images: 'none' | 'all' | 'stapelkit' | 'docker'): Promise<void> {
  if (images !== 'none') {
    const list = spawnSync(DOCKER, ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'], { env: c.dkEnv, encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    const drop = list.filter((r) => r !== BB && (images === 'all' || (images === 'docker') === r.startsWith('skt-bench-docker')));
    if (drop.length) spawnSync(DOCKER, ['rmi', '-f', ...drop], { env: c.dkEnv, stdio: 'ignore' });
  }
  spawnSync(DOCKER, ['builder', 'prune', '-af'], { env: c.dkEnv, stdio: 'ignore' });
}

// ---- profiling of the cold build ------------------------------------------------------------

/** Sums stapelkit's stage lines (`image X  stage Y  digest  built in 1.2s`) per stage name. */
function stageTimes(out: string): Map<string, { n: number; s: number }> {
  const m = new Map<string, { n: number; s: number }>();
  for (const line of out.split('\n')) {
    const r = /^image \S+\s+stage (\S+)\s+\S+\s+built in ([\d.]+)(ms|s)/.exec(line.trim());
    if (!r) continue;
    const s = Number(r[2]) / (r[3] === 'ms' ? 1000 : 1);
    const e = m.get(r[1]) ?? { n: 0, s: 0 };
    e.n++;
    e.s += s;
    m.set(r[1], e);
  }
  return m;
}

/** Sums plain-progress vertex times (`#N DONE 1.2s` after `#N <name>`) per kind of vertex name. */
function vertexTimes(out: string): Map<string, { n: number; s: number }> {
  const names = new Map<string, string>();
  const m = new Map<string, { n: number; s: number }>();
  for (const line of out.split('\n')) {
    let r = /^#(\d+) (DONE|CACHED) ?([\d.]*)s?$/.exec(line.trim());
    if (r) {
      const kind = kindOf(names.get(r[1]) ?? '?');
      const e = m.get(kind) ?? { n: 0, s: 0 };
      e.n++;
      e.s += r[3] ? Number(r[3]) : 0;
      m.set(kind, e);
      continue;
    }
    r = /^#(\d+) (\S.*)$/.exec(line.trim());
    if (r && !names.has(r[1]) && !/^\d/.test(r[2])) names.set(r[1], r[2]);
  }
  return m;
}

function kindOf(name: string): string {
  const name2 = name.replace(/sha256:\w+/g, '…').replace(/\S*skt-bench\S*/g, '…');
  if (/^\[internal\] load metadata|^resolve image config/.test(name2)) return 'resolve image config';
  if (/^\[internal\] git/.test(name2)) return '[internal] git content (FileSync)';
  if (/^\[internal\]/.test(name2)) return name2.replace(/ from \S+$/, '');
  let r = /^image "[^"]+", stage (.*)$/.exec(name2); // stapelkit's stage vertices
  if (r) return `stage ${r[1].replace(/: \S+\/\S+$/, '')}`;
  r = /^\[\d+\/\d+\] (\S+)/.exec(name2); // docker's Dockerfile steps
  if (r) return `Dockerfile ${r[1]}`;
  return name2;
}

function printProfile(title: string, m: Map<string, { n: number; s: number }>): void {
  const rows = [...m.entries()].sort((a, b) => b[1].s - a[1].s).slice(0, 12);
  console.log(`  ${title}:`);
  for (const [k, v] of rows) console.log(`    ${v.s.toFixed(2).padStart(7)} s  ×${String(v.n).padStart(3)}  ${k}`);
}

// ---- main -----------------------------------------------------------------------------------

interface Row { n: number; what: string; sk: number; dk: number; goal: number }

async function main(): Promise<void> {
  console.log(`$ node --import tsx bench/build.ts ${process.argv.slice(2).join(' ')}`.trimEnd());
  console.log(`  load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cpus; stapelkit from ${cliSource()}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-bench-build-'));
  const rows: Row[] = [];
  let d: DockerdInstance | undefined;
  try {
    const t0 = Date.now();
    d = await startDockerd({ stateDir: path.join(work, 'dockerd') });
    await ensureBusyboxImage(d.docker, 'amd64', path.join(work, 'cache'));
    console.log(`  private dockerd ${d.addr} (pid ${d.pid}) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    fs.mkdirSync(path.join(work, 'docker-config'));
    const c: Ctx = {
      work,
      d,
      skEnv: { ...process.env, XDG_STATE_HOME: path.join(work, 'state'), NO_COLOR: '1', FORCE_COLOR: '0' },
      dkEnv: { ...process.env, DOCKER_HOST: `unix://${d.socketPath}`, DOCKER_BUILDKIT: '1', DOCKER_CONFIG: path.join(work, 'docker-config') },
    };

    if (ONLY.has(1)) {
      console.log('\n[1] no-op rebuild of examples/hello');
      const hello = copyExample(work);
      const df = path.join(work, 'hello.Dockerfile');
      fs.writeFileSync(df, HELLO_DOCKERFILE);
      await stapelkit(c, hello.dir); // first build (not timed)
      await dockerBuild(c, hello.dir, df, 'skt-bench-docker-hello', 'dk hello');
      const [sk, dk] = await timedPair(RUNS, () => stapelkit(c, hello.dir), () => dockerBuild(c, hello.dir, df, 'skt-bench-docker-hello', 'dk hello'));
      rows.push({ n: 1, what: 'no-op rebuild, examples/hello', sk, dk, goal: 0.5 });
    }

    if ([2, 3, 4].some((n) => ONLY.has(n))) {
      const tg = Date.now();
      const g = await generateRepo(FILES, { checkout: true });
      const repo = path.join(work, 'ten-repo');
      fs.renameSync(g.dir, repo);
      fs.writeFileSync(path.join(repo, 'werf.yaml'), tenImagesWerf());
      fs.writeFileSync(path.join(repo, '.dockerignore'), '.git\n');
      gitIn(repo, 'add', '-A');
      gitIn(repo, 'commit', '-q', '-m', 'werf.yaml');
      fs.mkdirSync(path.join(work, 'ten'));
      for (let i = 0; i < IMAGES; i++) fs.writeFileSync(path.join(work, 'ten', `img${i}.Dockerfile`), tenImagesDockerfile(i));
      console.log(`\n  generated ${FILES}-file repo with ${IMAGES} images in ${((Date.now() - tg) / 1000).toFixed(1)} s: ${repo}`);

      // [4] first: both sides cold (BuildKit cache pruned, no stored stages, no docker images).
      console.log('\n[4] cold build of the 10-image project');
      await reset(c, 'all');
      const cold = await stapelkit(c, repo, ['--progress', 'plain']);
      fs.writeFileSync(path.join(work, 'cold-stapelkit.log'), cold.timed);
      await reset(c, 'none'); // stapelkit's stored stages stay (its next builds are no-ops); docker starts cold
      const dcold = await dockerTen(c, repo);
      fs.writeFileSync(path.join(work, 'cold-docker.log'), dcold.runs.map((r) => r.timed).join('\n'));
      if (ONLY.has(4)) rows.push({ n: 4, what: `cold build, ${IMAGES} images / ${FILES / 1000}k files`, sk: cold.s, dk: dcold.s, goal: 1.05 });
      console.log(`  stapelkit: ${cold.tailS.toFixed(2)} s from its last output line to its exit`);
      printProfile('stapelkit: stage lines, summed per stage (images build 5 at a time, so sums exceed wall time)', stageTimes(cold.out));
      printProfile('stapelkit: BuildKit vertices (plain progress), summed', vertexTimes(cold.out));
      printProfile('docker: BuildKit vertices (plain progress), summed over the 10 builds', vertexTimes(dcold.runs.map((r) => r.out).join('\n')));

      if (ONLY.has(2)) {
        console.log(`\n[2] no-op rebuild of the 10-image project`);
        await stapelkit(c, repo);
        await dockerTen(c, repo);
        const [sk, dk] = await timedPair(RUNS, () => stapelkit(c, repo), () => dockerTen(c, repo));
        rows.push({ n: 2, what: `no-op rebuild, ${IMAGES} images / ${FILES / 1000}k files`, sk, dk, goal: 0.2 });
      }

      if (ONLY.has(3)) {
        console.log('\n[3] edit one file outside every stageDependencies, commit, rebuild');
        const sks: number[] = [];
        const dks: number[] = [];
        for (let r = 0; r < RUNS; r++) {
          const f = path.join(repo, 'src', 'm0', 'p5', fs.readdirSync(path.join(repo, 'src', 'm0', 'p5'))[0]);
          fs.appendFileSync(f, `edit ${r}\n`);
          gitIn(repo, 'commit', '-q', '-am', `edit ${r}`);
          const sk = await stapelkit(c, repo);
          const rebuilt = sk.out.split('\n').filter((l) => /built in/.test(l)).map((l) => l.trim().replace(/\s+/g, ' '));
          console.log(`  stapelkit built: ${rebuilt.join(' | ') || 'nothing'}`);
          sks.push(sk.s);
          dks.push((await dockerTen(c, repo)).s);
        }
        rows.push({ n: 3, what: 'edit outside stageDependencies', sk: median(sks), dk: median(dks), goal: 0.3 });
      }
    }
  } finally {
    await d?.stop().catch((e) => console.error(`stopping dockerd: ${e}`));
    if (KEEP) console.log(`\n  kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }

  let deps: { name: string; coldMs: number; warmMs: number }[] = [];
  if (ONLY.has(5)) {
    console.log(`\n[5] stageDependencies checksums, ${DEPS_FILES / 1000}k-file repo`);
    console.log(`  $ node --import tsx bench/stage-deps.ts --files ${DEPS_FILES} --runs 3`);
    deps = await stageDepsBench(DEPS_FILES, 3, (l) => console.log(`  ${l}`));
  }

  console.log('\n  #  scenario                                  stapelkit    docker    ratio   goal');
  for (const r of rows.sort((a, b) => a.n - b.n)) {
    const ratio = r.sk / r.dk;
    console.log(`  ${r.n}  ${r.what.padEnd(40)} ${r.sk.toFixed(3).padStart(8)} s ${r.dk.toFixed(3).padStart(7)} s ${ratio.toFixed(2).padStart(7)}×  ≤ ${r.goal}×  ${ratio <= r.goal ? 'ok' : 'OVER'}`);
  }
  for (const dr of deps) console.log(`  5  ${`stageDeps: ${dr.name}`.padEnd(40)} ${(dr.coldMs / 1000).toFixed(3).padStart(8)} s       —        —   < 0.5 s  ${dr.coldMs < 500 ? 'ok' : 'OVER'}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
