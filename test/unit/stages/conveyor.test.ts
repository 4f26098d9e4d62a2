/**
 * Stage conveyor: werf's stage order and creation rules, digests pinned for the valid config
 * fixtures (golden file), and a few digests recomputed here by hand from werf's formula so the
 * goldens are not self-fulfilling; the incremental chain (selected stages, patches, gitCache).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FixtureRepo, UPDATE } from '../config/fixtures';
import type { Model, StapelImage } from '../../../src/config/model';
import { evaluateStage, planStages, patchBases, sha256Hash, sha3_224Hash, LABEL, gitLabel, type PatchFacts } from '../../../src/stages';
import { COMMIT_A, COMMIT_B, factsFor, h256, h3, imageContentDigest, walk } from './helpers';

const GOLDEN = path.resolve(__dirname, '../../fixtures/stages/digests.json');
const E3B0 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

let repo: FixtureRepo;
const models = new Map<string, Model>();
function model(name: string): Model {
  if (!models.has(name)) models.set(name, repo.load(name).model);
  return models.get(name)!;
}
function stapel(m: Model, name: string): StapelImage {
  const img = m.images.find((i) => i.name === name);
  if (!img || img.kind !== 'stapel') throw new Error(`no stapel image ${name}`);
  return img;
}

/** Every stapel image of a model walked in build-set order, bases' content digests chained as the driver does. */
function walkModel(m: Model): Record<string, [string, string][]> {
  const content = new Map<string, string>();
  const out: Record<string, [string, string][]> = {};
  for (const set of m.buildSets) {
    for (const name of set) {
      const img = m.images.find((i) => i.name === name)!;
      if (img.kind !== 'stapel') continue;
      const w = walk(m, img, factsFor(img, { contentDigests: content }));
      content.set(name, imageContentDigest(w));
      out[name || '~'] = w.map((s) => [s.name, s.digest]);
    }
  }
  return out;
}

test.before(() => {
  repo = new FixtureRepo('valid');
});
test.after(() => repo.remove());

test('hash helpers are werf common-go hashsums', () => {
  assert.is(sha256Hash(), E3B0);
  assert.is(sha256Hash('a', 'b'), h256('a', 'b'));
  assert.is(sha256Hash('a', 'b'), 'd730e193a29ffa63510df122175a2ec7650070da876fa0004c08f1e496959f79'); // printf 'a:::b' | sha256sum
  assert.is(sha3_224Hash(), '6b4e03423667dbb73b6e15454f0eb1abd4597f9a1b078e3f5b5a6bc7');
});

test('stage order follows werf initStages (gitCache after dependenciesAfterSetup)', () => {
  const m = model('004-conveyor-stapel');
  assert.equal(planStages(stapel(m, 'app'), m), [
    'from',
    'beforeInstall',
    'dependenciesBeforeInstall',
    'gitArchive',
    'install',
    'dependenciesAfterInstall',
    'beforeSetup',
    'dependenciesBeforeSetup',
    'setup',
    'dependenciesAfterSetup',
    'gitCache',
    'gitLatestPatch',
    'dockerInstructions',
  ]);
  assert.equal(planStages(stapel(m, 'base'), m), ['from']);
});

test('creation rules: cacheVersion alone creates every user stage; artifacts have no git-after-patch stages; global imageSpec only for final images', () => {
  const shell = model('003-shell-all');
  assert.equal(planStages(stapel(shell, 'app'), shell), ['from', 'beforeInstall', 'install', 'beforeSetup', 'setup']);
  const img = structuredClone(stapel(shell, 'app'));
  img.shell = { beforeInstall: [], install: [], beforeSetup: [], setup: [], cacheVersion: 'x' };
  assert.equal(planStages(img, shell), ['from', 'beforeInstall', 'install', 'beforeSetup', 'setup']);
  const git = model('001-stapel-git');
  const art = { ...structuredClone(stapel(git, 'app')), isArtifact: true };
  assert.equal(planStages(art, git), ['from', 'gitArchive']);
  const noPatch = { ...structuredClone(stapel(git, 'app')), disableGitAfterPatch: true, docker: { VOLUME: [], EXPOSE: [], ENV: {}, LABEL: {}, exactValues: false, pos: stapel(git, 'app').pos } };
  assert.equal(planStages(noPatch, git), ['from', 'gitArchive']);
  const gl = model('001-imagespec-global');
  assert.equal(planStages(stapel(gl, 'app'), gl), ['from', 'imageSpec']);
  assert.equal(planStages({ ...stapel(gl, 'app'), final: false }, gl), ['from']);
});

test('hand-computed: from + shell stages of 003-shell-all', () => {
  const m = model('003-shell-all');
  const img = stapel(m, 'app');
  const w = walk(m, img, factsFor(img));
  const fromDeps = h256('ruby:3');
  const fromDigest = h3('1.2', 'from', fromDeps);
  assert.is(w[0].digest, fromDigest);
  const bi = h256('apt update -q', 'apt install -y curl mysql-client libmysqlclient-dev g++ build-essential libcurl4', h256('1', 'global-1'));
  const biDigest = h3('1.2', 'beforeInstall', bi, fromDigest, '');
  assert.is(w[1].digest, biDigest);
  // install: builder checksum and the (empty) stage-dependencies checksum of zero mappings.
  const inst = h256(h256('bundle install', 'npm ci', h256('1', 'global-1')), E3B0);
  const instDigest = h3('1.2', 'install', inst, biDigest, '');
  assert.is(w[2].digest, instDigest);
  // install is a "user stage with git patch": it feeds H256() of no commits to the next stage.
  const bs = h256(h256('rake assets:precompile', h256('1', 'global-1')), E3B0);
  assert.is(w[3].digest, h3('1.2', 'beforeSetup', bs, instDigest, E3B0));
});

test('hand-computed: non-amd64 platform, mounts and cache versions in from', () => {
  const m = model('002-mount');
  const img = stapel(m, 'app');
  const w = walk(m, img, factsFor(img, { platform: 'linux/arm64' }));
  const deps = h256('.', '/var/lib/apt/lists', 'tmp_dir', '.', '/var/cache/apt', 'build_dir', '~/.cache/go-build', '/root/.cache/go-build', 'custom_dir', 'ubuntu:22.04');
  assert.is(w[0].digest, h3('linux/arm64', '1.2', 'from', deps));
  const labels = w[0].stage.labels(undefined);
  assert.is(labels[LABEL.mountTmpDir], '/var/lib/apt/lists');
  assert.is(labels[LABEL.mountBuildDir], '/var/cache/apt');
  assert.is(labels[`${LABEL.mountCustomDirPrefix}~--.cache--go-build`], '/root/.cache/go-build');
});

test('hand-computed: gitArchive ignores commits; install with stageDependencies; dependencies stage names', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const baseW = walk(m, stapel(m, 'base'), factsFor(stapel(m, 'base')));
  const content = new Map([['base', imageContentDigest(baseW)]]);
  const fa = factsFor(img, { contentDigests: content });
  const fb = factsFor(img, { contentDigests: content, commit: COMMIT_B });
  const wa = walk(m, img, fa);
  const wb = walk(m, img, fb);
  const ga = wa.find((s) => s.name === 'gitArchive')!;
  assert.is(ga.stage.dependencies.value, h256(fa.git[0].paramshash));
  assert.is(ga.digest, wb.find((s) => s.name === 'gitArchive')!.digest, 'gitArchive digest is commit-independent');
  // content digest of base = H3("1.2", "from-content", "", digest, "")
  assert.is(content.get('base'), h3('1.2', 'from-content', '', baseW[0].digest, ''));
  const fromDeps = h256('v2', '.', '/tmp/build', 'tmp_dir', content.get('base')!);
  assert.is(wa[0].digest, h3('1.2', 'from', fromDeps));
  const install = wa.find((s) => s.name === 'install')!;
  const sd = fa.git[0].stageDependencies.install;
  assert.ok(sd !== '');
  assert.is(install.stage.dependencies.value, h256(h256('make deps', h256('i1', 'c1')), h256(sd)));
  // install chains to gitArchive's digest and the commits it recorded
  assert.is(install.digest, h3('1.2', 'install', install.stage.dependencies.value, ga.digest, h256(COMMIT_A)));
  assert.ok(wa.find((s) => s.name === 'dependenciesBeforeInstall')!.stage.digestParts.some((p) => p.value === 'importsBeforeInstall'));
  // dependencies: import checksum, to, group, owner; Dependency, image name, DependencyImport ids.
  const dbi = wa.find((s) => s.name === 'dependenciesBeforeInstall')!;
  const imp = fa.imports[0];
  const dep = fa.dependencies[0];
  const depIds = ['ImageName:BASE_NAME', 'ImageID:BASE_ID', 'ImageRepo:BASE_REPO', 'ImageTag:BASE_TAG', 'ImageDigest:BASE_DIGEST'].map((s) => h256('Type', s.split(':')[0], 'TargetEnv', s.split(':')[1]));
  assert.is(dbi.stage.dependencies.value, h256(imp.checksum, '/release/before-install', '', '', 'Dependency', dep.imageName, ...depIds.flatMap((id) => ['DependencyImport', id])));
  const dai = wa.find((s) => s.name === 'dependenciesAfterInstall')!;
  assert.is(dai.stage.dependencies.value, h256(fa.imports[1].checksum, '/release/after-install', 'root', 'root'));
});

test('hand-computed: dockerInstructions (ENTRYPOINT without CMD resets CMD) and imageSpec', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const w = walk(m, img, factsFor(img, { contentDigests: new Map([['base', 'x']]) }));
  const di = w.find((s) => s.name === 'dockerInstructions')!;
  assert.is(di.stage.dependencies.value, h256('/data', '80', '443', 'MODE', 'prod', 'team', 'core', '["--serve"]', '["/app/run"]', '/src', 'app', 'CMD /app/health'));
  const noCmd = structuredClone(img);
  delete noCmd.docker!.CMD;
  const w2 = walk(m, noCmd, factsFor(noCmd, { contentDigests: new Map([['base', 'x']]) }));
  assert.ok(w2.find((s) => s.name === 'dockerInstructions')!.stage.dependencies.parts.some((p) => p.name === 'CMD' && p.value === '[]'));

  const gl = model('001-imagespec-global');
  const app = stapel(gl, 'app');
  const ws = walk(gl, app, factsFor(app));
  const is = ws.find((s) => s.name === 'imageSpec')!;
  const expected = h256(
    'Frontend Maintainer <frontend@example.com>',
    'true',
    '',
    '',
    '<nil>',
    'app',
    'my-app',
    '',
    '',
    '',
    '/org.opencontainers.image..*/',
    'unnecessary-label',
    'false',
    'false',
    'false',
    'false',
    'false',
  );
  assert.is(is.stage.dependencies.value, expected);
});

test('incremental chain: a stored gitArchive at an older commit changes what install chains to, and patches apply', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const content = new Map([['base', 'x']]);
  const old = walk(m, img, factsFor(img, { contentDigests: content, commit: COMMIT_A }));
  const gaOld = old.find((s) => s.name === 'gitArchive')!;
  const stored = new Map([[gaOld.digest, gaOld.stage.labels(gaOld.prev?.stageId)]]);
  const fb = factsFor(img, { contentDigests: content, commit: COMMIT_B });
  const patch = (i: number, from: string): PatchFacts => ({ from, changed: ['src/main.go'], deleted: ['src/old.go'], patchText: `diff ${from}`, binaryPatchSize: 10, source: `patch-${i}` });
  const w = walk(m, img, fb, { stored, patch });
  const install = w.find((s) => s.name === 'install')!;
  assert.is(install.prev!.labels[gitLabel.commit(fb.git[0].paramshash)], COMMIT_A);
  assert.is(install.prev!.nextStageDependencies, h256(COMMIT_A));
  const fresh = walk(m, img, fb).find((s) => s.name === 'install')!;
  assert.is.not(install.digest, fresh.digest, 'chained to the stored stage, not to a fresh one');
  // install applied the patch, so it records the current commit; gitLatestPatch is then empty.
  assert.is(install.stage.labels(undefined)[gitLabel.commit(fb.git[0].paramshash)], COMMIT_B);
  assert.not.ok(w.some((s) => s.name === 'gitLatestPatch' || s.name === 'gitCache'));
  assert.equal(patchBases(img, fb, install.prev), [COMMIT_A]);
});

test('a user stage built on an older commit records the current commits even when its diff is empty (werf PreparePatchForImage)', () => {
  const m = model('004-conveyor-stapel');
  const img = stapel(m, 'app');
  const content = new Map([['base', 'x']]);
  const old = walk(m, img, factsFor(img, { contentDigests: content, commit: COMMIT_A }));
  const ga = old.find((s) => s.name === 'gitArchive')!;
  const stored = new Map([[ga.digest, ga.stage.labels(ga.prev?.stageId)]]);
  const fb = factsFor(img, { contentDigests: content, commit: COMMIT_B });
  const emptyDiff = (_i: number, from: string): PatchFacts => ({ from, changed: [], deleted: [], patchText: '', binaryPatchSize: 0, source: 'none' });
  const w = walk(m, img, fb, { stored, patch: emptyDiff });
  const install = w.find((s) => s.name === 'install')!;
  assert.is(install.stage.labels(undefined)[gitLabel.commit(fb.git[0].paramshash)], COMMIT_B);
  const after = w[w.indexOf(install) + 1];
  assert.is(after.prev!.nextStageDependencies, h256(COMMIT_B));
  // dependenciesAfterInstall is not git-bearing: it inherits install's commit labels and feeds "".
  assert.is(after.stage.labels(undefined)[gitLabel.commit(fb.git[0].paramshash)], COMMIT_B);
  assert.is(w[w.indexOf(after) + 1].prev!.nextStageDependencies, '');
});

test('gitCache exists from 1 MiB of pending patch; gitLatestPatch digest is the patch text', () => {
  const m = model('001-stapel-git');
  const img = stapel(m, 'app');
  const fa = factsFor(img, { commit: COMMIT_A });
  const old = walk(m, img, fa);
  assert.equal(old.map((s) => s.name), ['from', 'gitArchive']);
  const stored = new Map(old.map((s) => [s.digest, s.stage.labels(s.prev?.stageId)] as const));
  const fb = factsFor(img, { commit: COMMIT_B });
  const small = (i: number, from: string): PatchFacts => ({ from, changed: ['a'], deleted: [], patchText: 'diff --git a/a b/a', binaryPatchSize: 1024 * 1024 - 1, source: `p${i}` });
  const w1 = walk(m, img, fb, { stored, patch: small });
  assert.equal(w1.map((s) => s.name), ['from', 'gitArchive', 'gitLatestPatch']);
  const glp = w1[2];
  assert.is(glp.stage.dependencies.value, h256('diff --git a/a b/a'));
  assert.is(glp.digest, h3('1.2', 'gitLatestPatch', h256('diff --git a/a b/a'), old[1].digest, h256(COMMIT_A)));
  const big = (i: number, from: string): PatchFacts => ({ ...small(i, from), binaryPatchSize: 3 * 1024 * 1024 + 5 });
  const w2 = walk(m, img, fb, { stored, patch: big });
  assert.equal(w2.map((s) => s.name), ['from', 'gitArchive', 'gitCache']);
  assert.is(w2[2].stage.dependencies.value, h256('3'));
  // Same commit: nothing pending, both patch stages empty.
  const w3 = walk(m, img, fa, { stored, patch: big });
  assert.equal(w3.map((s) => s.name), ['from', 'gitArchive']);
});

test('a stage never evaluates without its facts', () => {
  const m = model('001-stapel-git');
  const img = stapel(m, 'app');
  const f = { ...factsFor(img), git: [] };
  assert.throws(() => evaluateStage('from', { model: m, image: img, facts: f, patches: [] }), /git mappings/);
  const base = model('003-from-image-and-artifact');
  const app = stapel(base, 'app');
  assert.throws(() => evaluateStage('from', { model: base, image: app, facts: factsFor(app), patches: [] }), /content digest/);
});

test('golden digests for every valid Stapel fixture', () => {
  const got: Record<string, Record<string, [string, string][]>> = {};
  for (const name of fs.readdirSync(path.resolve(__dirname, '../../fixtures/config/valid')).sort()) {
    let m: Model;
    try {
      m = model(name);
    } catch {
      continue; // fixtures that need the template engine or options beyond the plain loader
    }
    if (!m.images.some((i) => i.kind === 'stapel')) continue;
    got[name] = walkModel(m);
  }
  if (UPDATE || !fs.existsSync(GOLDEN)) fs.writeFileSync(GOLDEN, JSON.stringify(got, null, 1) + '\n');
  const want = JSON.parse(fs.readFileSync(GOLDEN, 'utf8'));
  assert.equal(got, want);
  assert.ok(Object.keys(got).length >= 15, `only ${Object.keys(got).length} fixtures walked`);
});

test.run();
