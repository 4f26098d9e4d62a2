/**
 * Per-stage LLB: user stages as werf's shell script run as 0:0 in `/`, WERF_COMMIT_* kept out of
 * the LLB bytes (so out of BuildKit's cache key), mounts, secrets, ssh, git archive and patch
 * copies, imports with and without BuildKit's include/exclude cap; config-only stages.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as llb from '../../../src/llb';
import { FixtureRepo } from '../config/fixtures';
import type { Model, StapelImage } from '../../../src/config/model';
import { evaluateStage, makeScript, commitEnvFile, goTimeString, LABEL, type EvaluatedStage, type LlbInputs, type OciImageConfig, type PatchFacts } from '../../../src/stages';
import { COMMIT_A, COMMIT_B, factsFor, walk } from './helpers';

let repo: FixtureRepo;
const models = new Map<string, Model>();
function model(name: string): Model {
  if (!models.has(name)) models.set(name, repo.load(name).model);
  return models.get(name)!;
}
function stapel(m: Model, name: string): StapelImage {
  return m.images.find((i) => i.name === name) as StapelImage;
}

const baseConfig: OciImageConfig = { architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin'], Labels: { 'org.opencontainers.image.title': 'x', keep: 'y' } } };
const inputs = (extra: Partial<LlbInputs> = {}): LlbInputs => ({ local: (n) => llb.local(n, { sessionId: 'S1', sharedKeyHint: n }), importSources: [], ...extra });

function stageOf(m: Model, img: StapelImage, name: string, opts: Parameters<typeof factsFor>[1] = {}, walkOpts: Parameters<typeof walk>[3] = {}): EvaluatedStage {
  const w = walk(m, img, factsFor(img, { contentDigests: new Map([['base', 'cd']]), ...opts }), walkOpts);
  const s = w.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}: ${w.map((x) => x.name)}`);
  return s.stage;
}

function ops(st: llb.State) {
  const def = llb.marshal(st, { platform: 'linux/amd64' });
  return { def, bytes: Buffer.concat(def.def), decoded: def.ops.map((o) => ({ kind: o.kind, op: llb.decodeOp(o.bytes) as any, name: o.name })) };
}

test.before(() => {
  repo = new FixtureRepo('valid');
});
test.after(() => repo.remove());

test('script: werf makeScript with the commit-env line', () => {
  const s = makeScript(['echo "$HOME"', 'make'], { sourceCommitEnv: true });
  assert.ok(s.startsWith('#!/bin/sh\n\nset -e\n\nif [ "x$_IS_REEXEC" = "x" ]; then\n\tif type bash >/dev/null 2>&1 ; then'));
  assert.ok(s.includes('\t\texec bash $0\n'));
  assert.ok(s.includes("if [ -r /.werf/commit-env ]; then . /.werf/commit-env; fi\n\nprintf '$ %s\\n' 'echo \"$HOME\"'\necho \"$HOME\"\nprintf '$ %s\\n' 'make'\nmake\n"));
  assert.not.ok(makeScript(['x']).includes('commit-env'));
  assert.is(commitEnvFile({ hash: 'abc', timeHuman: "it's", timeUnix: '1' }), "export WERF_COMMIT_HASH='abc'\nexport WERF_COMMIT_TIME_HUMAN='it'\\''s'\nexport WERF_COMMIT_TIME_UNIX='1'\n");
  assert.is(goTimeString(1643034379, 180), '2022-01-24 17:26:19 +0300 +0300');
});

test('user stage: sh script as 0:0 in / with the image env; commit env only through a session secret', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const st = stageOf(m, img, 'install');
  const prev = llb.image('alpine:3.18');
  const a = ops(st.llb(prev, baseConfig, inputs()));
  const exec = a.decoded.find((o) => o.kind === 'exec')!.op.exec;
  assert.equal(exec.meta.args, ['sh', '/.werf/stapelkit/script.sh']);
  assert.is(exec.meta.user, '0:0');
  assert.is(exec.meta.cwd, '/');
  assert.equal(exec.meta.env, ['PATH=/usr/bin:/bin']);
  const byDest = Object.fromEntries(exec.mounts.map((mm: any) => [mm.dest, mm]));
  assert.ok(byDest['/.werf/stapelkit'].readonly);
  assert.is(byDest['/tmp/build'].mountType, 4, 'tmp_dir is a tmpfs');
  assert.equal(byDest['/.werf/commit-env'].secretOpt, { ID: 'stapelkit-werf-commit-env', mode: 256, optional: true });
  const script = a.decoded.find((o) => o.kind === 'file' && o.op.file.actions[0].mkfile)!.op.file.actions[0].mkfile;
  assert.ok(Buffer.from(script.data).toString().includes("printf '$ %s\\n' 'make deps'\nmake deps\n"));
  assert.is(a.def.ops.find((o) => o.kind === 'exec')!.name, 'image "app", stage install');
  assert.is(a.def.metadata.get(a.def.ops.find((o) => o.kind === 'exec')!.digest)!.description!['stapelkit.stage'], 'install');

  // Same digest inputs at another commit: identical bytes (the commit is not in the graph).
  const b = ops(stageOf(m, img, 'install', { commit: COMMIT_B }).llb(prev, baseConfig, inputs()));
  assert.ok(a.bytes.equals(b.bytes));
  assert.not.ok(a.bytes.includes(Buffer.from(COMMIT_A)));
  // The env fallback does put the values in the graph (and so in the cache key).
  const e1 = ops(st.llb(prev, baseConfig, inputs({ commitEnv: { mode: 'env', hash: COMMIT_A, timeHuman: 't', timeUnix: '1' } })));
  const e2 = ops(st.llb(prev, baseConfig, inputs({ commitEnv: { mode: 'env', hash: COMMIT_B, timeHuman: 't', timeUnix: '1' } })));
  assert.not.ok(e1.bytes.equals(e2.bytes));
  assert.ok(e1.decoded.find((o) => o.kind === 'exec')!.op.exec.meta.env.includes(`WERF_COMMIT_HASH=${COMMIT_A}`));

  // A changed command changes the bytes.
  const img2 = structuredClone(img);
  img2.shell.install = ['make deps2'];
  const c = ops(stageOf(m, img2, 'install').llb(prev, baseConfig, inputs()));
  assert.not.ok(a.bytes.equals(c.bytes));
});

test('every op of a stage carries its werf.yaml position as an LLB source location (op bytes unchanged)', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const st = stageOf(m, img, 'install');
  const sm = new llb.SourceMap('werf.yaml', 'project: example\n');
  const plain = ops(st.llb(llb.image('alpine'), baseConfig, inputs()));
  const located = ops(st.llb(llb.image('alpine'), baseConfig, inputs({ location: (pos) => sm.at(pos.line, pos.column) })));
  assert.ok(plain.bytes.equals(located.bytes));
  const exec = located.def.ops.find((o) => o.kind === 'exec')!;
  const loc = located.def.source!.locations[exec.digest].locations[0];
  assert.equal(loc.ranges[0].start, { line: img.shell.pos!.line, character: img.shell.pos!.column });
  assert.is(located.def.source!.infos[0].filename, 'werf.yaml');
});

test('user stage: secrets at /run/secrets/<id>, ssh agent at /.werf/tmp/ssh-auth-sock, build_dir cache and fromPath bind', () => {
  const m = model('002-mount');
  const img = structuredClone(stapel(m, 'app'));
  img.shell.install = ['true'];
  img.secrets = [{ id: 'npmrc', type: 'env', value: 'NPMRC', pos: img.pos }];
  const st = stageOf(m, img, 'install');
  const a = ops(st.llb(llb.image('alpine'), baseConfig, inputs({ ssh: {} })));
  const exec = a.decoded.find((o) => o.kind === 'exec')!.op.exec;
  const byDest = Object.fromEntries(exec.mounts.map((mm: any) => [mm.dest, mm]));
  assert.is(byDest['/var/lib/apt/lists'].mountType, 4);
  assert.is(byDest['/var/cache/apt'].cacheOpt.ID, 'stapelkit/example/build_dir/var-cache-apt');
  assert.is(byDest['/var/cache/apt'].cacheOpt.sharing ?? 0, 0, 'shared');
  assert.ok(byDest['/root/.cache/go-build'].input >= 0);
  assert.is(byDest['/root/.cache/go-build'].output, -1, 'fromPath writes never reach the image');
  assert.is(byDest['/run/secrets/npmrc'].secretOpt.ID, 'npmrc');
  assert.is(byDest['/.werf/tmp/ssh-auth-sock'].mountType, 2);
  assert.ok(exec.meta.env.includes('SSH_AUTH_SOCK=/.werf/tmp/ssh-auth-sock'));
  assert.ok(a.decoded.some((o) => o.kind === 'source' && o.op.source.identifier === 'local://mount:~/.cache/go-build'));
  assert.not.ok(a.bytes.includes(Buffer.from('NPMRC')), 'only the secret id is in the graph');
});

test('gitArchive: the mapping source copied into `to` with owner/group by name; file mappings renamed', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const st = stageOf(m, img, 'gitArchive');
  const a = ops(st.llb(llb.image('alpine'), baseConfig, inputs()));
  const fileOp = a.decoded.filter((o) => o.kind === 'file').pop()!.op.file;
  const cp = fileOp.actions[0].copy;
  assert.is(cp.src, '/');
  assert.is(cp.dest, '/src');
  assert.ok(cp.dirCopyContents && cp.createDestPath);
  assert.equal(cp.owner, { user: { byName: { name: 'app' } }, group: { byName: { name: 'app' } } });
  assert.ok(a.decoded.some((o) => o.kind === 'source' && o.op.source.identifier === 'local://git-0'));

  const m2 = model('001-stapel-git');
  const fileImg = structuredClone(stapel(m2, 'app'));
  fileImg.git[0].add = '/conf/app.ini';
  fileImg.git[0].to = '/etc/app/config.ini';
  const f = factsFor(fileImg);
  f.git[0].type = 'file';
  const ev = walk(m2, fileImg, f).find((s) => s.name === 'gitArchive')!.stage;
  const fo = ops(ev.llb(llb.image('alpine'), baseConfig, inputs())).decoded.filter((o) => o.kind === 'file').pop()!.op.file;
  assert.is(fo.actions[0].rm.path, '/etc/app/config.ini');
  assert.is(fo.actions[1].copy.src, '/app.ini');
  assert.is(fo.actions[1].copy.dest, '/etc/app/config.ini');
});

test('archiveSource (no history): gitArchive lays the stageDependencies source, gitLatestPatch the whole mapping; artifacts ignore it', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const partial = factsFor(img, { contentDigests: new Map([['base', 'cd']]) });
  partial.git.forEach((g, i) => (g.archiveSource = `deps-${i}`));
  const w = walk(m, img, partial);
  const sources = (name: string) => {
    const s = w.find((x) => x.name === name);
    return s ? ops(s.stage.llb(llb.image('alpine'), baseConfig, inputs())).decoded.filter((o) => o.kind === 'source').map((o) => o.op.source.identifier) : undefined;
  };
  assert.ok(sources('gitArchive')!.includes('local://deps-0') && !sources('gitArchive')!.includes('local://git-0'), String(sources('gitArchive')));
  assert.ok(sources('gitLatestPatch')?.includes('local://git-0'), 'gitLatestPatch is built and lays the whole mapping');
  // Without archiveSource (stapelkit build): gitLatestPatch is empty on a fresh build, digests unchanged.
  const full = walk(m, img, factsFor(img, { contentDigests: new Map([['base', 'cd']]) }));
  assert.not.ok(full.some((x) => x.name === 'gitLatestPatch'));
  assert.equal(full.map((x) => x.digest).slice(0, 3), w.map((x) => x.digest).slice(0, 3));
  // '' = nothing to lay before the user stages.
  const none = factsFor(img, { contentDigests: new Map([['base', 'cd']]) });
  none.git.forEach((g) => (g.archiveSource = ''));
  const ga = walk(m, img, none).find((x) => x.name === 'gitArchive')!.stage;
  const base = llb.image('alpine');
  assert.is(ga.llb(base, baseConfig, inputs()), base, 'no copy');
  // An artifact has no gitLatestPatch: gitArchive keeps the whole source.
  const art = structuredClone(img);
  art.isArtifact = true;
  const af = factsFor(art, { contentDigests: new Map([['base', 'cd']]) });
  af.git.forEach((g, i) => (g.archiveSource = `deps-${i}`));
  const aw = walk(m, art, af);
  const arch = aw.find((x) => x.name === 'gitArchive')!.stage;
  assert.ok(ops(arch.llb(llb.image('alpine'), baseConfig, inputs())).decoded.some((o) => o.kind === 'source' && o.op.source.identifier === 'local://git-0'));
});

test('patches: deleted entries removed, changed ones copied from the patch source, before the commands', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const old = walk(m, img, factsFor(img, { contentDigests: new Map([['base', 'cd']]) }));
  const stored = new Map([[old.find((s) => s.name === 'gitArchive')!.digest, old.find((s) => s.name === 'gitArchive')!.stage.labels(undefined)]]);
  const patch = (i: number, from: string): PatchFacts => ({ from, changed: ['src/main.go'], deleted: ['src/old.go'], deletedDirs: ['src/gone'], patchText: 'p', binaryPatchSize: 1, source: `patch-${i}` });
  const st = stageOf(m, img, 'install', { commit: COMMIT_B }, { stored, patch });
  const a = ops(st.llb(llb.image('alpine'), baseConfig, inputs()));
  const patchOp = a.decoded.find((o) => o.kind === 'file' && o.op.file.actions.some((x: any) => x.rm))!;
  const acts = patchOp.op.file.actions;
  assert.equal(acts.map((x: any) => (x.rm ? `rm ${x.rm.path}` : `copy ${x.copy.src} ${x.copy.dest}`)), ['rm /src/src/old.go', 'rm /src/src/gone', 'copy / /src']);
  assert.is(patchOp.name, 'image "app", stage install: git patch');
  const execIdx = a.decoded.findIndex((o) => o.kind === 'exec');
  assert.ok(a.decoded.indexOf(patchOp) < execIdx, 'patch before the commands');
  assert.ok(a.decoded.some((o) => o.kind === 'source' && o.op.source.identifier === 'local://patch-0'));
});

test('imports: one filtered copy with the cap, explicit per-path copies without it', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const src = llb.image('alpine:3.18');
  const importSources = img.imports.map(() => src);
  const st = stageOf(m, img, 'dependenciesBeforeSetup');
  const withCap = ops(st.llb(llb.image('debian'), baseConfig, inputs({ importSources, caps: new Set([llb.Cap.FileCopyIncludeExcludePatterns]) })));
  const c1 = withCap.decoded.filter((o) => o.kind === 'file').pop()!.op.file.actions[0].copy;
  assert.equal([c1.src, c1.dest, c1.include_patterns, c1.exclude_patterns], ['/etc', '/release/etc', ['*.conf'], ['ssl']]);
  assert.throws(() => st.llb(llb.image('debian'), baseConfig, inputs({ importSources, caps: new Set() })), /matched path list/);

  const f = factsFor(img, { contentDigests: new Map([['base', 'cd']]) });
  const idx = img.imports.findIndex((i) => i.targetStage === 'dependenciesBeforeSetup');
  f.imports[idx].paths = ['a.conf', 'sub/b.conf'];
  const ev = walk(m, img, f).find((s) => s.name === 'dependenciesBeforeSetup')!.stage;
  const noCap = ops(ev.llb(llb.image('debian'), baseConfig, inputs({ importSources, caps: new Set() })));
  const acts = noCap.decoded.filter((o) => o.kind === 'file').pop()!.op.file.actions;
  assert.equal(acts.map((x: any) => [x.copy.src, x.copy.dest, x.copy.createDestPath]), [['/etc/a.conf', '/release/etc/a.conf', true], ['/etc/sub/b.conf', '/release/etc/sub/b.conf', true]]);
  // Import labels carry the checksum by import id.
  const labels = ev.labels(undefined);
  assert.ok(Object.keys(labels).some((k) => k.startsWith(LABEL.importChecksumPrefix) && labels[k] === f.imports[idx].checksum));
  // dependencies env lands in the image config of dependenciesBeforeInstall.
  const dbi = walk(m, img, f).find((s) => s.name === 'dependenciesBeforeInstall')!.stage;
  const env = dbi.imageConfig(baseConfig, 'p').config!.Env!;
  assert.ok(env.includes(`BASE_NAME=${f.dependencies[0].imageName}`));
  assert.ok(env.includes(`BASE_TAG=${f.dependencies[0].imageName.split(':').pop()}`));
  assert.ok(env.includes('BASE_DIGEST=sha256:' + '3'.repeat(64)));
});

test('dockerInstructions and imageSpec change only the config (no layer)', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const di = stageOf(m, img, 'dockerInstructions');
  const prev = llb.image('alpine');
  assert.is(di.llb(prev, baseConfig, inputs()), prev);
  assert.ok(di.configOnly);
  const c = di.imageConfig(baseConfig, 'parent').config!;
  assert.equal(c.Cmd, ['--serve']);
  assert.equal(c.Entrypoint, ['/app/run']);
  assert.equal(c.Healthcheck, { Test: ['CMD-SHELL', '/app/health'] });
  assert.equal(Object.keys(c.ExposedPorts!), ['80/tcp', '443/tcp']);
  assert.ok(c.Env!.includes('MODE=prod'));
  assert.is(c.Labels![LABEL.werf], 'example');
  assert.is(c.Labels![LABEL.parentStageId], 'parent');
  assert.is(c.User, 'app');

  const gl = model('001-imagespec-global');
  const app = stapel(gl, 'app');
  const is = walk(gl, app, factsFor(app)).find((s) => s.name === 'imageSpec')!.stage;
  const cfg: OciImageConfig = { ...baseConfig, config: { ...baseConfig.config, Env: ['PATH=/bin', 'WERF_COMMIT_HASH=x', 'SSH_AUTH_SOCK=/.werf/tmp/ssh-auth-sock'] }, history: [{ created_by: 'x' }] };
  const out = is.imageConfig(cfg, 'parent');
  assert.is(out.author, 'Frontend Maintainer <frontend@example.com>');
  assert.equal(out.history, []);
  assert.is(out.config!.Labels!.app, 'my-app');
  assert.not.ok('org.opencontainers.image.title' in out.config!.Labels!, 'regex remove');
  assert.is(out.config!.Labels!.keep, 'y');
  assert.equal(out.config!.Env, ['PATH=/bin']);
  assert.is(out.config!.Labels![LABEL.werf], 'test', 'essential labels stay');
});

test('imageSpec: removeLabels never removes essential werf labels; env expands against the original env; ENTRYPOINT alone clears CMD', () => {
  const gl = model('001-imagespec-global');
  const app = structuredClone(stapel(gl, 'app'));
  app.imageSpec = structuredClone(gl.meta.build.imageSpec!);
  app.imageSpec.config.removeLabels = ['/werf.*/', '/.*/'];
  app.imageSpec.config.env = { PATH: '${PATH}:/opt/bin', A: '$MISSING-x' };
  app.imageSpec.config.entrypoint = ['/run'];
  app.imageSpec.config.labels = { '%project%-img': '%image%' };
  const is = walk(gl, app, factsFor(app)).find((s) => s.name === 'imageSpec')!.stage;
  const out = is.imageConfig({ config: { Env: ['PATH=/bin'], Cmd: ['old'], Labels: { x: '1' } } }, 'parent').config!;
  assert.equal(Object.keys(out.Labels!).sort(), ['app', 'test-img', 'werf', 'werf-stage-content-digest', 'werf.io/parent-stage-id'].sort());
  assert.is(out.Labels!['test-img'], 'app');
  assert.equal(out.Env, ['PATH=/bin:/opt/bin', 'A=-x']);
  assert.equal(out.Entrypoint, ['/run']);
  assert.is(out.Cmd, null);
});

test.run();
