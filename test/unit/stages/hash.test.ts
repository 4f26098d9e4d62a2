/** Go formatting helpers the digests and the script depend on. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { goQuote } from '../../../src/stages';
import { goSortStrings, mapToSortedArgs } from '../../../src/stages/hash';
import { dockerCommandString } from '../../../src/stages/docker-instructions';
import { goHealthcheckString, removeMatcher } from '../../../src/stages/image-spec';
import { expandWord, parseGoDuration, parseHealthcheck } from '../../../src/stages/image-config';

test("goQuote is strconv.Quote (what werf's %q prints)", () => {
  assert.is(goQuote('make "all"'), '"make \\"all\\""');
  assert.is(goQuote('a\tb\x01\x7f\\'), '"a\\tb\\x01\\x7f\\\\"');
  assert.is(goQuote('é☺ 日本'), '"é☺ 日本"');
  assert.is(goQuote('\u200b\u00a0'), '"\\u200b\\u00a0"');
  assert.is(goQuote('\u{1F600}'), '"\u{1F600}"');
  assert.is(goQuote('\u{E0001}'), '"\\U000e0001"');
});

test('Go sort order and werf map args', () => {
  assert.equal(goSortStrings(['b', 'B', 'a', 'é', 'z']), ['B', 'a', 'b', 'z', 'é']);
  assert.equal(mapToSortedArgs({ b: '2', a: '1' }), ['a', '1', 'b', '2']);
});

test('docker command strings, healthchecks, durations', () => {
  assert.is(dockerCommandString(['a', 'b c']), '["a", "b c"]');
  assert.is(dockerCommandString([]), '[]');
  assert.is(dockerCommandString('run it'), 'run it');
  assert.equal(parseHealthcheck('--interval=30s --retries=3 CMD ["curl", "-f", "x"]'), { Interval: 30e9, Retries: 3, Test: ['CMD', 'curl', '-f', 'x'] });
  assert.equal(parseHealthcheck('NONE'), { Test: ['NONE'] });
  assert.is(parseGoDuration('1m30.5s'), 90.5e9);
  assert.throws(() => parseGoDuration('10'), /invalid duration/);
  assert.is(goHealthcheckString(undefined), '<nil>');
  assert.is(goHealthcheckString({ test: ['CMD', 'x'], interval: 5, retries: 2 }), '&{[CMD x] 5 0 0 2}');
});

test('imageSpec remove patterns and env word expansion', () => {
  const m = removeMatcher(['exact', '/org\\..*/']);
  assert.ok(m('exact'));
  assert.ok(m('org.x'));
  assert.not.ok(m('xorg.x'), 'regexes are anchored');
  assert.not.ok(m('exact2'));
  // werf splices the pattern into ^…$ without a group: an alternation anchors each side only.
  const alt = removeMatcher(['/a|b/']);
  assert.ok(alt('a') && alt('abc') && alt('xb'), 'as Go matches ^a|b$');
  assert.not.ok(alt('xa'));
  // Go's syntax and errors: \pL is a letter class in Go (not in a JS regexp without the u flag).
  assert.ok(removeMatcher(['/\\pL+/'])('label'));
  assert.throws(() => removeMatcher(['/(/']), /invalid regular expression \/\(\/: error parsing regexp: missing closing \)/);
  const env = ['PATH=/bin', 'HOME=/root'];
  assert.is(expandWord('${PATH}:/opt', env), '/bin:/opt');
  assert.is(expandWord('$HOME/x', env), '/root/x');
  assert.is(expandWord('${NOPE:-def}', env), 'def');
  assert.is(expandWord('${HOME:+set}', env), 'set');
  assert.is(expandWord("'$HOME' \"$HOME\" \\$HOME", env), '$HOME /root $HOME');
});

test.run();
