/**
 * YAML resource limits and character rules (yaml.v2's): alias bombs anywhere in a document, deep
 * nesting, control characters, invalid UTF-8 — each refused with a positioned message, quickly.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { Document, parseDocument } from 'yaml';
import { defaultGiterminism, parseGiterminism, parseRendered } from '../../../src/config';
import { loadProject } from '../../../src/project';
import { StapelkitError } from '../../../src/errors';
import { renderWerfConfig } from '../../../src/template';
import { checkAliasExpansion, checkUtf8, checkYamlChars } from '../../../src/util/yaml-limits';
import { makeRepo, removeRepo } from '../git/repo';

const t = suite('config/yaml-limits');

function parse(text: string) {
  return parseRendered(text, (line) => ({ file: 'werf.yaml', line }), {
    commit: { hash: 'c'.repeat(40), date: new Date(0) },
    env: '',
    giterminism: { present: false, config: defaultGiterminism() },
    environ: {},
    configFile: 'werf.yaml',
    projectDirName: 'x',
  });
}
function err(fn: () => unknown): StapelkitError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StapelkitError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

/** A billion-laughs document: 9 levels of 9 aliases each (~400 bytes, 9^9 nodes expanded). */
function bomb(indent: string): string {
  let s = `${indent}a0: &a0 ["x","x","x","x","x","x","x","x","x"]\n`;
  for (let i = 1; i < 9; i++) s += `${indent}a${i}: &a${i} [${Array(9).fill(`*a${i - 1}`).join(',')}]\n`;
  return s;
}
const META = 'project: demo\nconfigVersion: 1\n';
const BOMB_MSG = 'YAML: document contains excessive aliasing';

t('an alias bomb is refused wherever it sits, positioned at the alias being expanded', () => {
  assert.ok(bomb('  ').length < 450);
  const cases: [string, string][] = [
    [`${META}deploy:\n${bomb('  ')}`, 'werf.yaml:7:28: document #1: '],
    [`${META}cleanup:\n${bomb('  ')}`, 'werf.yaml:7:28: document #1: '],
    [`${META}---\nimage: x\ndockerfile: Dockerfile\nargs:\n${bomb('  ')}`, 'werf.yaml:10:28: document #2: '],
    [`${META}---\nimage: x\nfrom: alpine\nx-anchors:\n${bomb('  ')}`, 'werf.yaml:10:28: document #2: '],
  ];
  for (const [text, prefix] of cases) {
    const started = Date.now();
    const e = err(() => parse(text));
    assert.ok(Date.now() - started < 5000, 'refused before expanding');
    assert.is(e.code, 'CONFIG_YAML');
    assert.is(e.format().slice(0, prefix.length + BOMB_MSG.length), prefix + BOMB_MSG);
    assert.match(e.hint ?? '', /expanding \*a2 here decodes more nodes than werf's YAML parser allows/);
  }
});

t('moderate alias use (merge keys, shared lists) is accepted like yaml.v2 accepts it', () => {
  const text = `${META}---\nimage: x\nfrom: alpine\nshell:\n  install: &cmds [a, b, c]\n  setup: *cmds\nimageSpec: &spec\n  config:\n    env: &env {A: "1", B: "2"}\n`;
  const m = parse(text);
  assert.equal((m.images[0] as { shell: { setup: string[] } }).shell.setup, ['a', 'b', 'c']);
  // 3 levels of 9 (81 expansions) stay under yaml.v2's limit.
  const small = parseDocument('a0: &a0 [x,x,x,x,x,x,x,x,x]\na1: &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0]\na2: [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1]\n');
  assert.is(checkAliasExpansion(small as Document), undefined);
});

t('an anchor containing itself is refused, not walked forever', () => {
  const e = err(() => parse(`${META}deploy:\n  a: &a [1, *a]\n`));
  assert.is(e.format(), "werf.yaml:4:13: document #1: YAML: anchor 'a' value contains itself");
});

t('10,000-level nesting gets a positioned message, not a stack overflow', () => {
  for (const [open, close] of [['[', ']'], ['{a: ', '}']]) {
    const e = err(() => parse(`${META}deploy:\n  x: ${open.repeat(10_000)}${close.repeat(10_000)}\n`));
    assert.is(e.code, 'CONFIG_YAML');
    assert.match(e.format(), /^werf\.yaml:4:\d+: document #1: YAML: nesting exceeds the maximum depth of 500 levels/);
  }
  let block = `${META}deploy:\n`;
  for (let i = 1; i <= 10_000; i++) block += `${' '.repeat(i)}k:\n`;
  const e = err(() => parse(block));
  assert.match(e.format(), /^werf\.yaml:50\d:\d+: document #1: YAML: nesting exceeds the maximum depth of 500 levels/);
  // 400 levels are fine.
  parse(`${META}deploy:\n  x: ${'['.repeat(400)}${']'.repeat(400)}\n`);
});

t('control characters are refused as yaml.v2 refuses them; tab, NEL and printable Unicode pass', () => {
  const e = err(() => parse(`${META}---\nimage: x\nfrom: alpine\nshell:\n  install: "echo \x01"\n`));
  assert.is(e.format().split(' (')[0], 'werf.yaml:7:18: document #2: YAML: control characters are not allowed');
  assert.match(e.message, /U\+0001/);
  for (const c of ['\x00', '\x07', '\x1b', '\x7f', '\x80', '\x9f', '\ufffe', '\uffff', '\ud800']) {
    assert.ok(checkYamlChars(`a: "${c}"`), `U+${c.charCodeAt(0).toString(16)} refused`);
  }
  for (const c of ['\t', '\r', '\x85', '\xa0', 'é', '\ud7ff', '\ue000', '\ufffd', '😀']) {
    assert.is(checkYamlChars(`a: "${c}"`), undefined, `U+${c.codePointAt(0)!.toString(16)} allowed`);
  }
});

t('invalid UTF-8: libyaml messages at the byte', () => {
  assert.equal(checkUtf8(Buffer.from([0x61, 0xff])), { message: 'invalid leading UTF-8 octet 0xff', offset: 1 });
  assert.equal(checkUtf8(Buffer.from([0xc3])), { message: 'incomplete UTF-8 octet sequence', offset: 0 });
  assert.equal(checkUtf8(Buffer.from([0xc3, 0x41])), { message: 'invalid trailing UTF-8 octet 0x41', offset: 1 });
  assert.equal(checkUtf8(Buffer.from([0xc0, 0x80])), { message: 'invalid length of a UTF-8 sequence', offset: 0 });
  assert.equal(checkUtf8(Buffer.from([0xed, 0xa0, 0x80])), { message: 'invalid Unicode character', offset: 0 });
  assert.is(checkUtf8(Buffer.from('héllo 😀', 'utf8')), undefined);
});

t('werf.yaml and templates that are not UTF-8 are refused with file, line and column', () => {
  const dir = makeRepo({ 'werf.yaml': 'project: demo\nconfigVersion: 1\n---\nimage: x\nfrom: alpine\nshell:\n  install: echo é\xff\n' });
  try {
    // makeRepo writes strings as UTF-8: put the raw byte in and commit it.
    const fs = require('node:fs') as typeof import('node:fs');
    const path = require('node:path') as typeof import('node:path');
    const buf = Buffer.concat([Buffer.from('project: demo\nconfigVersion: 1\n---\nimage: x\nfrom: alpine\nshell:\n  install: echo é'), Buffer.from([0xff, 0x0a])]);
    fs.writeFileSync(path.join(dir, 'werf.yaml'), buf);
    const { git } = require('../git/repo') as typeof import('../git/repo');
    git(dir, 'commit', '-qam', 'binary');
    const e = err(() => loadProject({ dir, environ: {} }));
    assert.is(e.format(), 'werf.yaml:7:18: YAML: invalid leading UTF-8 octet 0xff: the file is not valid UTF-8');
  } finally {
    removeRepo(dir);
  }
});

t('werf-giterminism.yaml gets the same limits', () => {
  const e = err(() => parseGiterminism(`giterminismConfigVersion: 1\nx:\n${bomb('  ')}`, 'werf-giterminism.yaml'));
  assert.is(e.code, 'GITERMINISM');
  assert.match(e.format(), /^werf-giterminism\.yaml:6:24: YAML: document contains excessive aliasing/);
  const c = err(() => parseGiterminism('giterminismConfigVersion: 1\nx: "\x02"\n', 'werf-giterminism.yaml'));
  assert.match(c.format(), /^werf-giterminism\.yaml:2:5: YAML: control characters are not allowed/);
});

t('fromYaml refuses an alias bomb and deep nesting as yaml.v2 does', () => {
  const files = { get: () => '', glob: () => ({}), exists: () => false, isDir: () => false };
  const render = (text: string) =>
    renderWerfConfig({ main: { name: 'werf.yaml', text }, templates: [], files, commit: { hash: 'c'.repeat(40), date: new Date(0) }, envName: '', lookupEnv: () => undefined, allowEnv: () => false });
  const quoted = JSON.stringify(bomb(''));
  const started = Date.now();
  const e = err(() => render(`{{ $x := fromYaml ${quoted} }}`));
  assert.ok(Date.now() - started < 5000);
  assert.match(e.message, /error calling fromYaml: yaml: document contains excessive aliasing$/);
  const deep = err(() => render(`{{ $x := fromYaml ${JSON.stringify('x: ' + '['.repeat(10_000) + ']'.repeat(10_000))} }}`));
  assert.match(deep.message, /error calling fromYaml: yaml: nesting exceeds the maximum depth of 500 levels$/);
});

t.run();
