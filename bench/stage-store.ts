/**
 * What storing stages costs on dockerd, against `docker build` of the same steps on the same daemon:
 *  - chain: N stages (each one RUN on the previous), built through one Control-API gateway and each
 *    stored right after its solve (moby export + tag, like `stapelkit build` with the daemon image
 *    store); compared with `docker build` of an N-step Dockerfile (one image, no per-step tags);
 *  - store of an already built stage (export + tag only): the per-stage overhead;
 *  - list(): the one Docker API listing of a repo holding N stages.
 * The build cache is pruned before each cold round.
 *
 *   node --import tsx bench/stage-store.ts [--stages 8] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv } from '../test/integration/harness';
import { openGateway } from '../src/buildkit/gateway-client';
import { image, marshal, type State } from '../src/llb';
import { DaemonImageStorage } from '../src/storage';
import { numArg } from './args';

const STAGES = numArg('stages', 8);
const RUNS = numArg('runs', 3);
const DOCKER = process.env.STAPELKIT_BENCH_DOCKER ?? '/usr/bin/docker';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const env = await testEnv();
  const client = await env.client();
  const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-bench-locks-'));
  const ctxDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-bench-df-'));
  const ours: number[] = [];
  const docker: number[] = [];
  const storeOnly: number[] = [];
  const lists: number[] = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      const salt = crypto.randomBytes(4).toString('hex');
      const steps = Array.from({ length: STAGES }, (_, i) => `echo ${salt}-${i} > /s${i} && sleep 0.2`);

      await client.prune({ all: true });
      const repo = `stapelkit-bench-${salt}`;
      const storage = new DaemonImageStorage({ client, docker: env.docker, repo, lockDir });
      let t0 = Date.now();
      const gw = await openGateway(client);
      let st: State = image(env.images.amd64);
      for (let i = 0; i < STAGES; i++) {
        st = st.run({ shell: steps[i] }).root();
        const def = marshal(st, { platform: 'linux/amd64' });
        await gw.solve(def);
        await storage.store({ digest: crypto.createHash('sha256').update(`${salt}${i}`).digest('hex').slice(0, 56), definition: def, imageConfig: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } } });
      }
      await gw.finish();
      ours.push(Date.now() - t0);

      // Store again under new digests: the graphs are cached, only export + tag remain.
      t0 = Date.now();
      const def = marshal(st, { platform: 'linux/amd64' });
      await storage.store({ digest: crypto.randomBytes(28).toString('hex'), definition: def, imageConfig: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } } });
      storeOnly.push(Date.now() - t0);

      t0 = Date.now();
      const listed = await storage.list();
      lists.push(Date.now() - t0);
      if (listed.size !== STAGES + 1) throw new Error(`listed ${listed.size} stages, expected ${STAGES + 1}`);

      await client.prune({ all: true });
      fs.writeFileSync(path.join(ctxDir, 'Dockerfile'), [`FROM ${env.images.amd64}`, ...steps.map((s) => `RUN ${s}`)].join('\n') + '\n');
      t0 = Date.now();
      const r = spawnSync(DOCKER, ['build', '-q', '-t', `${repo}:docker`, ctxDir], { env: { ...process.env, DOCKER_BUILDKIT: '1', DOCKER_HOST: `unix://${env.dockerSocket}` }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`docker build failed: ${r.stderr}`);
      docker.push(Date.now() - t0);
    }
    const m = { ours: median(ours), docker: median(docker), storeOnly: median(storeOnly), list: median(lists) };
    console.log(`stages: ${STAGES}, runs: ${RUNS} (medians)`);
    console.log(`cold chain, gateway solve + store per stage: ${m.ours} ms; docker build (${STAGES} RUN steps, one tag): ${m.docker} ms; ratio ${(m.ours / m.docker).toFixed(2)}`);
    console.log(`store of an already built stage (export + tag): ${m.storeOnly} ms`);
    console.log(`list() of a repo with ${STAGES + 1} stages: ${m.list} ms`);
  } finally {
    fs.rmSync(lockDir, { recursive: true, force: true });
    fs.rmSync(ctxDir, { recursive: true, force: true });
    await env.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
