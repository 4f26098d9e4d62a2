/**
 * The conveyor's LLB on the real daemon: from + gitArchive + install (werf's shell script) solved
 * and exported; the files, owners and the commit env the script saw; WERF_COMMIT_* absent from the
 * image config; a second solve with another commit env fully cached; a git patch applied before
 * the commands of a user stage built on top of a stored gitArchive.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { plainRenderer, type Model, type StapelImage } from '../../src/config';
import { loadProject } from '../../src/project';
import { image, local, marshal, type State } from '../../src/llb';
import { Session } from '../../src/session';
import { readTar } from '../../src/buildkit/tar';
import { COMMIT_ENV_SECRET_ID, commitEnvFile, type LlbInputs, type OciImageConfig, type PatchFacts } from '../../src/stages';
import { COMMIT_A, COMMIT_B, factsFor, walk } from '../unit/stages/helpers';
import { makeRepo, removeRepo } from '../unit/git/repo';
import { hostDir, removeHostDirs } from './llb-helpers';
import { testEnv, type TestEnv } from './harness';

const t = suite<{ env: TestEnv; repo: string; model: Model; img: StapelImage }>('stages-llb');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.repo = makeRepo({
    'werf.yaml': [
      'project: skt-stages-itest',
      'configVersion: 1',
      '---',
      'image: app',
      `from: ${ctx.env.images.amd64}`,
      'git:',
      '- add: /src',
      '  to: /app',
      '  owner: www-data',
      '  group: www-data',
      'mount:',
      '- from: tmp_dir',
      '  to: /tmp/scratch',
      'shell:',
      '  install:',
      '  - echo "commit=$WERF_COMMIT_HASH unix=$WERF_COMMIT_TIME_UNIX" > /commit.txt',
      '  - cat /app/hello.txt > /copied.txt',
      '  - echo junk > /tmp/scratch/junk',
      '  - if [ -e /app/old.txt ]; then echo yes; else echo no; fi > /old-present.txt',
      '',
    ].join('\n'),
    'src/hello.txt': 'placeholder\n',
  });
  ctx.model = loadProject({ dir: ctx.repo, render: plainRenderer }).model;
  ctx.img = ctx.model.images[0] as StapelImage;
});
t.after(async (ctx) => {
  removeHostDirs();
  if (ctx.repo) removeRepo(ctx.repo);
  await ctx.env?.stop();
});

const BASE_CONFIG: OciImageConfig = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] } };

/** Builds the image's graph stage by stage as the driver would; `stored` gitArchive labels make install patch. */
function graph(model: Model, img: StapelImage, env: TestEnv, sessionId: string, commit: string, opts: { stored?: Map<string, Record<string, string>>; patch?: (i: number, from: string) => PatchFacts } = {}) {
  const facts = factsFor(img, { commit });
  const stages = walk(model, img, facts, opts);
  const inputs: LlbInputs = { base: image(env.images.amd64), local: (n) => local(n, { sessionId, sharedKeyHint: n }) };
  let state: State = image(env.images.amd64);
  let config = BASE_CONFIG;
  for (const s of stages) {
    state = s.stage.llb(state, config, inputs);
    config = s.stage.imageConfig(config, s.prev?.stageId);
  }
  return { stages, state, config };
}

async function solve(env: TestEnv, st: (sessionId: string) => State, dirs: Record<string, string>, commit: string, exportTar: boolean) {
  const client = await env.client();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-stages-'));
  const file = path.join(tmp, 'out.tar');
  const session = new Session({
    syncedDirs: Object.fromEntries(Object.entries(dirs).map(([k, d]) => [k, { dir: d }])),
    secrets: [{ id: COMMIT_ENV_SECRET_ID, value: commitEnvFile({ hash: commit, timeHuman: '2024-01-02 03:04:05 +0300 +0300', timeUnix: '1704153845' }) }],
    ssh: [],
    auth: false,
    ...(exportTar ? { exportTarget: { kind: 'tar' as const, file } } : {}),
  });
  try {
    const res = await client.solve({ definition: marshal(st(session.id), { platform: 'linux/amd64' }), session, ...(exportTar ? { exporter: { type: 'tar' } } : {}) });
    let files = new Map<string, ReturnType<typeof readTar>[number]>();
    if (exportTar) {
      const end = Date.now() + 5000;
      while (session.stats.exports.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      files = new Map(readTar(fs.readFileSync(file)).map((e) => [e.path.replace(/^\.?\//, '').replace(/\/$/, ''), e]));
    }
    return { res, files };
  } finally {
    await session.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

t('from + gitArchive + install: files, owners, commit env seen by the script and kept out of config and cache key', async ({ env, model, img }) => {
  const salt = `${process.pid}-${Date.now()}`;
  const gitDir = hostDir({ 'hello.txt': `hello ${salt}\n`, 'old.txt': 'old\n', 'sub/deep.txt': 'deep\n' });
  const stA = (sid: string) => graph(model, img, env, sid, COMMIT_A).state;
  const { stages, config } = graph(model, img, env, 'x', COMMIT_A);
  assert.equal(stages.map((s) => s.name), ['from', 'gitArchive', 'install']);

  const first = await solve(env, stA, { 'git-0': gitDir }, COMMIT_A, true);
  const f = first.files;
  assert.is(f.get('app/hello.txt')?.data.toString(), `hello ${salt}\n`);
  assert.is(f.get('app/sub/deep.txt')?.data.toString(), 'deep\n');
  assert.is(f.get('app/hello.txt')?.uid, 33, 'owner by name resolved in the image');
  assert.is(f.get('app/hello.txt')?.gid, 33);
  assert.is(f.get('copied.txt')?.data.toString(), `hello ${salt}\n`);
  assert.is(f.get('commit.txt')?.data.toString(), `commit=${COMMIT_A} unix=1704153845\n`);
  assert.not.ok(f.has('tmp/scratch/junk'), 'tmp_dir contents never reach the image');
  assert.equal([...f.keys()].filter((k) => k.startsWith('.werf')), ['.werf'], 'no script, commit-env or stub left in the image but the /.werf dir');
  assert.ok(first.res.progress.logText([...first.res.progress.vertices.values()].find((v) => v.name === 'image "app", stage install')!.digest).includes('$ cat /app/hello.txt'));
  assert.not.ok((config.config?.Env ?? []).some((e) => e.startsWith('WERF_COMMIT')), 'commit env absent from the image config');

  // Another commit env, same digest inputs: BuildKit takes every stage from its cache.
  const second = await solve(env, stA, { 'git-0': gitDir }, COMMIT_B, false);
  const names = second.res.progress.list().map((v) => `${v.cached ? 'CACHED' : 'RAN'} ${v.name}`);
  // The script file (a mkfile on scratch) is recomputed for its content checksum, like the sources.
  const ran = second.res.progress.uncached().filter((v) => !v.name.endsWith(': script'));
  assert.equal(ran.map((v) => v.name), [], `every stage vertex cached:\n${names.join('\n')}`);
  assert.ok(second.res.progress.list().find((v) => v.name === 'image "app", stage install')?.cached, 'the commands did not run again');
});

t('a user stage on a stored gitArchive applies the git patch before its commands', async ({ env, model, img }) => {
  const gitDir = hostDir({ 'hello.txt': 'v1\n', 'old.txt': 'old\n' });
  const patchDir = hostDir({ 'hello.txt': 'v2\n' });
  const first = graph(model, img, env, 'x', COMMIT_A);
  const ga = first.stages.find((s) => s.name === 'gitArchive')!;
  const stored = new Map([[ga.digest, ga.stage.labels(ga.prev?.stageId)]]);
  const patch = (i: number, from: string): PatchFacts => ({ from, changed: ['hello.txt'], deleted: ['old.txt'], patchText: 'p', binaryPatchSize: 10, source: `patch-${i}` });
  const st = (sid: string) => graph(model, img, env, sid, COMMIT_B, { stored, patch }).state;
  const { files } = await solve(env, st, { 'git-0': gitDir, 'patch-0': patchDir }, COMMIT_B, true);
  assert.is(files.get('app/hello.txt')?.data.toString(), 'v2\n');
  assert.is(files.get('app/hello.txt')?.uid, 33);
  assert.not.ok(files.has('app/old.txt'), 'deleted file removed');
  assert.is(files.get('old-present.txt')?.data.toString(), 'no\n', 'patch applied before the commands');
  assert.is(files.get('copied.txt')?.data.toString(), 'v2\n');
  assert.is(files.get('commit.txt')?.data.toString(), `commit=${COMMIT_B} unix=1704153845\n`);
});

t('mounts and secrets: build_dir shared across builds, fromPath bound (writes stay out), secrets readable and absent from the image', async ({ env }) => {
  const salt = `${process.pid}-${Date.now()}`;
  const repo = makeRepo({
    'werf.yaml': [
      `project: skt-mounts-${salt}`,
      'configVersion: 1',
      '---',
      'image: app',
      `from: ${env.images.amd64}`,
      'secrets:',
      '- id: tok',
      '  value: s3cr3t-value',
      'mount:',
      '- from: build_dir',
      '  to: /cache',
      '- fromPath: hostdir',
      '  to: /host',
      'shell:',
      '  install:',
      `  - echo run >> /cache/runs; wc -l < /cache/runs > /runs.txt; echo ${salt} > /dev/null`,
      '  - cat /host/in.txt > /from-host.txt; echo written > /host/out.txt',
      '  - sha256sum /run/secrets/tok | cut -d" " -f1 > /tok.sha',
      '',
    ].join('\n'),
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowValueIds: [tok]\n  stapel:\n    mount:\n      allowBuildDir: true\n      allowFromPaths: [hostdir]\n',
  });
  try {
    const model = loadProject({ dir: repo, render: plainRenderer }).model;
    const img = model.images[0] as StapelImage;
    const host = hostDir({ 'in.txt': 'from host\n' });
    const build = async (extra: string) => {
      const i2 = structuredClone(img);
      i2.shell.install = [...img.shell.install, extra];
      const client = await env.client();
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-stages-'));
      const file = path.join(tmp, 'out.tar');
      const session = new Session({ syncedDirs: { 'mount:hostdir': { dir: host } }, secrets: [{ id: 'tok', value: 's3cr3t-value' }], ssh: [], auth: false, exportTarget: { kind: 'tar', file } });
      try {
        const { state } = graph(model, i2, env, session.id, COMMIT_A);
        await client.solve({ definition: marshal(state, { platform: 'linux/amd64' }), session, exporter: { type: 'tar' } });
        const end = Date.now() + 5000;
        while (session.stats.exports.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        return { files: new Map(readTar(fs.readFileSync(file)).map((e) => [e.path.replace(/^\.?\//, '').replace(/\/$/, ''), e])), bytes: fs.readFileSync(file) };
      } finally {
        await session.close();
        fs.rmSync(tmp, { recursive: true, force: true });
      }
    };
    const a = await build('true');
    const b = await build('echo second > /second.txt');
    assert.is(a.files.get('runs.txt')?.data.toString().trim(), '1');
    assert.is(b.files.get('runs.txt')?.data.toString().trim(), '2', 'the build_dir cache outlived the first build');
    assert.is(a.files.get('from-host.txt')?.data.toString(), 'from host\n');
    assert.not.ok(a.files.has('cache/runs'), 'build_dir contents are not in the image');
    assert.not.ok(a.files.has('host/out.txt') || a.files.has('host/in.txt'), 'fromPath contents are not in the image');
    assert.not.ok(fs.existsSync(path.join(host, 'out.txt')), 'writes do not go back to the host');
    assert.is(a.files.get('tok.sha')?.data.toString().trim(), crypto.createHash('sha256').update('s3cr3t-value').digest('hex'));
    assert.not.ok(a.bytes.includes(Buffer.from('s3cr3t-value')), 'the secret is not in the exported image');
  } finally {
    removeRepo(repo);
  }
});

t.run();
