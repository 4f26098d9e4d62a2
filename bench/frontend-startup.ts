/**
 * Frontend start-up inside BuildKit: the time from the Control.Solve request to the frontend's
 * first LLB solve, for our frontend image (`gateway.v0`, `source=<image>`) against BuildKit's
 * built-in Dockerfile frontend (`dockerfile.v0`) on the same daemon — both begin by solving the
 * `dockerfile` local, whose vertex start (the Status stream, same clock) marks the moment.
 *
 * Our figure includes: resolving the frontend image, starting its container, Node start-up and
 * module loading, and the Ping round trip. Also reported: wall time of the whole build (ours: werf.yaml
 * rendered, `from` + `install` through the shared core, cached after the warm-up; theirs: a one-line
 * `FROM`; no exporter).
 *
 *   node --import tsx bench/frontend-startup.ts [--runs 7] [--baseline DIR]
 *
 * `--baseline DIR`: the frontend image of another checkout (say `git worktree add DIR main`, then
 * `make build` there) runs too, interleaved with ours and the built-in one, for a before/after.
 *
 * The daemon comes from the test harness (STAPELKIT_TEST_ADDR or a private dockerd started here).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ProgressCollector } from '../src/buildkit/progress';
import { Session } from '../src/session';
import { frontendImage, projectDir } from '../test/integration/frontend-helpers';
import { testEnv } from '../test/integration/harness';
import { numArg, strArg } from './args';

const RUNS = numArg('runs', 7);
/** Another checkout (built) whose frontend image runs interleaved with ours: before/after on one daemon, one load. */
const BASELINE = strArg('baseline', '');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function firstSolveMs(progress: ProgressCollector, t0: number, match: (name: string) => boolean): number {
  const v = [...progress.vertices.values()].find((x) => match(x.name) && x.started);
  if (!v) throw new Error(`no matching vertex among: ${[...progress.vertices.values()].map((x) => x.name).join(' | ')}`);
  return v.started!.getTime() - t0;
}

/** The frontend's own log lines (main.ts `log`: ISO time, ms since its process started) in `text`. */
function frontendTimeline(text: string): { processStart: number; at: Record<string, number> } | undefined {
  const at: Record<string, number> = {};
  let processStart = NaN;
  for (const m of text.matchAll(/\[stapelkit-frontend (\S+) \+(\d+)ms\] (start|ping|first-solve)/g)) {
    if (m[3] in at) continue;
    at[m[3]] = Number(m[2]);
    if (Number.isNaN(processStart)) processStart = Date.parse(m[1]) - Number(m[2]);
  }
  return 'first-solve' in at ? { processStart, at } : undefined;
}

/** New bytes of a growing file since the last call. */
function tailer(file: string): () => string {
  let offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  return () => {
    if (!fs.existsSync(file)) return '';
    const size = fs.statSync(file).size;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.max(0, size - offset));
      fs.readSync(fd, buf, 0, buf.length, offset);
      offset = size;
      return buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  };
}

const PHASES = ['container', 'node + main module', 'start → ping answered', 'ping → first solve sent', 'solve sent → vertex started'] as const;

interface Series {
  label: string;
  frontend: string;
  attrs: Record<string, string>;
  match: (name: string) => boolean;
  first: number[];
  total: number[];
  process: number[];
  phases: Record<(typeof PHASES)[number], number[]>;
  codeCache: Set<string>;
}

const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main(): Promise<void> {
  const loadBefore = loadavg();
  const env = await testEnv();
  const p = projectDir({});
  try {
    const t0 = Date.now();
    const image = await frontendImage(env.docker);
    process.stderr.write(`frontend image ${image} ready in ${Date.now() - t0} ms\n`);
    let baselineImage: string | undefined;
    if (BASELINE) {
      // The other checkout's own image builder (its layout, its dist/): built there first (`make build`).
      const other = require(path.resolve(BASELINE, 'scripts', 'frontend-image.ts')) as typeof import('../scripts/frontend-image');
      baselineImage = (await other.loadFrontendImage(env.docker)).ref;
      process.stderr.write(`baseline frontend image ${baselineImage} (${BASELINE})\n`);
    }
    fs.writeFileSync(`${p.dir}/werf.yaml`, `project: bench\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\nshell:\n  install: echo hi\n`);
    fs.writeFileSync(`${p.dir}/Dockerfile`, `FROM ${env.images.amd64}\n`);
    const client = await env.client();
    // The frontend's stderr goes to the daemon's (our private dockerd's log, next to its socket).
    const daemonLog = tailer(path.join(path.dirname(env.dockerSocket), 'dockerd.log'));
    const series = (label: string, frontend: string, attrs: Record<string, string>, match: (n: string) => boolean): Series => ({
      label, frontend, attrs, match, first: [], total: [], process: [], phases: Object.fromEntries(PHASES.map((k) => [k, []])) as unknown as Series['phases'], codeCache: new Set(),
    });
    const all: Series[] = [series('stapelkit frontend (gateway.v0)', 'gateway.v0', { source: image, filename: 'werf.yaml' }, (n) => n === 'local://dockerfile')];
    if (baselineImage) all.push(series(`baseline frontend (${path.basename(path.resolve(BASELINE))})`, 'gateway.v0', { source: baselineImage, filename: 'werf.yaml' }, (n) => n === 'local://dockerfile'));
    const builtin = series('built-in dockerfile.v0', 'dockerfile.v0', { filename: 'Dockerfile' }, (n) => n.startsWith('[internal] load build definition'));
    all.push(builtin);
    const run = async (s: Series, record: boolean) => {
      const session = new Session({ syncedDirs: { context: { dir: p.dir }, dockerfile: { dir: p.dir } } });
      try {
        const start = Date.now();
        const res = await client.solve({ frontend: s.frontend, frontendAttrs: s.attrs, session });
        const first = firstSolveMs(res.progress, start, s.match);
        const total = Date.now() - start;
        // Of that, from the frontend image's vertex completing (container start + Node + Ping) to the first solve.
        const img = [...res.progress.vertices.values()].find((v) => v.name.startsWith('docker-image://') && v.name.includes('stapelkit/frontend') && v.completed);
        const text = s.frontend === 'gateway.v0' ? daemonLog() : '';
        const tl = frontendTimeline(text);
        if (!record) return;
        s.first.push(first);
        s.total.push(total);
        if (img) s.process.push(first - (img.completed!.getTime() - start));
        for (const m of text.matchAll(/, code cache ([^,]+),/g)) s.codeCache.add(m[1]);
        if (tl && img) {
          s.phases.container.push(tl.processStart - img.completed!.getTime());
          s.phases['node + main module'].push(tl.at.start);
          s.phases['start → ping answered'].push(tl.at.ping - tl.at.start);
          s.phases['ping → first solve sent'].push(tl.at['first-solve'] - tl.at.ping);
          s.phases['solve sent → vertex started'].push(start + first - (tl.processStart + tl.at['first-solve']));
        }
      } finally {
        await session.close();
      }
    };
    // One warm-up each (image unpacked, caches filled), then alternate.
    for (const s of all) await run(s, false);
    for (let i = 0; i < RUNS; i++) for (const s of all) await run(s, true);
    const fmt = (xs: number[]) => `median ${median(xs)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)})`;
    console.log(`runs: ${RUNS} (after one warm-up each, interleaved); load average ${loadBefore} before, ${loadavg()} after`);
    for (const s of all) {
      console.log(`${s.label}: solve request → first LLB solve: ${fmt(s.first)}; whole build: ${fmt(s.total)}`);
      if (s === builtin) continue;
      console.log(`  of which frontend image ready → first LLB solve (container start, Node, module load, Ping): ${fmt(s.process)}`);
      if (s.phases.container.length) {
        console.log(`  the frontend's own log (ms since its process started; dockerd's log; code cache ${[...s.codeCache].join('/') || 'not logged'}):`);
        for (const [k, xs] of Object.entries(s.phases)) console.log(`    ${k}: ${fmt(xs)}`);
      }
      console.log(`  ratio (start-up, this / built-in): ${(median(s.first) / Math.max(1, median(builtin.first))).toFixed(1)}x; extra start-up ${median(s.first) - median(builtin.first)} ms`);
    }
  } finally {
    p.cleanup();
    await env.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
