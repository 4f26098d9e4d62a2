import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PatternMatcher, goMatch, matchPrefix, BadPatternError } from '../../../src/session/patterns';
import { cleanPath } from '../../../src/util/gopath';

// Cases follow Go's path/filepath match_test.go (Unix).
const goMatchCases: [string, string, boolean | 'bad'][] = [
  ['abc', 'abc', true], ['*', 'abc', true], ['*c', 'abc', true], ['a*', 'a', true], ['a*', 'abc', true],
  ['a*', 'ab/c', false], ['a*/b', 'abc/b', true], ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true], ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false], ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true], ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true], ['ab[b-d]', 'abc', true], ['ab[e-g]', 'abc', false], ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false], ['ab[^e-g]', 'abc', true], ['a\\*b', 'a*b', true], ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true], ['a[^a]b', 'a☺b', true], ['a???b', 'a☺b', false], ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true], ['*[a-ζ]', 'A', false], ['a?b', 'a/b', false], ['a*b', 'a/b', false],
  ['[\\]a]', ']', true], ['[\\-]', '-', true], ['[x\\-]', 'x', true], ['[x\\-]', '-', true], ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true], ['[\\-x]', '-', true], ['[\\-x]', 'a', false],
  ['[]a]', ']', 'bad'], ['[-]', '-', 'bad'], ['[x-]', 'x', 'bad'], ['[x-]', '-', 'bad'], ['[x-]', 'z', 'bad'],
  ['[-x]', 'x', 'bad'], ['[-x]', '-', 'bad'], ['[-x]', 'a', 'bad'], ['\\', 'a', 'bad'], ['[a-b-c]', 'a', 'bad'],
  ['[', 'a', 'bad'], ['[^', 'a', 'bad'], ['[^bc', 'a', 'bad'], ['a[', 'a', 'bad'], ['a[', 'ab', 'bad'],
  ['a[', 'x', 'bad'], ['a/b[', 'x', 'bad'], ['*x', 'xxx', true],
];

test('goMatch follows filepath.Match', () => {
  for (const [pat, name, want] of goMatchCases) {
    if (want === 'bad') assert.throws(() => goMatch(pat, name), (e: unknown) => e instanceof BadPatternError, `${pat} ~ ${name}`);
    else assert.is(goMatch(pat, name), want, `${pat} ~ ${name}`);
  }
});

// Docker's fileutils TestMatches (moby v20.10): one pattern each, via PatternMatcher.Matches.
const dockerCases: [string, string, boolean][] = [
  ['**', 'file', true], ['**', 'file/', true], ['**/', 'file', true], ['**/', 'file/', true], ['**', '/', true],
  ['**/', '/', true], ['**', 'dir/file', true], ['**/', 'dir/file', true], ['**', 'dir/file/', true],
  ['**/', 'dir/file/', true], ['**/**', 'dir/file', true], ['**/**', 'dir/file/', true], ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/file/', true], ['dir/**', 'dir/dir2/file', true], ['dir/**', 'dir/dir2/file/', true],
  ['**/dir2/*', 'dir/dir2/file', true], ['**/dir2/*', 'dir/dir2/file/', true], ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file/', true], ['**file', 'file', true], ['**file', 'dir/file', true],
  ['**/file', 'dir/file', true], ['**file', 'dir/dir/file', true], ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file', true], ['**/file*', 'dir/dir/file.txt', true], ['**/file*txt', 'dir/dir/file.txt', true],
  ['**/file*.txt', 'dir/dir/file.txt', true], ['**/file*.txt*', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true], ['**/**/*.txt2', 'dir/dir/file.txt', false], ['**/*.txt', 'file.txt', true],
  ['**/**/*.txt', 'file.txt', true], ['a**/*.txt', 'a/file.txt', true], ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true], ['a/*.txt', 'a/dir/file.txt', false], ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true], ['a[b-d]e', 'ae', false], ['a[b-d]e', 'ace', true], ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true], ['.*', '.foo', true], ['.*', 'foo', false], ['abc.def', 'abcdef', false],
  ['abc.def', 'abc.def', true], ['abc.def', 'abcZdef', false], ['abc?def', 'abcZdef', true], ['abc?def', 'abcdef', false],
  ['a\\\\', 'a\\', true], ['**/foo/bar', 'foo/bar', true], ['**/foo/bar', 'dir/foo/bar', true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true], ['abc/**', 'abc', false], ['abc/**', 'abc/def', true],
  ['abc/**', 'abc/def/ghi', true], ['**/.foo', '.foo', true], ['**/.foo', 'bar.foo', false],
];

test('PatternMatcher follows Docker pattern semantics (**, classes, escapes)', () => {
  for (const [pat, text, want] of dockerCases) {
    assert.is(new PatternMatcher([pat]).matches(text), want, `${pat} ~ ${text}`);
  }
});

test('PatternMatcher: exceptions, parent directories, order, cleaning', () => {
  const m = (pats: string[], file: string) => new PatternMatcher(pats).matches(file);
  assert.ok(m(['*.go'], 'fileutils.go'));
  assert.not.ok(m(['*.go', '!fileutils.go'], 'fileutils.go'));
  assert.ok(m(['!fileutils.go', '*.go'], 'fileutils.go'), 'a later pattern wins');
  assert.ok(m(['docs'], 'docs/README.md'), 'a matching parent dir excludes children');
  assert.not.ok(m(['docs', '!docs/README.md'], 'docs/README.md'));
  assert.ok(m(['docs', '!docs/README.md'], 'docs/other.md'));
  assert.not.ok(m(['a', '!a/b'], 'a/b/c'), 'exception applies to a parent too');
  assert.ok(m(['./node_modules/'], 'node_modules/x/y.js'), 'patterns are cleaned');
  assert.not.ok(m(['*.md'], 'docs/README.md'), '* does not cross directories');
  assert.ok(m(['*/*.md'], 'docs/README.md'));
  assert.not.ok(m(['  '], 'x'), 'blank patterns are ignored');
  assert.ok(m(['a+b'], 'a+b') === false, 'like Docker, + is passed to the regexp as a quantifier');
  assert.ok(m(['a+b'], 'aab'));
  assert.throws(() => new PatternMatcher(['!']), /illegal exclusion/);
  assert.throws(() => new PatternMatcher(['[']), (e: unknown) => e instanceof BadPatternError);
  const pm = new PatternMatcher(['x', '!x/keep']);
  assert.ok(pm.hasExclusions);
  assert.equal(pm.patterns.map((p) => [p.text, p.exclusion]), [['x', false], ['x/keep', true]]);
});

test('matchPrefix accepts parents of deeper include patterns', () => {
  assert.equal(matchPrefix('src/lib/*.txt', 'src'), { matched: true, partial: true });
  assert.equal(matchPrefix('src/lib/*.txt', 'src/lib'), { matched: true, partial: true });
  assert.equal(matchPrefix('src/lib/*.txt', 'src/lib/a.txt'), { matched: true, partial: false });
  assert.equal(matchPrefix('src/lib/*.txt', 'other'), { matched: false, partial: true });
  assert.equal(matchPrefix('s*', 'src/x'), { matched: false, partial: false });
});

test('cleanPath follows path.Clean', () => {
  const cases: [string, string][] = [['', '.'], ['a/', 'a'], ['./a', 'a'], ['a//b', 'a/b'], ['a/./b/..', 'a'], ['../a', '../a'], ['/..', '/'], ['a/../..', '..'], ['/a/b/', '/a/b']];
  for (const [i, o] of cases) assert.is(cleanPath(i), o, i);
  // Paths that are clean already come back as they are (the fast path), the others as path.Clean makes them.
  for (const p of ['/', '.', '..', 'a', '/a/b', 'a/b.c', '.a/..b/...', '/a/.x', 'a..', '../../a']) assert.is(cleanPath(p), p, p);
  for (const [i, o] of [['//', '/'], ['/.', '/'], ['a/.', 'a'], ['a/..', '.'], ['/a/./b', '/a/b'], ['a/b/', 'a/b'], ['./', '.'], ['../a/', '../a']] as const) assert.is(cleanPath(i), o, i);
});

test.run();
