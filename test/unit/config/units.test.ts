/** Pure pieces of the config front: splitting, suggestions, overlap excludes, line mapping, imageSpec merge. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { Model, StapelImage, defaultGiterminism, effectiveImageSpec, parseRendered, splitDocuments } from '../../../src/config';
import { levenshtein, suggest } from '../../../src/config/yamlnode';
import { StapelkitError } from '../../../src/errors';

const t = suite('config/units');

function parse(text: string, mapLine = (line: number) => ({ file: 'werf.yaml', line })): Model {
  return parseRendered(text, mapLine, {
    commit: { hash: 'c'.repeat(40), date: new Date(0) },
    env: '',
    giterminism: { present: false, config: defaultGiterminism() },
    environ: {},
    configFile: 'werf.yaml',
    projectDirName: 'x',
  });
}
function err(text: string): StapelkitError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof StapelkitError) return e;
    throw e;
  }
  throw new Error('expected an error');
}
const META = 'project: demo\nconfigVersion: 1\n---\n';

t('splitDocuments: werf separators, empty and comment-only documents dropped, line offsets', () => {
  const docs = splitDocuments('a: 1\n--- # comment\n\n# only a comment\n---\t\r\nb: 2\n----\nc: 3\n---x\n');
  assert.equal(docs.map((d) => [d.index, d.startLine, d.text]), [
    [1, 0, 'a: 1\n'],
    [2, 5, 'b: 2\n----\nc: 3\n---x\n\n'],
  ]);
  assert.equal(splitDocuments('\n\n# x\n---\n'), []);
  assert.equal(splitDocuments('---\nimage: a\n').map((d) => d.startLine), [1]);
});

t('suggest / levenshtein', () => {
  assert.is(levenshtein('kitten', 'sitting'), 3);
  assert.is(suggest('fromImg', ['from', 'fromImage', 'fromArtifact']), 'fromImage');
  assert.is(suggest('Shell', ['shell', 'git']), 'shell');
  assert.is(suggest('zzzzzz', ['shell', 'git']), undefined);
});

t('YAML 1.1 like werf: yes/no booleans, numbers into strings as written', () => {
  const m = parse(META + 'image: app\nfrom: alpine\nfinal: no\ncacheVersion: 1.50\nfromCacheVersion: 0777\nshell:\n  install: [yes, 12]\n');
  const img = m.images[0] as StapelImage;
  assert.is(img.final, false);
  assert.is(img.cacheVersion, '1.50');
  assert.is(img.fromCacheVersion, '0777');
  assert.equal(img.shell.install, ['yes', '12']);
});

t('overlap excludes: nested git/import destinations, covered paths, existing excludes', () => {
  const m = parse(
    META +
      'image: app\nfrom: alpine\ngit:\n- add: /\n  to: /\n  includePaths: [etc]\n- add: /web\n  to: /srv\n  excludePaths: [static]\n- add: /static\n  to: /srv/static\n- add: /docs\n  to: /srv/docs/api\n' +
      'import:\n- image: b\n  add: /out\n  to: /srv/docs\n  after: install\n---\nimage: b\nfrom: alpine\n',
  );
  const img = m.images[0] as StapelImage;
  // werf's rule looks at destinations only: `to: /` gets every nested destination excluded,
  // whatever its includePaths; later paths already inside an exclude are skipped.
  assert.equal(img.git[0].excludePaths, ['srv']);
  // /srv/static is already excluded by the user; /srv/docs/api and /srv/docs are both added
  // (a new path is skipped only when it lies inside an existing exclude, not around one).
  assert.equal(img.git[1].autoExcludePaths, ['docs/api', 'docs']);
  assert.equal(img.git[1].excludePaths, ['static', 'docs/api', 'docs']);
  assert.equal(img.imports[0].autoExcludePaths, ['api']);
  assert.equal(img.git[3].autoExcludePaths, []);
});

t('overlap conflict: same destination covered by both include lists', () => {
  const e = err(META + 'image: app\nfrom: alpine\ngit:\n- add: /a\n  to: /app\n  includePaths: [x]\n- add: /b\n  to: /app\n  includePaths: [x, y]\n');
  assert.is(e.message, 'Conflict between imports!');
  assert.is(e.pos!.keyPath, 'image "app" → git[1]');
});

t('positions are mapped through the line map to template files', () => {
  // Pretend lines 4-6 of the rendered text came from a partial.
  const map = (line: number) => (line >= 4 && line <= 6 ? { file: '.werf/img.tmpl', line: line + 10 } : { file: 'werf.yaml', line });
  try {
    parse(META + 'image: app\nfrom: alpine\nfinal: perhaps\n', map);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, StapelkitError);
    assert.is((e as StapelkitError).format(), '.werf/img.tmpl:16:8: image "app" → final: expected a boolean (true or false), got a string ("perhaps")');
  }
});

t('$WERF_PROJECT_NAME overrides project', () => {
  const m = parseRendered(META + 'image: app\nfrom: alpine\n', (line) => ({ file: 'werf.yaml', line }), {
    commit: { hash: 'c', date: new Date(0) },
    env: '',
    giterminism: { present: false, config: defaultGiterminism() },
    environ: { WERF_PROJECT_NAME: 'other-name' },
    configFile: 'werf.yaml',
    projectDirName: 'x',
  });
  assert.is(m.project, 'other-name');
});

t('build sets are topological layers', () => {
  const m = parse(
    META +
      'image: c\nfromImage: b\n---\nimage: b\nfrom: a\n---\nimage: a\nfrom: alpine\n---\nimage: d\ndockerfile: Dockerfile\ndependencies:\n- image: a\n---\nimage: e\nfrom: alpine\nimport:\n- image: c\n  add: /x\n  after: setup\n',
  );
  assert.equal(m.buildSets, [['a'], ['b', 'd'], ['c'], ['e']]);
});

t('effectiveImageSpec: global merged into final images only, global wins', () => {
  const m = parse(
    'project: demo\nconfigVersion: 1\nbuild:\n  imageSpec:\n    author: G\n    config:\n      labels: {a: g, c: g}\n      removeLabels: [x, y]\n---\n' +
      'image: app\nfrom: alpine\nimageSpec:\n  author: I\n  clearHistory: true\n  config:\n    user: app\n    labels: {a: i, b: i}\n    removeLabels: [y, z]\n---\nimage: tmp\nfrom: alpine\nfinal: false\n---\nimage: bare\nfrom: alpine\n',
  );
  const [app, tmp, bare] = m.images;
  const s = effectiveImageSpec(m, app)!;
  assert.is(s.author, 'G');
  assert.ok(s.clearHistory);
  assert.is(s.config.user, 'app');
  assert.equal(s.config.labels, { a: 'g', b: 'i', c: 'g' });
  assert.equal(s.config.removeLabels, ['y', 'z', 'x']);
  assert.is(effectiveImageSpec(m, tmp), undefined);
  assert.is(effectiveImageSpec(m, bare)!.author, 'G');
  // The model itself is not changed by the merge.
  assert.is(app.imageSpec!.author, 'I');
});

t.run();
