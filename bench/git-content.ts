/**
 * Git content → BuildKit: FileSync served straight from git objects (gitTreeSource) against
 * materialising a temp tree first and syncing it from disk — with `git archive | tar -x`, and with
 * our own blob writer (writeGitFiles). Each run: prune the build cache, solve `scratch + COPY /`
 * of the mapping's files (no export), on a private dockerd.
 *
 *   node --import tsx bench/git-content.ts [--files 20000] [--bytes 2000] [--runs 3]
 *
 * Reported per variant (median): prepare (listing the files / writing the temp tree), solve (the
 * transfer and the copy), total.
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv } from '../test/integration/harness';
import { waitFor } from '../test/integration/session-helpers';
import type { BuildkitClient } from '../src/buildkit/client';
import { Session, type SyncedDir } from '../src/session';
import { copy, local, marshal, scratch } from '../src/llb';
import { CliGitRepo } from '../src/git/cli-repo';
import { archiveEntries, type MappingSpec } from '../src/git/mapping';
import { gitTreeSource, writeGitFiles } from '../src/git/content';
import { generateRepo } from './gen-repo';
import { numArg } from './args';

const FILES = numArg('files', 20000);
const BYTES = numArg('bytes', 2000);
const RUNS = numArg('runs', 3);

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function sh(cmd: string, cwd: string): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn('sh', ['-c', cmd], { cwd, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('close', (c) => (c === 0 ? res() : rej(new Error(`${cmd}: exit ${c}`))));
  });
}

async function solveLocal(client: BuildkitClient, synced: SyncedDir): Promise<{ solveMs: number; syncMs: number }> {
  const session = new Session({ syncedDirs: { ctx: synced }, ssh: [], auth: false, sharedKey: crypto.randomBytes(8).toString('hex') });
  const attached = await client.attachSession(session, { tunnel: 'upgrade' });
  const def = marshal(scratch().file(copy(local('ctx', { sessionId: session.id }), '/', '/app', { createDestPath: true })));
  const t0 = performance.now();
  await client.solve({ definition: def, session: session.id });
  const solveMs = performance.now() - t0;
  await waitFor(() => session.stats.syncs.length > 0, 2000);
  await attached.close();
  await session.close();
  const s = session.stats.syncs[0];
  if (!s || s.error) throw new Error(`FileSync failed: ${JSON.stringify(session.stats.syncs)}`);
  return { solveMs, syncMs: s.ms };
}

async function main(): Promise<void> {
  const g = await generateRepo(FILES, { bytes: BYTES });
  const mapping: MappingSpec = { add: '/src', to: '/app', includePaths: [], excludePaths: [] };
  const env = await testEnv();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-gitbench-'));
  const rows: Record<string, { prep: number[]; solve: number[]; sync: number[] }> = {};
  const add = (k: string, prep: number, r: { solveMs: number; syncMs: number }) => {
    rows[k] ??= { prep: [], solve: [], sync: [] };
    rows[k].prep.push(prep);
    rows[k].solve.push(r.solveMs);
    rows[k].sync.push(r.syncMs);
  };
  try {
    const client = await env.client();
    for (let run = 0; run < RUNS; run++) {
      // A: FileSync from git objects.
      await client.prune({ all: true });
      let repo = new CliGitRepo(g.dir);
      let t = performance.now();
      const a = await archiveEntries(repo, g.commit, mapping);
      const source = gitTreeSource(a);
      let prep = performance.now() - t;
      add('FileSync from git objects', prep, await solveLocal(client, { dir: '', source }));
      repo.close();

      // B: git archive | tar -x into a temp dir, FileSync from disk.
      await client.prune({ all: true });
      const dirB = path.join(work, `archive-${run}`);
      fs.mkdirSync(dirB);
      t = performance.now();
      await sh(`git -C ${JSON.stringify(g.dir)} archive --format=tar ${g.commit} src | tar -x -C ${JSON.stringify(dirB)}`, work);
      prep = performance.now() - t;
      add('git archive → disk → FileSync', prep, await solveLocal(client, { dir: path.join(dirB, 'src') }));
      fs.rmSync(dirB, { recursive: true, force: true });

      // C: our blob writer into a temp dir, FileSync from disk.
      await client.prune({ all: true });
      const dirC = path.join(work, `blobs-${run}`);
      repo = new CliGitRepo(g.dir);
      t = performance.now();
      const c = await archiveEntries(repo, g.commit, mapping);
      await writeGitFiles(c, dirC);
      prep = performance.now() - t;
      repo.close();
      add('cat-file → disk → FileSync', prep, await solveLocal(client, { dir: dirC }));
      fs.rmSync(dirC, { recursive: true, force: true });
    }
    await client.prune({ all: true });
    console.log(`${g.files.length} files × ~${BYTES} B, median of ${RUNS} runs (load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}):`);
    for (const [k, r] of Object.entries(rows)) {
      const p = median(r.prep);
      const s = median(r.solve);
      console.log(`  ${k.padEnd(32)} prepare ${p.toFixed(0).padStart(6)} ms   solve ${s.toFixed(0).padStart(6)} ms (FileSync ${median(r.sync).toFixed(0)} ms)   total ${(p + s).toFixed(0).padStart(6)} ms`);
    }
  } finally {
    await env.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(g.dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
