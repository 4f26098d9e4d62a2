/**
 * Git mappings in the frontend: what reading the context into a snapshot (every file under `add`
 * listed and read over the LLBBridge, git ids computed) costs, against BuildKit's built-in
 * Dockerfile frontend doing the same job (`COPY . /app` + a RUN) on the same context and daemon.
 * Both builds are fully cached after a warm-up, so the difference is our fact gathering.
 *
 *   node --import tsx bench/frontend-git.ts [--runs 5] [--files 100,1000,3000]
 *
 * The daemon comes from the test harness (STAPELKIT_TEST_ADDR or a private dockerd started here).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Session } from '../src/session';
import { frontendImage, projectDir } from '../test/integration/frontend-helpers';
import { testEnv } from '../test/integration/harness';
import { strArg } from './args';

const RUNS = Number(strArg('runs', '5'));
const SIZES = strArg('files', '100,1000,3000').split(',').map(Number);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const env = await testEnv();
  try {
    const image = await frontendImage(env.docker);
    const client = await env.client();
    for (const n of SIZES) {
      const p = projectDir({});
      try {
        for (let i = 0; i < n; i++) {
          const f = path.join(p.dir, 'src', `d${i % 50}`, `f${i}.txt`);
          fs.mkdirSync(path.dirname(f), { recursive: true });
          fs.writeFileSync(f, `file ${i}\n`.repeat(20));
        }
        fs.writeFileSync(path.join(p.dir, 'package.json'), '{}\n');
        fs.writeFileSync(
          path.join(p.dir, 'werf.yaml'),
          `project: bench\nconfigVersion: 1\n---\nimage: app\nfrom: ${env.images.amd64}\ngit:\n- add: /\n  to: /app\n  stageDependencies:\n    install: [package.json]\nshell:\n  install: ls /app > /dev/null\n`,
        );
        fs.writeFileSync(path.join(p.dir, 'Dockerfile'), `FROM ${env.images.amd64}\nCOPY . /app\nRUN ls /app > /dev/null\n`);
        const run = async (frontend: string, attrs: Record<string, string>) => {
          const session = new Session({ syncedDirs: { context: { dir: p.dir }, dockerfile: { dir: p.dir } } });
          try {
            const start = Date.now();
            await client.solve({ frontend, frontendAttrs: attrs, session });
            return Date.now() - start;
          } finally {
            await session.close();
          }
        };
        const ours: number[] = [];
        const theirs: number[] = [];
        await run('gateway.v0', { source: image, filename: 'werf.yaml', 'loose-giterminism': 'true' });
        await run('dockerfile.v0', { filename: 'Dockerfile' });
        for (let i = 0; i < RUNS; i++) {
          ours.push(await run('gateway.v0', { source: image, filename: 'werf.yaml', 'loose-giterminism': 'true' }));
          theirs.push(await run('dockerfile.v0', { filename: 'Dockerfile' }));
        }
        console.log(`${n} files: stapelkit frontend (git add: /) median ${median(ours)} ms, dockerfile.v0 (COPY . /app) median ${median(theirs)} ms, ratio ${(median(ours) / Math.max(1, median(theirs))).toFixed(1)}x`);
      } finally {
        p.cleanup();
      }
    }
  } finally {
    await env.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
