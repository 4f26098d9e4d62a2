/**
 * doublestar v4 PathMatch semantics (the table of bmatcuk/doublestar's own tests) and werf's
 * path_matcher rules (cases from werf's include/exclude/base/multi/factory/common tests).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { BadPatternError, pathMatch, pathMatchInterpreted, simplePatternRegExp, validatePattern } from '../../../src/git/doublestar';
import {
  BasePathMatcher, ExcludeMatcher, GlobError, IncludeMatcher, MultiMatcher, TrueMatcher, exportMatcher, formatPath,
  newPathMatcher, splitFilepath, trimTrailingGlobs, validateGlobs, type PathMatcher,
} from '../../../src/git/pathmatch';

const ds = suite('git/doublestar');
const BAD = 'bad';
// [pattern, path, expected] — expected BAD means doublestar returns ErrBadPattern.
const matchTable: [string, string, boolean | typeof BAD][] = [
  ['*', '', true], ['*', '/', false], ['/*', '/', true], ['/*', '/debug/', false], ['/*', '//', false],
  ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['*/', 'a/', true], ['a*', 'a', true],
  ['a*', 'abc', true], ['a*', 'ab/c', false], ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*', 'axbxcxdxe', true], ['a*b*c*d*e*/f', 'axbxcxdxe/f', true], ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true], ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false], ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'ab', false], ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true], ['a[!a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true], ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false],
  ['[\\]a]', ']', true], ['[\\-]', '-', true], ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true], ['[\\-x]', '-', true], ['[\\-x]', 'a', false], ['[]a]', ']', BAD],
  ['[-]', '-', true], ['[x-]', 'x', true], ['[x-]', '-', true], ['[x-]', 'z', false], ['[-x]', 'x', true],
  ['[-x]', '-', true], ['[-x]', 'a', false], ['[a-b-d]', 'a', true], ['[a-b-d]', 'b', true], ['[a-b-d]', '-', true],
  ['[a-b-d]', 'c', false], ['[a-b-x]', 'x', true], ['\\', 'a', BAD], ['[', 'a', BAD], ['[^', 'a', BAD],
  ['[^bc', 'a', BAD], ['a[', 'a', BAD], ['a[', 'ab', BAD], ['ad[', 'ab', BAD], ['*x', 'xxx', true], ['[abc]', 'b', true],
  ['**', '', true], ['a/**', 'a', true], ['a/**', 'a/', true], ['a/**', 'a/b', true], ['a/**', 'a/b/c', true],
  ['**/c', 'c', true], ['**/c', 'b/c', true], ['**/c', 'a/b/c', true], ['**/c', 'a/b', false], ['**/c', 'abcd', false],
  ['**/c', 'a/abc', false], ['a/**/b', 'a/b', true], ['a/**/c', 'a/b/c', true], ['a/**/d', 'a/b/c/d', true],
  ['a/\\**', 'a/b/c', false], ['a/\\[*\\]', 'a/bc', false], ['a//b/c', 'a/b/c', false], ['a/b/c', 'a/b//c', false],
  ['a/', 'a', false], ['ab{c,d}', 'abc', true], ['ab{c,d,*}', 'abcde', true], ['ab{c,d}[', 'abcd', BAD],
  ['a{,bc}', 'a', true], ['a{,bc}', 'abc', true], ['a/{b/c,c/b}', 'a/b/c', true], ['a/{b/c,c/b}', 'a/c/b', true],
  ['{a/{b,c},abc}', 'a/b', true], ['{a/{b,c},abc}', 'a/c', true], ['{a/{b,c},abc}', 'abc', true],
  ['{a/{b,c},abc}', 'a/b/c', false], ['{a/ab*}', 'a/abc', true], ['{a/*}', 'a/b', true], ['{a/abc}', 'a/abc', true],
  ['{a/b,a/c}', 'a/c', true], ['abc/**', 'abc/b', true], ['**/abc', 'abc', true], ['abc**', 'abc/b', false],
  ['**/*.txt', 'abc/【test】.txt', true], ['**/【*', 'abc/【test】.txt', true],
  // more: `**` not a whole segment acts as `*`; trailing `/**` spans; nested alternatives with `**`
  ['src/**/*.go', 'src/main.go', true], ['src/**/*.go', 'src/a/b/main.go', true], ['src/**/*.go', 'src/a/b/main.c', false],
  ['src/**.go', 'src/a/main.go', false], ['src/**.go', 'src/main.go', true], ['**/*', 'a', true], ['**/*', 'a/b/c', true],
  ['a/{b,c/**}', 'a/c/d/e', true], ['*.{js,ts}', 'x.ts', true], ['*.{js,ts}', 'x.go', false], ['\\{a\\}', '{a}', true],
];

// The RegExp form of brace/class/escape-free patterns must agree with the backtracking matcher on
// every pattern and name: exhaustively over short ones, then on random longer ones.
ds('RegExp fast path equals the backtracking matcher', () => {
  const patAtoms = ['a', 'b', '/', '*', '?', '.'];
  const nameAtoms = ['a', 'b', '/', '.'];
  const all = (atoms: string[], max: number): string[] => {
    let level = [''];
    const out = [''];
    for (let n = 1; n <= max; n++) {
      level = level.flatMap((x) => atoms.map((a) => x + a));
      out.push(...level);
    }
    return out;
  };
  const names = all(nameAtoms, 4);
  let compared = 0;
  for (const pat of all(patAtoms, 5)) {
    const re = simplePatternRegExp(pat);
    // A trailing `**/` stays with the backtracking matcher (see simplePatternRegExp).
    assert.is(re === null, pat.endsWith('**/'), pat);
    if (!re) continue;
    for (const name of names) {
      assert.is(re.test(name), pathMatchInterpreted(pat, name), `${JSON.stringify(pat)} vs ${JSON.stringify(name)}`);
      compared++;
    }
  }
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
  const longAtoms = ['ab', 'c', '/', '*', '**', '**/', '/**', '?', '.go', 'src', '☺'];
  const longNames = ['ab', 'c', '/', 'x.go', 'src', '☺', 'a'];
  for (let i = 0; i < 20000; i++) {
    const pat = Array.from({ length: 1 + rnd(7) }, () => longAtoms[rnd(longAtoms.length)]).join('');
    const name = Array.from({ length: rnd(8) }, () => longNames[rnd(longNames.length)]).join('');
    const re = simplePatternRegExp(pat);
    if (!re) continue;
    assert.is(re.test(name), pathMatchInterpreted(pat, name), `${JSON.stringify(pat)} vs ${JSON.stringify(name)}`);
    compared++;
  }
  assert.ok(compared > 2e6, String(compared));
  for (const p of ['a[b]', 'a{b,c}', 'a\\*']) assert.is(simplePatternRegExp(p), null, p);
});

ds('doublestar PathMatch table', () => {
  for (const [pat, name, want] of matchTable) {
    let got: boolean | typeof BAD;
    try {
      got = pathMatch(pat, name);
    } catch (e) {
      assert.instance(e, BadPatternError);
      got = BAD;
    }
    assert.is(got, want, `PathMatch(${JSON.stringify(pat)}, ${JSON.stringify(name)})`);
  }
});

ds('ValidatePattern agrees with the table', () => {
  for (const [pat, , want] of matchTable) assert.is(validatePattern(pat), want !== BAD, pat);
  assert.not.ok(validatePattern('a}'));
  assert.not.ok(validatePattern('{a'));
  assert.ok(validatePattern('{a,{b,c}}'));
});

const pm = suite('git/pathmatch');
type Row = [PathMatcher, string, boolean, boolean, boolean]; // matcher, path, isPathMatched, shouldGoThrough, isDirOrSubmodulePathMatched
const inc = (...g: string[]) => new IncludeMatcher(g);
const exc = (...g: string[]) => new ExcludeMatcher(g);
const rows: Row[] = [
  // include (werf include_test.go)
  [inc(), '', true, false, true],
  [inc(''), '', true, false, true],
  [inc('dir'), '', false, true, true],
  [inc('dir'), 'dir', true, false, true],
  [inc('dir'), 'dir/any', true, false, true],
  [inc('dir1'), 'dir2', false, false, false],
  [inc('dir/file'), 'dir', false, true, true],
  [inc('a'), 'a/b/c/d', true, false, true],
  [inc('a/*/*/**/*'), 'a/d/c/d', true, false, true],
  // exclude (exclude_test.go)
  [exc(), '', true, false, true],
  [exc(''), '', false, false, false],
  [exc('dir'), '', true, true, true],
  [exc('dir1'), 'dir2', true, false, true],
  [exc('dir/file'), 'dir', true, true, true],
  [exc('dir'), 'dir', false, false, false],
  [exc('dir'), 'dir/any', false, false, false],
  [exc('a'), 'a/b/c/d', false, false, false],
  [exc('a/*/*/**/*'), 'a/d/c/d', false, false, false],
  // base path (base_path_test.go)
  [new BasePathMatcher(''), '', true, false, true],
  [new BasePathMatcher(''), 'path', true, false, true],
  [new BasePathMatcher('dir'), 'path', false, false, false],
  [new BasePathMatcher('path'), '', false, true, true],
  [new BasePathMatcher('path'), 'path', true, false, true],
  [new BasePathMatcher('path'), 'path/sub-path', true, false, true],
  [new BasePathMatcher('', new TrueMatcher()), 'any', true, false, true],
  [new BasePathMatcher('a/b/c'), 'a/b/c/d', true, false, true],
  [new BasePathMatcher('a/b/c'), 'a/b/d', false, false, false],
  [new BasePathMatcher('a/b/c'), 'b', false, false, false],
  [new BasePathMatcher('a'), 'a/b/c', true, false, true],
  // multi (multi_test.go)
  ...(['', 'file', 'dir', 'dir/sub-dir', 'dir/sub-dir/file'].map((p, i): Row => {
    const m = new MultiMatcher([new BasePathMatcher('dir'), new BasePathMatcher('dir/sub-dir')]);
    const want = [[false, true, true], [false, false, false], [false, true, true], [true, false, true], [true, false, true]][i];
    return [m, p, want[0], want[1], want[2]];
  })),
  // factory (factory_test.go)
  [newPathMatcher({ basePath: 'dir' }), '', false, true, true],
  [newPathMatcher({ basePath: 'dir' }), 'dir', true, false, true],
  [newPathMatcher({ includeGlobs: ['dir'] }), '', false, true, true],
  [newPathMatcher({ excludeGlobs: ['dir1'] }), 'dir1', false, false, false],
  [newPathMatcher({ excludeGlobs: ['dir1'] }), 'dir2', true, false, true],
  [newPathMatcher({ matchers: [new TrueMatcher()] }), 'any', true, false, true],
  ...(['', 'sub-dir', 'dir/sub-dir', 'dir/sub-dir/file1', 'dir/sub-dir/file2'].map((p, i): Row => {
    const m = newPathMatcher({ basePath: 'dir', includeGlobs: ['sub-dir'], excludeGlobs: ['sub-dir/file1'] });
    const want = [[false, true, true], [false, false, false], [true, true, true], [false, false, false], [true, false, true]][i];
    return [m, p, want[0], want[1], want[2]];
  })),
  ...(['dir', 'dir/sub-dir/file', 'dir/sub-dir/file.go'].map((p, i): Row => {
    const m = newPathMatcher({ basePath: 'dir', matchers: [new BasePathMatcher('sub-dir'), inc('sub-dir/*.go')] });
    const want = [[false, true, true], [false, false, false], [true, false, true]][i];
    return [m, p, want[0], want[1], want[2]];
  })),
  // the implicit `**/*` suffix and universal globs (werf docs)
  [inc('src/**/*'), 'src', true, false, true],
  [inc('src/**'), 'src', true, false, true],
  [inc('src/*'), 'src/a/b', true, false, true],
  [inc('**/*.go'), 'a/b', false, true, true],
  [inc('**/*.go'), 'a/b/x.go', true, true, true],
  [inc('*'), 'anything/deep', true, false, true],
  [inc('**/*'), '', true, false, true],
  [inc('.'), 'x', true, false, true],
  [exc('**'), 'x', false, false, false],
  [inc('app/*.js'), 'app', false, true, true],
  [inc('app/*.js'), 'app/sub', false, false, false],
  [inc('{app,lib}/x'), 'lib', false, true, true],
  [exc('tests/fixtures'), 'tests', true, true, true],
  [exc('tests/fixtures', 'tests'), 'tests', false, false, false],
];

pm('matcher table (werf path_matcher tests)', () => {
  rows.forEach(([m, p, isM, sgt, dir], i) => {
    assert.is(m.isPathMatched(p), isM, `#${i} isPathMatched(${JSON.stringify(p)})`);
    assert.is(m.shouldGoThrough(p), sgt, `#${i} shouldGoThrough(${JSON.stringify(p)})`);
    assert.is(m.isDirOrSubmodulePathMatched(p), dir, `#${i} isDirOrSubmodulePathMatched(${JSON.stringify(p)})`);
  });
  assert.ok(rows.length >= 40);
});

pm('werf common_test: isPathMatched forms, formatPath', () => {
  const cases: [string, string, boolean][] = [
    ['usr/bin/[', 'usr/bin/\\[', true], ['usr/bin/falco', 'usr/bin/**', true], ['etc/falco', 'usr/bin/*', false],
    ['usr/share/falco/plugins/libcontainer.so', 'usr/share/**', true], ['lib64', 'lib64', true],
    ['usr/bin/falco', 'usr/bin', true], ['images/img/Dockerfile', 'images/*/{Dockerfile,werf.inc.yaml}', true],
  ];
  for (const [p, g, want] of cases) assert.is(inc(g).isPathMatched(p), want, `${g} ${p}`);
  assert.is(formatPath(''), '');
  assert.is(formatPath('.'), '');
  assert.is(formatPath('/'), '');
  assert.is(formatPath('a//b/'), 'a/b');
});

pm('splitFilepath / trimTrailingGlobs', () => {
  assert.equal(splitFilepath('/a/b/'), ['a', 'b']);
  assert.equal(splitFilepath('a\\/b/c'), ['a\\/b', 'c']);
  assert.equal(splitFilepath('.'), []);
  assert.is(trimTrailingGlobs('path/*/dir/**/*'), 'path/*/dir');
  assert.is(trimTrailingGlobs('path/*/dir/*/*/**'), 'path/*/dir');
  assert.is(trimTrailingGlobs('**/*'), '');
  assert.is(trimTrailingGlobs('a/b*'), 'a/b*');
});

pm('exportMatcher: add, include AND NOT exclude, relative to add', () => {
  const m = exportMatcher({ add: '/src', includePaths: ['**/*.go', 'README*'], excludePaths: ['vendor'] });
  assert.ok(m.isPathMatched('src/main.go'));
  assert.ok(m.isPathMatched('src/pkg/x.go'));
  assert.ok(m.isPathMatched('src/README.md'));
  assert.not.ok(m.isPathMatched('src/vendor/x.go'));
  assert.not.ok(m.isPathMatched('src/main.c'));
  assert.not.ok(m.isPathMatched('other/main.go'));
  assert.ok(m.shouldGoThrough(''));
  assert.ok(m.shouldGoThrough('src'));
  assert.not.ok(m.shouldGoThrough('src/vendor'));
  const root = exportMatcher({ add: '/', includePaths: [], excludePaths: [] });
  assert.ok(root.isPathMatched(''));
  assert.not.ok(root.shouldGoThrough(''));
});

pm('malformed globs: GlobError with werf message and hint', () => {
  try {
    inc('src/[').isPathMatched('src/x');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, GlobError);
    assert.match((e as GlobError).message, /Failed to match path "src\/x" with glob "src\/\["/);
    assert.match((e as GlobError).hint!, /special characters '\?\[\{'/);
  }
  assert.throws(() => validateGlobs(['ok/**', 'bad{']), (e: unknown) => e instanceof GlobError);
  validateGlobs(['ok/**', 'a/{b,c}', '\\[x\\]']);
});

ds.run();
pm.run();
