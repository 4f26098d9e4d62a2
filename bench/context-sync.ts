/**
 * Context-transfer benchmark: Stapelkit's FileSync sender vs `docker build` (docker CLI 20.10 with
 * DOCKER_BUILDKIT=1) on the same private dockerd, for a generated tree (default 20k files, 500 MB).
 *
 * Both sides do the same job: transfer the whole directory as a build context, copy it into a
 * scratch image (`COPY . /`) and export it to the docker image store (moby exporter). Reported:
 *  - transfer: the context transfer alone (ours: FileSync call start → FIN; docker: the daemon's
 *    "transferring context … done" progress time),
 *  - total: wall time of the whole build.
 * The build cache is pruned before every run so each transfer is a full one.
 *
 *   node --import tsx bench/context-sync.ts [--files 20000] [--mb 500] [--runs 3] [--chunk 32768] [--keep]
 *
 * Our side runs twice per round: over dockerd's `/session` upgrade (the docker CLI's own tunnel) and
 * over the `Control.Session` gRPC tunnel of src/buildkit's client.
 *
 * The daemon comes from the test harness: the one in STAPELKIT_TEST_ADDR, or a private dockerd started
 * (and stopped) here. The docker CLI is /usr/bin/docker (Debian's 20.10 CLI has the built-in BuildKit
 * client; newer CLIs need the buildx plugin) unless STAPELKIT_BENCH_DOCKER is set.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv } from '../test/integration/harness';
import { waitFor } from '../test/integration/session-helpers';
import type { BuildkitClient } from '../src/buildkit/client';
import { Session } from '../src/session';
import { copy, local, marshal, scratch } from '../src/llb';
import { numArg } from './args';

const FILES = numArg('files', 20000);
const MB = numArg('mb', 500);
const RUNS = numArg('runs', 3);
const CHUNK = numArg('chunk', 32 * 1024);
const KEEP = process.argv.includes('--keep');
const DOCKER = process.env.STAPELKIT_BENCH_DOCKER || '/usr/bin/docker';

/**
 * 1% of the files are large (together 80% of the bytes), the rest small (0–~10 KB), spread over
 * directories of 100 files, two levels deep. Content is pseudo-random (incompressible).
 */
function generateTree(root: string, files: number, totalBytes: number): { files: number; bytes: number } {
  const pool = crypto.randomBytes(16 << 20);
  const large = Math.max(1, Math.floor(files / 100));
  const small = files - large;
  const largeSize = Math.floor((totalBytes * 0.8) / large);
  const smallAvg = Math.floor((totalBytes * 0.2) / Math.max(1, small));
  let bytes = 0;
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed / 0x7fffffff);
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `d${String(Math.floor(i / 1000)).padStart(2, '0')}`, `s${String(Math.floor(i / 100) % 10)}`);
    if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
    const size = i % 100 === 50 && i / 100 < large ? largeSize : Math.floor(rnd() * 2 * smallAvg);
    const off = Math.floor(rnd() * (pool.length - Math.min(size, pool.length)));
    const fd = fs.openSync(path.join(dir, `f${i}.bin`), 'w');
    for (let done = 0; done < size; ) {
      const n = Math.min(size - done, pool.length - off);
      fs.writeSync(fd, pool, off, n);
      done += n;
    }
    fs.closeSync(fd);
    bytes += size;
  }
  return { files, bytes };
}

function pruneCache(env: NodeJS.ProcessEnv): void {
  spawnSync(DOCKER, ['builder', 'prune', '-af'], { env, stdio: 'ignore' });
}

/** `1.2s` / `850ms`-style durations in docker's plain progress output. */
function parseSeconds(s: string): number {
  const m = /^([\d.]+)(ms|s|m)$/.exec(s);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === 'ms' ? v / 1000 : m[2] === 'm' ? v * 60 : v;
}

async function dockerBuild(ctx: string, dockerfile: string, tag: string, env: NodeJS.ProcessEnv): Promise<{ totalS: number; transferS: number }> {
  const t0 = process.hrtime.bigint();
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(DOCKER, ['build', '--progress=plain', '-f', dockerfile, '-t', tag, ctx], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buf = '';
    p.stdout.on('data', (b: Buffer) => (buf += b.toString()));
    p.stderr.on('data', (b: Buffer) => (buf += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(buf) : reject(new Error(`docker build exited ${code}:\n${buf.slice(-3000)}`))));
  });
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  // The largest "transferring context: <size> <time> done" line is the build context (the other is the Dockerfile).
  let transferS = NaN;
  for (const m of out.matchAll(/transferring context: [\d.]+[kMG]?B ([\d.]+m?s) done/g)) {
    const s = parseSeconds(m[1]);
    if (!(s <= transferS)) transferS = s;
  }
  return { totalS, transferS };
}

/**
 * Our side: a Session with the context as `local://context`, tunnelled either over dockerd's
 * `/session` upgrade (what the docker CLI does) or over the `Control.Session` gRPC call.
 */
async function oursBuild(client: BuildkitClient, tunnel: 'session' | 'control', ctx: string, tag: string): Promise<{ totalS: number; transferS: number; sync: Session['stats']['syncs'][number] }> {
  const session = new Session({ syncedDirs: { context: { dir: ctx } }, ssh: [], auth: false, sharedKey: crypto.randomBytes(8).toString('hex'), chunkSize: CHUNK });
  const attached = await client.attachSession(session, { tunnel: tunnel === 'session' ? 'upgrade' : 'control' });
  const src = local('context', { sessionId: session.id, sharedKeyHint: 'context' });
  const def = marshal(scratch().file(copy(src, '/', '/')));
  const t0 = process.hrtime.bigint();
  await client.solve({ definition: def, session: session.id, exporter: { type: 'moby', attrs: { name: tag } } });
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  await waitFor(() => session.stats.syncs.length > 0, 2000); // the FileSync call may end just after Solve
  await attached.close();
  await session.close();
  const sync = session.stats.syncs[0];
  if (!sync || sync.error) throw new Error(`FileSync did not complete: ${JSON.stringify(session.stats.syncs)}`);
  return { totalS, transferS: sync.ms / 1000, sync };
}

async function main(): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-bench-'));
  const ctx = path.join(work, 'ctx');
  fs.mkdirSync(ctx);
  const tg = Date.now();
  const tree = generateTree(ctx, FILES, MB * 1024 * 1024);
  console.log(`tree: ${tree.files} files, ${(tree.bytes / 1048576).toFixed(0)} MiB in ${ctx} (generated in ${((Date.now() - tg) / 1000).toFixed(1)} s)`);
  const dockerfile = path.join(work, 'Dockerfile');
  fs.writeFileSync(dockerfile, 'FROM scratch\nCOPY . /\n');

  const env = await testEnv();
  try {
    const client = await env.client();
    const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${env.dockerSocket}`, DOCKER_BUILDKIT: '1' };
    const rows: { run: number; who: string; totalS: number; transferS: number }[] = [];
    const WHO = ['docker build', 'stapelkit /session', 'stapelkit Control.Session'];
    for (let run = 1; run <= RUNS; run++) {
      pruneCache(dockerEnv);
      const d = await dockerBuild(ctx, dockerfile, `skt-bench-docker:${run}`, dockerEnv);
      rows.push({ run, who: WHO[0], ...d });
      let line = `run ${run}: docker transfer ${d.transferS.toFixed(2)} s, total ${d.totalS.toFixed(2)} s`;
      for (const [i, tunnel] of (['session', 'control'] as const).entries()) {
        pruneCache(dockerEnv);
        const o = await oursBuild(client, tunnel, ctx, `skt-bench-ours-${tunnel}:${run}`);
        rows.push({ run, who: WHO[i + 1], totalS: o.totalS, transferS: o.transferS });
        line += ` | ${WHO[i + 1]} transfer ${o.transferS.toFixed(2)} s (walk ${((o.sync.walkMs ?? 0) / 1000).toFixed(1)} s, summed drain waits ${((o.sync.drainMs ?? 0) / 1000).toFixed(1)} s), total ${o.totalS.toFixed(2)} s`;
      }
      console.log(line);
    }
    pruneCache(dockerEnv);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const pick = (who: string, k: 'totalS' | 'transferS') => median(rows.filter((r) => r.who === who).map((r) => r[k]));
    const mib = tree.bytes / 1048576;
    const dT = pick(WHO[0], 'transferS');
    const dA = pick(WHO[0], 'totalS');
    console.log('');
    console.log(`median of ${RUNS} runs, ${tree.files} files / ${mib.toFixed(0)} MiB, DATA chunk ${CHUNK} B (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}):`);
    console.log(`  docker build                 transfer ${dT.toFixed(2)} s (${(mib / dT).toFixed(0)} MiB/s), whole build ${dA.toFixed(2)} s`);
    for (const who of WHO.slice(1)) {
      const oT = pick(who, 'transferS');
      const oA = pick(who, 'totalS');
      console.log(`  ${who.padEnd(28)} transfer ${oT.toFixed(2)} s (${(mib / oT).toFixed(0)} MiB/s), whole build ${oA.toFixed(2)} s → throughput vs docker: transfer ${(dT / oT).toFixed(2)}×, whole build ${(dA / oA).toFixed(2)}×`);
    }
  } finally {
    await env.stop();
    if (!KEEP) fs.rmSync(work, { recursive: true, force: true });
    else console.log(`kept ${work}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
