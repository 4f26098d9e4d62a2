/**
 * stageDependencies checksum benchmark on a generated repository (default 50k files).
 * "cold" = a fresh CliGitRepo: includes the one `ls-tree -r -t` of the commit; "warm" = the same
 * repo object again (tree cached). Reported per mask set, median of --runs.
 *
 *   node --import tsx bench/stage-deps.ts [--files 50000] [--runs 5]
 */
import * as fs from 'node:fs';
import { CliGitRepo } from '../src/git/cli-repo';
import { stageDependenciesChecksum, type MappingSpec } from '../src/git/mapping';
import { generateRepo } from './gen-repo';
import { numArg } from './args';

const FILES = numArg('files', 50000);
const RUNS = numArg('runs', 5);

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface StageDepsRow { name: string; coldMs: number; warmMs: number; checksum: string }

/** Runs every mask set on a generated repo of `files` files; prints one line per set and returns them. */
export async function stageDepsBench(files: number, runs: number, say: (line: string) => void = console.log): Promise<StageDepsRow[]> {
  const t0 = Date.now();
  const g = await generateRepo(files);
  say(`generated ${g.files.length} files in ${Date.now() - t0} ms (${g.dir})`);
  const rows: StageDepsRow[] = [];
  const mapping: MappingSpec = { add: '/', to: '/app', includePaths: [], excludePaths: ['src/m0/p1'] };
  const sets: Record<string, string[]> = {
    'typical (dirs + files)': ['src/m1', 'package.json', 'config'],
    'glob over everything (**/*.go)': ['**/*.go'],
    'whole repo (**/*)': ['**/*'],
    'three partial globs': ['src/*/p3/**/*.go', 'src/m2/**/*.txt', '**/README*'],
  };
  try {
    for (const [name, masks] of Object.entries(sets)) {
      const cold: number[] = [];
      const warm: number[] = [];
      let sum = '';
      for (let r = 0; r < runs; r++) {
        const repo = new CliGitRepo(g.dir);
        let t = performance.now();
        sum = await stageDependenciesChecksum(repo, g.commit, mapping, masks);
        cold.push(performance.now() - t);
        t = performance.now();
        await stageDependenciesChecksum(repo, g.commit, mapping, masks);
        warm.push(performance.now() - t);
        repo.close();
      }
      rows.push({ name, coldMs: median(cold), warmMs: median(warm), checksum: sum });
      say(`${name.padEnd(34)} cold ${median(cold).toFixed(0).padStart(5)} ms   warm ${median(warm).toFixed(1).padStart(6)} ms   ${sum.slice(0, 12)}`);
    }
  } finally {
    fs.rmSync(g.dir, { recursive: true, force: true });
  }
  return rows;
}

if (require.main === module) stageDepsBench(FILES, RUNS).catch((e) => { console.error(e); process.exit(1); });
