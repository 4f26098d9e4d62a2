/**
 * Dockerfile compiler benchmarks.
 *
 *  1. compile: parse + compile + marshal a generated 200-instruction multi-stage Dockerfile
 *     (10 stages × 20 instructions: ARG, ENV, WORKDIR, RUN with cache/bind mounts, COPY from the
 *     context and from earlier stages, LABEL, EXPOSE, USER, heredoc COPY) with an in-memory image
 *     resolver. Reports the median over --runs (default 50) after 5 warm-up runs.
 *  2. --corpus: a cold build (build cache pruned before each build) of every oracle-comparable
 *     Dockerfile in test/dockerfiles/ with our compiler and with `docker build` on the same
 *     private dockerd; reports the totals and their ratio (one run each).
 *
 *   node --import tsx bench/dockerfile-compile.ts [--runs 50] [--corpus]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compileDockerfile } from '../src/dockerfile';
import { local, marshal } from '../src/llb';
import { testEnv, testImageName } from '../test/integration/harness';
import { buildOurs, buildTheirs, readCase } from '../test/integration/dockerfile-helpers';
import { strArg } from './args';

function generate(stages: number, perStage: number): string {
  const lines: string[] = ['ARG BASE=stapelkit/busybox:amd64', 'ARG VERSION=1.0'];
  for (let s = 0; s < stages; s++) {
    lines.push(`FROM \${BASE} AS s${s}`);
    const body = [
      `ARG VERSION`,
      `ENV STAGE=${s} PATH=/opt/s${s}/bin:$PATH`,
      `WORKDIR /opt/s${s}`,
      `RUN --mount=type=cache,target=/var/cache/s${s} echo build ${s} $VERSION > /opt/s${s}/out`,
      `COPY src/file${s}.txt ./`,
      `LABEL stage.${s}="stage ${s}" version=$VERSION`,
      `EXPOSE ${8000 + s}`,
      s > 0 ? `COPY --from=s${s - 1} /opt/s${s - 1}/out /opt/prev/` : `COPY *.md /docs/`,
      `RUN --mount=type=bind,source=src,target=/src ls /src > /opt/s${s}/list`,
      `ENV DONE_${s}=yes`,
      `USER 1000:1000`,
      `RUN id > /tmp/id${s} \\\n    && echo continued \\\n    # comment inside\n    && true`,
      `USER root`,
      `COPY --chown=1000:1000 --chmod=644 src/ /opt/s${s}/src/`,
      `ARG EXTRA_${s}=x${s}`,
      `RUN echo $EXTRA_${s} >> /opt/s${s}/out`,
      `VOLUME /data${s}`,
      `HEALTHCHECK --interval=30s CMD true`,
      `CMD ["sh", "-c", "cat /opt/s${s}/out"]`,
    ];
    lines.push(...body.slice(0, perStage - 1));
  }
  return lines.join('\n') + '\n';
}

async function compileBench(): Promise<void> {
  const text = generate(10, 20);
  const instructions = text.split('\n').filter((l) => /^[A-Z]+ /.test(l)).length;
  const runs = Number(strArg('runs', '50'));
  const resolveImage = async () => ({ digest: 'sha256:' + '0'.repeat(64), config: { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['sh'] } } });
  const once = async () => {
    const t0 = process.hrtime.bigint();
    const r = await compileDockerfile(text, { context: local('context'), resolveImage, buildPlatform: 'linux/amd64' });
    const def = marshal(r.state, { platform: 'linux/amd64' });
    const t1 = process.hrtime.bigint();
    return { ms: Number(t1 - t0) / 1e6, ops: def.ops.length };
  };
  for (let i = 0; i < 5; i++) await once();
  const times: number[] = [];
  let ops = 0;
  for (let i = 0; i < runs; i++) {
    const r = await once();
    times.push(r.ms);
    ops = r.ops;
  }
  times.sort((a, b) => a - b);
  console.log(`compile: ${instructions} instructions, 10 stages, ${ops} LLB ops; median ${times[Math.floor(times.length / 2)].toFixed(2)} ms, min ${times[0].toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms over ${runs} runs (parse + compile + marshal)`);
}

async function corpusBench(): Promise<void> {
  const env = await testEnv();
  const client = await env.client();
  const corpus = path.resolve(__dirname, '../test/dockerfiles');
  let ours = 0;
  let theirs = 0;
  let n = 0;
  try {
    for (const name of fs.readdirSync(corpus).sort()) {
      const dir = path.join(corpus, name);
      const spec = readCase(dir);
      if (spec.oracle === false || spec.error || spec.pre || spec.platform || (spec.buildArgs && JSON.stringify(spec.buildArgs).includes('{{HTTP}}'))) continue;
      await client.prune({ all: true });
      let t = Date.now();
      await buildOurs(env, dir, testImageName('bench-ours'), spec);
      ours += Date.now() - t;
      await client.prune({ all: true });
      t = Date.now();
      await buildTheirs(env, dir, testImageName('bench-theirs'), spec);
      theirs += Date.now() - t;
      n++;
    }
  } finally {
    await env.stop();
  }
  console.log(`corpus cold build: ${n} Dockerfiles; ours ${(ours / 1000).toFixed(1)} s, docker build ${(theirs / 1000).toFixed(1)} s, ratio ours/docker ${(ours / theirs).toFixed(2)}`);
}

(async () => {
  await compileBench();
  if (process.argv.includes('--corpus')) await corpusBench();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
