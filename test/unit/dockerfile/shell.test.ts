/**
 * Docker's shell-word expansion, cases in the spirit of BuildKit's shell/envVarTest and wordsTest:
 * `input | ProcessWord result`, with env PWD=/home, SHELL=bash, KOREAN=한국어, EMPTY=, A="a b".
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShellLex } from '../../../src/dockerfile/parser/shell';

const t = suite('dockerfile shell lexer');
const env = new Map([['PWD', '/home'], ['SHELL', 'bash'], ['KOREAN', '한국어'], ['EMPTY', ''], ['A', 'a b'], ['FILE', 'archive.tar.gz']]);
const lex = new ShellLex('\\');

const words: [string, string][] = [
  ['hello', 'hello'],
  ['he\'llo\'', 'hello'],
  ['he"llo"', 'hello'],
  ["'hello world'", 'hello world'],
  ['"$PWD"', '/home'],
  ["'$PWD'", '$PWD'],
  ['\\$PWD', '$PWD'],
  ['"\\$PWD"', '$PWD'],
  ['$PWD/x', '/home/x'],
  ['${PWD}x', '/homex'],
  ['$PWDx', ''],
  ['${NOPE}', ''],
  ['${NOPE:-def}', 'def'],
  ['${EMPTY:-def}', 'def'],
  ['${EMPTY-def}', ''],
  ['${NOPE-def}', 'def'],
  ['${PWD:-def}', '/home'],
  ['${PWD:+alt}', 'alt'],
  ['${EMPTY:+alt}', ''],
  ['${EMPTY+alt}', 'alt'],
  ['${NOPE+alt}', ''],
  ['${NOPE:-$PWD}', '/home'],
  ['${NOPE:-"quoted word"}', 'quoted word'],
  ['${NOPE:-${SHELL:-x}}', 'bash'],
  ['$KOREAN', '한국어'],
  ['\\\\', '\\'],
  ['a\\ b', 'a b'],
  ['"a\\b"', 'a\\b'],
  ['"a\\"b"', 'a"b'],
  ["'a\\'", 'a\\'],
  ['$', '$'],
  ['$1', ''],
  ['${FILE#*.}', 'tar.gz'],
  ['${FILE##*.}', 'gz'],
  ['${FILE%.*}', 'archive.tar'],
  ['${FILE%%.*}', 'archive'],
  ['"$A"', 'a b'],
  ['x$A', 'xa b'],
  ['trailing\\', 'trailing'],
];

for (const [input, want] of words) t(`word ${input}`, () => assert.is(lex.processWord(input, env), want));

const split: [string, string[]][] = [
  ['a b c', ['a', 'b', 'c']],
  ['"a b" c', ['a b', 'c']],
  ['$A', ['a', 'b']],
  ['"$A"', ['a b']],
  ['x""', ['x']],
  ['""', ['']],
  ["'' b", ['', 'b']],
  ['a\\ b c', ['a b', 'c']],
  ['${EMPTY}', []],
];
for (const [input, want] of split) t(`words ${input}`, () => assert.equal(lex.processWords(input, env), want));

const errors: [string, RegExp][] = [
  ['"open', /matching double-quote/],
  ["'open", /matching single-quote/],
  ['${', /missing '}'/],
  ['${}', /bad substitution/],
  ['${:x}', /bad substitution/],
  ['${PWD', /missing '}'/],
  ['${PWD:-x', /missing '}'/],
  ['${NOPE:?must be set}', /NOPE: must be set/],
  ['${NOPE?}', /NOPE: is not allowed to be unset/],
  ['${PWD:=x}', /unsupported modifier \(=\)/],
];
for (const [input, re] of errors) t(`error ${input}`, () => assert.throws(() => lex.processWord(input, env), re));

t('backtick escape token', () => {
  const l = new ShellLex('`');
  assert.is(l.processWord('c:\\dir`$PWD', env), 'c:\\dir$PWD');
});

t('env as K=V list, first match wins', () => {
  assert.is(lex.processWord('$X', ['X=1', 'X=2']), '1');
});

t.run();
