/** Image selection (werf's patterns), platform precedence, stored-stage selection, the build report. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { goFilepathMatch, imagePlatforms, selectImages } from '../../../src/build/plan';
import { gitCommitLabel, gitTreeLabel, selectStoredStage } from '../../../src/build/select';
import { envKeyName, formatReport, type ImagesReport } from '../../../src/build/report';
import type { Model, Image } from '../../../src/config';
import type { StoredStage } from '../../../src/storage/types';

const t = suite('build/plan+select');

const pos = { file: 'werf.yaml', line: 1, column: 1 };
function model(images: Partial<Image>[], platform: string[] = []): Model {
  const imgs = images.map((i) => ({ kind: 'stapel', isArtifact: false, final: true, platform: [], secrets: [], dependencies: [], imports: [], pos, base: { type: 'external', ref: 'x', pos }, ...i }) as Image);
  return { project: 'p', meta: { build: { platform } }, images: imgs, buildSets: [imgs.filter((i) => i.kind === 'stapel' && (i as any).base.type !== 'image').map((i) => i.name), imgs.filter((i) => (i as any).base.type === 'image').map((i) => i.name)].filter((s) => s.length) } as unknown as Model;
}

t('goFilepathMatch: *, ?, classes, escapes', () => {
  const cases: [string, string, boolean][] = [
    ['*', 'app', true],
    ['a*', 'app', true],
    ['a*', 'bpp', false],
    ['ap?', 'app', true],
    ['ap?', 'ap', false],
    ['[ab]pp', 'bpp', true],
    ['[^ab]pp', 'bpp', false],
    ['[a-c]pp', 'cpp', true],
    ['app\\*', 'app*', true],
    ['app\\*', 'appx', false],
    ['*', 'a/b', false],
    ['a.b', 'axb', false],
  ];
  for (const [p, n, want] of cases) assert.is(goFilepathMatch(p, n), want, `${p} ~ ${n}`);
});

t('selectImages: patterns, excludes, dependencies pulled in, order by build sets, no match is an error', () => {
  const m = model([{ name: 'base' }, { name: 'app', base: { type: 'image', image: 'base', directive: 'fromImage', pos } } as Partial<Image>, { name: 'tool' }]);
  assert.equal(selectImages(m, []).map((i) => i.name), ['base', 'tool', 'app']);
  assert.equal(selectImages(m, ['app']).map((i) => i.name), ['base', 'app']);
  assert.equal(selectImages(m, ['*', '!tool']).map((i) => i.name), ['base', 'app']);
  assert.throws(() => selectImages(m, ['nope']), /no image matches pattern "nope"/);
  assert.throws(() => selectImages(m, ['**']), /"\*\*" is not supported/);
});

t('imagePlatforms: CLI > image > build.platform > daemon default; normalised', () => {
  const m = model([{ name: 'a', platform: ['linux/arm64'] }, { name: 'b' }], ['linux/arm/v7']);
  const [a, b] = m.images;
  assert.equal(imagePlatforms(m, a, ['linux/amd64'], 'linux/amd64'), ['linux/amd64']);
  assert.equal(imagePlatforms(m, a, [], 'linux/amd64'), ['linux/arm64']);
  assert.equal(imagePlatforms(m, b, [], 'linux/amd64'), ['linux/arm/v7']);
  const m2 = model([{ name: 'c' }]);
  assert.equal(imagePlatforms(m2, m2.images[0], [], 'linux/amd64'), ['linux/amd64']);
  assert.throws(() => imagePlatforms(m2, m2.images[0], ['not a platform!'], 'linux/amd64'), /invalid platform/);
});

function st(createdMs: number, labels: Record<string, string> = {}): StoredStage {
  return { digest: 'd', createdMs, imageName: `r:d-${createdMs}`, labels };
}

t('selectStoredStage: oldest wins; stages older than the parent are dropped', async () => {
  assert.is(await selectStoredStage(undefined), undefined);
  const s = await selectStoredStage([st(30), st(10), st(20)]);
  assert.is(s!.stage.createdMs, 10);
  assert.is(s!.how, 'oldest');
  const p = await selectStoredStage([st(10), st(20), st(30)], { parentCreatedMs: 15 });
  assert.is(p!.stage.createdMs, 20);
  assert.is(await selectStoredStage([st(10)], { parentCreatedMs: 15 }), undefined);
});

t('selectStoredStage: git stages need an ancestor commit (werf), else a still-present commit or tree (Stapelkit)', async () => {
  const ph = 'a'.repeat(64);
  const objects = new Set(['c1', 'c2', 'tree9']);
  const ancestors = new Set(['c1']);
  const git = { paramshashes: [ph], currentCommit: 'head', isAncestor: async (a: string) => ancestors.has(a), hasObject: async (o: string) => objects.has(o) };
  const a = await selectStoredStage([st(10, { [gitCommitLabel(ph)]: 'c2' }), st(20, { [gitCommitLabel(ph)]: 'c1' })], { git });
  assert.is(a!.how, 'ancestor');
  assert.is(a!.stage.createdMs, 20);
  // After an amend: c2 exists but is no ancestor → still usable (diffable), newest first.
  const b = await selectStoredStage([st(10, { [gitCommitLabel(ph)]: 'c2' }), st(20, { [gitCommitLabel(ph)]: 'gone', [gitTreeLabel(ph)]: 'tree9' })], { git });
  assert.is(b!.how, 'diffable');
  assert.is(b!.stage.createdMs, 20);
  const c = await selectStoredStage([st(10, { [gitCommitLabel(ph)]: 'gone' })], { git });
  assert.is(c, undefined);
});

t('report: env format and key names as werf', () => {
  assert.is(envKeyName('my-app/web.v2'), 'MY_APP_WEB_V2');
  const r: ImagesReport = {
    Runtime: { Backend: 'buildkit', InContainer: false },
    Images: { 'my-app': { WerfImageName: 'my-app', ConfigType: 'stapel', DockerRepo: 'p', DockerTag: 't', DockerImageID: 'sha256:1', DockerImageDigest: '', DockerImageName: 'p:t', TargetPlatform: 'linux/amd64', Rebuilt: true, Final: true, Size: 0, BuildTime: '1.00', Commit: 'c', Stages: [] } },
  };
  const env = formatReport(r, 'x.env');
  assert.ok(env.includes('WERF_MY_APP_DOCKER_IMAGE_NAME=p:t\n'));
  assert.ok(env.includes('WERF_MY_APP_FINAL=true\n'));
  assert.equal(JSON.parse(formatReport(r, 'x.json')), r);
});

t.run();
