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
 *   node --import tsx bench/frontend-startup.ts [--runs 7]
 *
 * The daemon comes from the test harness (STAPELKIT_TEST_ADDR or a private dockerd started here).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ProgressCollector } from '../src/buildkit/progress';
import { Session } from '../src/session';
import { frontendImage, projectDir } from '../test/integration/frontend-helpers';
import { testEnv } from '../test/integration/harness';
import { numArg } from './args';

const RUNS = numArg('runs', 7);

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

async function main(): Promise<void> {
  const env = await testEnv();
  const p = projectDir({});
  try {
    const t0 = Date.now();
    const image = await frontendImage(env.docker);
    process.stderr.write(`frontend image ${image} ready in ${Date.now() - t0} ms\n`);
    fs.writeFileSync(`${p.dir}/werf.yaml`, `project: bench\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\nshell:\n  install: echo hi\n`);
    fs.writeFileSync(`${p.dir}/Dockerfile`, `FROM ${env.images.amd64}\n`);
    const client = await env.client();
    // The frontend's stderr goes to the daemon's (our private dockerd's log, next to its socket).
    const daemonLog = tailer(path.join(path.dirname(env.dockerSocket), 'dockerd.log'));
    const phases: Record<string, number[]> = { container: [], 'node + main module': [], 'start → ping answered': [], 'ping → first solve sent': [], 'solve sent → vertex started': [] };
    const run = async (frontend: string, attrs: Record<string, string>, match: (n: string) => boolean) => {
      const session = new Session({ syncedDirs: { context: { dir: p.dir }, dockerfile: { dir: p.dir } } });
      try {
        const start = Date.now();
        const res = await client.solve({ frontend, frontendAttrs: attrs, session });
        const first = firstSolveMs(res.progress, start, match);
        // Of that, from the frontend image's vertex completing (container start + Node + Ping) to the first solve.
        const img = [...res.progress.vertices.values()].find((v) => v.name.startsWith('docker-image://') && v.name.includes('stapelkit/frontend') && v.completed);
        const tl = frontend === 'gateway.v0' ? frontendTimeline(daemonLog()) : undefined;
        if (tl && img) {
          phases.container.push(tl.processStart - img.completed!.getTime());
          phases['node + main module'].push(tl.at.start);
          phases['start → ping answered'].push(tl.at.ping - tl.at.start);
          phases['ping → first solve sent'].push(tl.at['first-solve'] - tl.at.ping);
          phases['solve sent → vertex started'].push(start + first - (tl.processStart + tl.at['first-solve']));
        }
        return { first, total: Date.now() - start, process: img ? first - (img.completed!.getTime() - start) : NaN };
      } finally {
        await session.close();
      }
    };
    const ours = { first: [] as number[], total: [] as number[], process: [] as number[] };
    const builtin = { first: [] as number[], total: [] as number[] };
    // One warm-up each (image unpacked, caches filled), then alternate.
    await run('gateway.v0', { source: image, filename: 'werf.yaml' }, (n) => n === 'local://dockerfile');
    await run('dockerfile.v0', { filename: 'Dockerfile' }, (n) => n.startsWith('[internal] load build definition'));
    for (const xs of Object.values(phases)) xs.length = 0;
    for (let i = 0; i < RUNS; i++) {
      const a = await run('gateway.v0', { source: image, filename: 'werf.yaml' }, (n) => n === 'local://dockerfile');
      ours.first.push(a.first);
      ours.total.push(a.total);
      ours.process.push(a.process);
      const b = await run('dockerfile.v0', { filename: 'Dockerfile' }, (n) => n.startsWith('[internal] load build definition'));
      builtin.first.push(b.first);
      builtin.total.push(b.total);
    }
    const fmt = (xs: number[]) => `median ${median(xs)} ms (min ${Math.min(...xs)}, max ${Math.max(...xs)})`;
    console.log(`runs: ${RUNS} (after one warm-up each)`);
    console.log(`stapelkit frontend (gateway.v0): solve request → first LLB solve: ${fmt(ours.first)}; whole build: ${fmt(ours.total)}`);
    console.log(`  of which frontend image ready → first LLB solve (container start, Node, module load, Ping): ${fmt(ours.process)}`);
    if (phases.container.length) {
      console.log(`  the frontend's own log (ms since its process started; dockerd's log; medians):`);
      for (const [k, xs] of Object.entries(phases)) console.log(`    ${k}: ${fmt(xs)}`);
    }
    console.log(`built-in dockerfile.v0:          solve request → first LLB solve: ${fmt(builtin.first)}; whole build: ${fmt(builtin.total)}`);
    console.log(`ratio (start-up, ours / built-in): ${(median(ours.first) / Math.max(1, median(builtin.first))).toFixed(1)}x; extra start-up ${median(ours.first) - median(builtin.first)} ms`);
  } finally {
    p.cleanup();
    await env.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
