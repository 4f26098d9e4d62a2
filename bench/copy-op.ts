/**
 * The gitArchive copy against docker's COPY, op by op: N images at once (as bench/build.ts [4]
 * builds 5), each laying its two modules of a generated repo (default 20k files) at /app on busybox.
 * Every round prunes the build cache and solves the N graphs concurrently (no export); reported
 * per variant: the median over the rounds of the summed copy-vertex and local-vertex durations
 * (BuildKit's started → completed), the wall time of the N solves, and the CPU seconds dockerd and
 * this process spent (durations on a shared 2-core machine swing with its load; compare rounds
 * run close together, and the per-round lines).
 *
 *   node --import tsx bench/copy-op.ts [--files 20000] [--n 5] [--runs 3] [--only a,b]
 *
 * Variants (`--only` takes their keys):
 *  - ours:      FileSync from git objects, one copy `/` → /app (dirCopyContents, no followSymlinks);
 *  - ours-dkflags: the same copy with docker's COPY flags (followSymlinks, allowWildcard, allowEmptyWildcard);
 *  - git-2ops:  FileSync from git objects, one FileOp per module (`/m0` → /app/m0), docker's flags;
 *  - docker:    the checked-out repo as docker's context (followPaths src/mX), one FileOp per module;
 *  - git-mtime: `ours` with every mtime at the commit time instead of 0;
 *  - disk-ours: the checked-out `src` as a local with includePatterns mX, one copy `/` → /app;
 *  - git-only / disk-only: the local source alone (the transfer without a copy).
 */
import * as crypto from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { testEnv } from '../test/integration/harness';
import type { BuildkitClient } from '../src/buildkit/client';
import { Session, type SyncedDir } from '../src/session';
import { copy, image, local, marshal, type CopyOptions, type State } from '../src/llb';
import { CliGitRepo } from '../src/git/cli-repo';
import { archiveEntries } from '../src/git/mapping';
import { gitTreeSource } from '../src/git/content';
import { generateRepo } from './gen-repo';
import { numArg } from './args';

const FILES = numArg('files', 20000);
const N = numArg('n', 5);
const RUNS = numArg('runs', 3);
const ONLY = (() => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? new Set(process.argv[i + 1].split(',')) : undefined;
})();
/** CPU seconds (user+system, with reaped children) of the dockerd serving `socket`: work done, whatever the load. */
function daemonCpu(socket: string): number {
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmd = '';
    try {
      cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (!cmd.startsWith('dockerd') && !cmd.includes('/dockerd\0')) continue;
    if (!cmd.includes(socket)) continue;
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  }
  throw new Error(`no dockerd for ${socket}`);
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const OURS: CopyOptions = { createDestPath: true, followSymlinks: false, dirCopyContents: true };
const DOCKER: CopyOptions = { createDestPath: true, followSymlinks: true, dirCopyContents: true, allowWildcard: true, allowEmptyWildcard: true };

interface Variant {
  key: string;
  /** The source the image's graph reads (one per image), and the graph on `base`. */
  build(i: number, sessionId: string, base: State): { synced: SyncedDir; name: string; state: State };
}

const mods = (i: number) => [`m${2 * i}`, `m${2 * i + 1}`];

async function main(): Promise<void> {
  const g = await generateRepo(FILES, { checkout: true });
  const env = await testEnv();
  const repo = new CliGitRepo(g.dir);
  const gitSources: SyncedDir[] = [];
  const gitMtimeSources: SyncedDir[] = [];
  for (let i = 0; i < N; i++) {
    const a = await archiveEntries(repo, g.commit, { add: '/src', to: '/app', includePaths: mods(i), excludePaths: [] });
    gitSources.push({ dir: '', source: gitTreeSource(a) });
    gitMtimeSources.push({ dir: '', source: gitTreeSource(a, { mtimeNs: 1700000000n * 1000000000n }) });
  }
  const all: Variant[] = [
    {
      key: 'ours',
      build: (i, sid, base) => ({ synced: gitSources[i], name: `git${i}`, state: base.file(copy(local(`git${i}`, { sessionId: sid, sharedKeyHint: `git${i}` }), '/', '/app', OURS)) }),
    },
    {
      key: 'ours-dkflags',
      build: (i, sid, base) => ({ synced: gitSources[i], name: `git${i}`, state: base.file(copy(local(`git${i}`, { sessionId: sid, sharedKeyHint: `git${i}` }), '/', '/app', DOCKER)) }),
    },
    {
      key: 'git-2ops',
      build: (i, sid, base) => {
        const src = local(`git${i}`, { sessionId: sid, sharedKeyHint: `git${i}` });
        let st = base;
        for (const m of mods(i)) st = st.file(copy(src, `/${m}`, `/app/${m}`, DOCKER));
        return { synced: gitSources[i], name: `git${i}`, state: st };
      },
    },
    {
      key: 'docker',
      build: (i, sid, base) => {
        const src = local('context', { sessionId: sid, sharedKeyHint: 'context', followPaths: mods(i).map((m) => `src/${m}`), excludePatterns: ['.git'] });
        let st = base;
        for (const m of mods(i)) st = st.file(copy(src, `/src/${m}`, `/app/${m}`, DOCKER));
        return { synced: { dir: g.dir }, name: 'context', state: st };
      },
    },
    {
      key: 'git-mtime',
      build: (i, sid, base) => ({ synced: gitMtimeSources[i], name: `git${i}`, state: base.file(copy(local(`git${i}`, { sessionId: sid, sharedKeyHint: `git${i}` }), '/', '/app', OURS)) }),
    },
    { key: 'git-only', build: (i, sid) => ({ synced: gitSources[i], name: `git${i}`, state: local(`git${i}`, { sessionId: sid, sharedKeyHint: `git${i}` }) }) },
    { key: 'disk-only', build: (i, sid) => ({ synced: { dir: path.join(g.dir, 'src') }, name: `disk${i}`, state: local(`disk${i}`, { sessionId: sid, sharedKeyHint: `disk${i}`, includePatterns: mods(i) }) }) },
    {
      key: 'disk-ours',
      build: (i, sid, base) => ({
        synced: { dir: path.join(g.dir, 'src') },
        name: `disk${i}`,
        state: base.file(copy(local(`disk${i}`, { sessionId: sid, sharedKeyHint: `disk${i}`, includePatterns: mods(i) }), '/', '/app', OURS)),
      }),
    },
  ];
  const variants = all.filter((v) => !ONLY || ONLY.has(v.key));

  const rows = new Map<string, { copy: number[]; local: number[]; wall: number[]; maxCopy: number[]; dCpu: number[]; nCpu: number[] }>();
  try {
    const client = await env.client();
    const base = image(env.images.amd64);
    for (let run = 0; run < RUNS; run++) {
      // Rotated each round: the first solve after a prune pays for more than its own work.
      for (const v of [...variants.slice(run % variants.length), ...variants.slice(0, run % variants.length)]) {
        await client.prune({ all: true });
        const t0 = performance.now();
        const c0 = daemonCpu(env.dockerSocket);
        const n0 = process.cpuUsage();
        const results = await Promise.all(Array.from({ length: N }, (_, i) => solveOne(client, v, i, base)));
        const wall = performance.now() - t0;
        const dCpu = daemonCpu(env.dockerSocket) - c0;
        const n1 = process.cpuUsage(n0);
        const nCpu = (n1.user + n1.system) / 1e6;
        const r = rows.get(v.key) ?? { copy: [], local: [], wall: [], maxCopy: [], dCpu: [], nCpu: [] };
        r.copy.push(results.reduce((s, x) => s + x.copyMs, 0));
        r.maxCopy.push(Math.max(...results.map((x) => x.copyMs)));
        r.local.push(results.reduce((s, x) => s + x.localMs, 0));
        r.wall.push(wall);
        r.dCpu.push(dCpu);
        r.nCpu.push(nCpu);
        rows.set(v.key, r);
        console.log(`run ${run} ${v.key.padEnd(13)} wall ${(wall / 1000).toFixed(2)} s  cpu dockerd ${dCpu.toFixed(2)} s, ours ${nCpu.toFixed(2)} s  copies ${results.map((x) => (x.copyMs / 1000).toFixed(2)).join(' ')}  locals ${results.map((x) => (x.localMs / 1000).toFixed(2)).join(' ')}`);
      }
    }
    await client.prune({ all: true });
    console.log(`\n${N} images at once, 2 modules (${Math.round(FILES / 20) * 2} files) each, median of ${RUNS} (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}):`);
    for (const [k, r] of rows) {
      console.log(`  ${k.padEnd(13)} copy ops summed ${(median(r.copy) / 1000).toFixed(2).padStart(6)} s (slowest image ${(median(r.maxCopy) / 1000).toFixed(2)} s)   locals summed ${(median(r.local) / 1000).toFixed(2).padStart(6)} s   wall ${(median(r.wall) / 1000).toFixed(2).padStart(6)} s   cpu dockerd ${median(r.dCpu).toFixed(2)} s, ours ${median(r.nCpu).toFixed(2)} s`);
    }
  } finally {
    repo.close();
    await env.stop();
    fs.rmSync(g.dir, { recursive: true, force: true });
  }
}

/** One image's graph on its own session; durations of its FileOp vertices and of its local source. */
async function solveOne(client: BuildkitClient, v: Variant, i: number, base: State): Promise<{ copyMs: number; localMs: number }> {
  // The session id goes into the LLB; the synced dir does not depend on it.
  const probe = v.build(i, '', base);
  const session = new Session({ syncedDirs: { [probe.name]: probe.synced }, ssh: [], auth: false, sharedKey: crypto.randomBytes(8).toString('hex') });
  const b = v.build(i, session.id, base);
  const attached = await client.attachSession(session, { tunnel: 'upgrade' });
  try {
    const def = marshal(b.state, { platform: 'linux/amd64' });
    const res = await client.solve({ definition: def, session: session.id });
    let copyMs = 0;
    let localMs = 0;
    for (const vx of res.progress.vertices.values()) {
      if (!vx.started || !vx.completed) continue;
      const ms = vx.completed.getTime() - vx.started.getTime();
      if (/^copy /.test(vx.name)) copyMs += ms;
      else if (/^local:\/\//.test(vx.name)) localMs += ms;
    }
    return { copyMs, localMs };
  } finally {
    await attached.close();
    await session.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
