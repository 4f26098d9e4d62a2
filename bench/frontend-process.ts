/**
 * The frontend process alone, without BuildKit or a container: spawned as the image runs it, with a
 * grpc-js LLBBridge (our protos) on its stdin/stdout answering Ping and Inputs, until its first
 * Solve arrives. Reports wall time and the child's CPU time (/proc/<pid>/schedstat) to that Solve —
 * CPU time holds still on a loaded machine where wall time does not.
 *
 * Variants, interleaved: this tree's image layout (bin/stapelkit-frontend + dist/frontend.js, with and
 * without its code cache, in a temp dir with no node_modules above), and with `--baseline DIR` another
 * checkout's `node dist/src/frontend/main.js` (the layout before the bundle).
 *
 *   node --import tsx bench/frontend-process.ts [--runs 15] [--baseline DIR] [--keep-ca-certs]
 *
 * `--keep-ca-certs` leaves NODE_EXTRA_CA_CERTS set (the frontend container has none).
 */
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duplex } from 'node:stream';
import { bundleFrontend } from '../scripts/bundle';
import { frontendCodeCache } from '../scripts/frontend-image';
import { serviceDefinition } from '../src/proto';
import { numArg, strArg } from './args';

const ROOT = path.resolve(__dirname, '..');
const RUNS = numArg('runs', 15);
const BASELINE = strArg('baseline', '');
const KEEP_CA = process.argv.includes('--keep-ca-certs');

const cap = (ID: string) => ({ ID, Enabled: true });
const PONG = {
  FrontendAPICaps: ['solve.base', 'readfile', 'readdir', 'statfile', 'resolveimage', 'return', 'gateway.solve.evaluate', 'frontend.inputs'].map(cap),
  LLBCaps: ['source.local', 'source.local.sessionid', 'source.local.followpaths', 'source.local.sharedkeyhint', 'source.image', 'constraints', 'platform', 'meta.description'].map(cap),
  Workers: [{ ID: 'w0', Labels: { 'org.mobyproject.buildkit.worker.moby.host': 'x' }, platforms: [{ OS: 'linux', Architecture: 'amd64' }] }],
};

/** CPU time of `pid` so far, in ms (the first field of schedstat: ns on the CPU). */
function cpuMs(pid: number): number {
  return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
}

/** One frontend start: ms (wall, CPU) from spawn to its first Solve. */
function runOnce(argv: string[]): Promise<{ wall: number; cpu: number }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, NODE_ENV: 'production', BUILDKIT_SESSION_ID: 'bench', BUILDKIT_FRONTEND_OPT_0: 'filename=werf.yaml' };
    if (KEEP_CA && process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env, stdio: ['pipe', 'pipe', 'ignore'] });
    const server = new grpc.Server();
    const def = serviceDefinition('moby.buildkit.v1.frontend.LLBBridge');
    const impl: Record<string, grpc.handleUnaryCall<any, any>> = {};
    let done = false;
    const finish = (err?: Error, r?: { wall: number; cpu: number }) => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      server.forceShutdown();
      if (err) reject(err);
      else resolve(r!);
    };
    for (const m of Object.keys(def)) {
      impl[m] = (_call, cb) => {
        if (m === 'Ping') return cb(null, PONG);
        if (m === 'Inputs') return cb(null, {});
        if (m === 'Solve') return finish(undefined, { wall: performance.now() - t0, cpu: cpuMs(child.pid!) });
        cb({ code: grpc.status.UNIMPLEMENTED, details: m });
      };
    }
    server.addService(def, impl);
    const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    injector.injectConnection(Duplex.from({ readable: child.stdout!, writable: child.stdin! }));
    child.on('exit', (code) => finish(new Error(`${argv.join(' ')} exited (${code}) before its first Solve`)));
    setTimeout(() => finish(new Error('no Solve within 20 s')), 20_000);
  });
}

/** This tree's image layout in a temp dir (nothing above it has node_modules), with or without the code cache. */
function layout(withCache: boolean): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-feproc-')));
  fs.mkdirSync(path.join(dir, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'stapelkit-frontend'), path.join(dir, 'bin', 'stapelkit-frontend'));
  fs.cpSync(path.join(ROOT, 'proto'), path.join(dir, 'proto'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'dist'));
  fs.copyFileSync(path.join(ROOT, 'dist', 'frontend.js'), path.join(dir, 'dist', 'frontend.js'));
  if (withCache) fs.copyFileSync(frontendCodeCache(ROOT, process.execPath), path.join(dir, 'dist', 'frontend.cache'));
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'frontend.js'))) bundleFrontend(path.join(ROOT, 'dist'));
  const dirs = [layout(true), layout(false)];
  const variants: { label: string; argv: string[]; wall: number[]; cpu: number[] }[] = [
    { label: 'bundle + code cache (bin/stapelkit-frontend)', argv: [path.join(dirs[0], 'bin', 'stapelkit-frontend')], wall: [], cpu: [] },
    { label: 'bundle, no code cache', argv: [path.join(dirs[1], 'bin', 'stapelkit-frontend')], wall: [], cpu: [] },
  ];
  if (BASELINE) variants.push({ label: `baseline: ${BASELINE}/dist/src/frontend/main.js`, argv: [path.resolve(BASELINE, 'dist', 'src', 'frontend', 'main.js')], wall: [], cpu: [] });
  const load0 = os.loadavg()[0].toFixed(2);
  try {
    for (const v of variants) await runOnce(v.argv); // warm the page cache
    for (let i = 0; i < RUNS; i++) {
      for (const v of variants) {
        const r = await runOnce(v.argv);
        v.wall.push(r.wall);
        v.cpu.push(r.cpu);
      }
    }
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  console.log(`spawn → first Solve, ${RUNS} interleaved runs, NODE_EXTRA_CA_CERTS ${KEEP_CA && process.env.NODE_EXTRA_CA_CERTS ? 'kept' : 'unset'}; load average ${load0} → ${os.loadavg()[0].toFixed(2)}`);
  for (const v of variants) console.log(`  ${v.label}: CPU median ${median(v.cpu).toFixed(0)} ms (min ${Math.min(...v.cpu).toFixed(0)}), wall median ${median(v.wall).toFixed(0)} ms (min ${Math.min(...v.wall).toFixed(0)})`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
