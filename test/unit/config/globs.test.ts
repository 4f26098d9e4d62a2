/** Path globs (doublestar's validity rules) and the stageDependencies-without-commands warning. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { Model, defaultGiterminism, parseRendered } from '../../../src/config';
import { globProblem } from '../../../src/config/parse';
import { StapelkitError } from '../../../src/errors';
import { validatePattern } from '../../../src/git';

const t = suite('config/globs');
const parse = (text: string): Model =>
  parseRendered(text, (line) => ({ file: 'werf.yaml', line }), {
    commit: { hash: 'c'.repeat(40), date: new Date(0) },
    env: '',
    giterminism: { present: false, config: defaultGiterminism() },
    environ: {},
    configFile: 'werf.yaml',
    projectDirName: 'x',
  });
const IMAGE = 'project: demo\nconfigVersion: 1\n---\nimage: x\nfrom: alpine\n';
function err(text: string): StapelkitError {
  try {
    parse(text);
  } catch (e) {
    if (e instanceof StapelkitError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

t('globProblem follows doublestar.ValidatePattern', () => {
  for (const ok of ['*.json', '**/*.{js,ts}', 'src/**', '[!a]b', '[^a]b', '[a-z]*', 'a\\[b', 'a\\{b', '{a,{b,c}}', 'a]b', 'x\\\\']) {
    assert.is(globProblem(ok), undefined, ok);
  }
  assert.is(globProblem('a[b'), 'unclosed character class `[` at offset 1');
  assert.is(globProblem('a[!'), 'unclosed character class `[` at offset 1');
  assert.is(globProblem('a[b\\]'), 'unclosed character class `[` at offset 1');
  assert.is(globProblem('x{a,b'), 'unclosed alternative `{`');
  assert.is(globProblem('x\\'), 'trailing escape character `\\`');
  assert.is(globProblem('a[]b'), 'empty character class at offset 1');
  assert.is(globProblem('a}b'), '`}` without a matching `{` at offset 1');
});

t('globProblem agrees with the git layer\'s doublestar validatePattern on every pattern of a generated corpus', () => {
  const parts = ['a', '*', '**', '/', '[', ']', '!', '^', '{', '}', ',', '\\', '-', '?'];
  let n = 0;
  const walk = (prefix: string, depth: number) => {
    if (depth === 0) return;
    for (const p of parts) {
      const pat = prefix + p;
      assert.is(globProblem(pat) === undefined, validatePattern(pat), JSON.stringify(pat));
      n++;
      walk(pat, depth - 1);
    }
  };
  walk('', 4);
  assert.ok(n > 40_000);
});

t('a malformed glob in git stageDependencies, includePaths, excludePaths or import paths is a positioned error', () => {
  const e = err(`${IMAGE}shell:\n  install: make\ngit:\n- add: /\n  to: /app\n  stageDependencies:\n    install: ["ok/*", "src/[abc"]\n`);
  assert.is(
    e.format(),
    'werf.yaml:12:23: image "x" → git[0].stageDependencies.install[1]: invalid glob "src/[abc" in `stageDependencies.install`: unclosed character class `[` at offset 4 (werf matches these paths with doublestar globs: escape a literal `[`, `{` or `\\` with `\\`)',
  );
  assert.match(err(`${IMAGE}git:\n- add: /\n  to: /app\n  includePaths: "a{b"\n`).format(), /^werf\.yaml:9:17: image "x" → git\[0\]\.includePaths: invalid glob "a\{b" in `includePaths`: unclosed alternative/);
  assert.match(err(`${IMAGE}git:\n- add: /\n  to: /app\n  excludePaths: ["x\\\\"]\n`).format(), /excludePaths\[0\]: invalid glob "x\\" in `excludePaths`: trailing escape character/);
  assert.match(err(`${IMAGE}import:\n- image: y\n  add: /a\n  after: install\n  includePaths: ["[z"]\n---\nimage: y\nfrom: alpine\n`).format(), /import\[0\]\.includePaths\[0\]: invalid glob "\[z"/);
  // contextAddFiles are paths, not globs.
  assert.ok(parse('project: demo\nconfigVersion: 1\n---\nimage: d\ndockerfile: Dockerfile\ncontextAddFiles: ["a[b"]\n'));
});

t('stageDependencies for a stage without commands warns (werf v2), positioned at the stage key', () => {
  const m = parse(`${IMAGE}shell:\n  install: make\ngit:\n- add: /\n  to: /app\n  stageDependencies:\n    install: "*.json"\n    setup: ["src/**/*"]\n    beforeSetup: []\n`);
  assert.equal(m.warnings, [
    {
      message: '`stageDependencies.setup` has no effect: the image has no `shell.setup` commands, so a change of these paths only rebuilds an empty stage (werf v3 rejects this)',
      pos: { file: 'werf.yaml', line: 13, column: 5, keyPath: 'image "x" → git[0].stageDependencies.setup' },
    },
  ]);
  assert.equal(parse(`${IMAGE}shell:\n  setup: [a]\ngit:\n- add: /\n  to: /app\n  stageDependencies:\n    setup: "*"\n`).warnings, []);
});

t.run();
