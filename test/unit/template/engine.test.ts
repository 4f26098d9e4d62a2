/**
 * Unit tests for the template engine: lexer/parser edge cases, execution semantics, error
 * positions mapped to StapelkitError, the output line map, and the value printing helpers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { renderWerfConfig, RenderWerfOptions } from '../../../src/template/index';
import { StapelkitError } from '../../../src/errors';
import { formatFloat, sprintf } from '../../../src/template/fmt';
import { GoInt, GoList, GoMap } from '../../../src/template/value';
import { marshalYamlV2 } from '../../../src/template/yaml';
import { compileGoRegexp, goRegexReplaceAll } from '../../../src/template/regexp';

const files = {
  get: (p: string): string => {
    if (p === 'a.txt') return 'A';
    throw new Error(`{{ .Files.Get "${p}" }}: file "${p}" not found`);
  },
  glob: () => ({}),
  exists: (p: string) => p === 'a.txt',
  isDir: () => false,
};

function opts(text: string, extra: Partial<RenderWerfOptions> = {}): RenderWerfOptions {
  return {
    main: { name: 'werf.yaml', text },
    templates: [],
    files,
    commit: { hash: 'deadbeef', date: new Date('2024-03-05T14:07:09Z') },
    envName: 'dev',
    lookupEnv: () => undefined,
    allowEnv: () => false,
    ...extra,
  };
}

const render = (text: string, extra: Partial<RenderWerfOptions> = {}) => renderWerfConfig(opts(text, extra)).text;

function renderError(text: string, extra: Partial<RenderWerfOptions> = {}): StapelkitError {
  try {
    renderWerfConfig(opts(text, extra));
  } catch (e) {
    assert.instance(e, StapelkitError);
    return e as StapelkitError;
  }
  throw new Error('expected an error');
}

test('trim markers need a space; "{{-3}}" is a negative number', () => {
  assert.is(render('a {{- 1 -}} b'), 'a1b');
  assert.is(render('a {{-3}} b'), 'a -3 b');
});

test('comments with trim markers remove surrounding whitespace', () => {
  assert.is(render('a\n  {{- /* x */ -}}\n  b'), 'ab');
});

test('parse error carries file and line', () => {
  const e = renderError('ok\nok\n{{ if }}');
  assert.is(e.code, 'TEMPLATE_PARSE');
  assert.equal(e.pos, { file: 'werf.yaml', line: 3 });
  assert.is(e.message, 'template: werfConfig:3: missing value for if');
});

test('unclosed action reports the line where the action started', () => {
  const e = renderError('x\n{{ "a"\n\n');
  assert.match(e.message, /unclosed action/);
});

test('exec error maps Go 0-based column to 1-based pos.column', () => {
  const e = renderError('a: 1\nb: {{ index 1 2 }}');
  assert.is(e.code, 'TEMPLATE_EXEC');
  assert.is(e.message, 'template: werfConfig:2:6: executing "werfConfig" at <index 1 2>: error calling index: can\'t index item of type int');
  assert.equal(e.pos, { file: 'werf.yaml', line: 2, column: 7 });
});

test('column counts bytes like Go for non-ASCII text', () => {
  const e = renderError('é{{ index 1 2 }}');
  assert.match(e.message, /^template: werfConfig:1:5: /);
});

test('error inside a partial points at the partial file', () => {
  const e = renderError('{{ include "p" . }}', { templates: [{ name: 'partials/p.tmpl', text: '{{ define "p" }}\n\n  {{ index 1 2 }}{{ end }}' }] });
  assert.is(e.pos?.file, '.werf/partials/p.tmpl');
  assert.is(e.pos?.line, 3);
  assert.is(e.pos?.column, 6);
  assert.match(e.message, /error calling include: template: partials\/p.tmpl:3:5: executing "p" at <index 1 2>/);
});

test('env gate refusal is TEMPLATE_ENV with werf text', () => {
  const e = renderError('{{ env "SECRET" }}');
  assert.is(e.code, 'TEMPLATE_ENV');
  assert.match(e.message, /env name 'SECRET' not allowed/);
  const e2 = renderError('{{ env "X" }}', { allowEnv: () => true });
  assert.is(e2.code, 'TEMPLATE_ENV');
  assert.match(e2.message, /the environment variable "X" must be set or default must be provided/);
  assert.is(render('{{ env "X" }}', { allowEnv: () => true, looseEnv: true }), '');
  assert.is(render('{{ env "X" }}', { allowEnv: () => true, lookupEnv: () => 'v' }), 'v');
});

test('lineMap: literal lines map exactly, action output maps to the action line', () => {
  const text = 'a: 1\n{{- range list 1 2 }}\nb{{ . }}: x\n{{- end }}\nc: {{ "multi\\nline" }}\nd: 2\n';
  const r = renderWerfConfig(opts(text));
  assert.is(r.text, 'a: 1\nb1: x\nb2: x\nc: multi\nline\nd: 2\n');
  const lines = r.lineMap.map((l) => l.line);
  assert.equal(lines.slice(0, 6), [1, 3, 3, 5, 5, 6]);
  assert.is(r.lineMap.length, r.text.split('\n').length);
});

test('lineMap follows {{template}} into partial files', () => {
  const r = renderWerfConfig(opts('x\n{{ template "t" }}\ny', { templates: [{ name: 'a.tmpl', text: '{{ define "t" }}\nfrom partial\n{{ end }}' }] }));
  assert.is(r.text, 'x\n\nfrom partial\n\ny');
  assert.equal(r.lineMap[2], { file: '.werf/a.tmpl', line: 2 });
  assert.equal(r.lineMap[4], { file: 'werf.yaml', line: 3 });
});

const imagePartial = {
  name: 'image.tmpl',
  text: '{{- define "image" -}}\nimage: {{ .name }}\nfrom: alpine\nshell:\n  install:\n  - echo hi\n{{- end }}\n',
};
const at = (r: { lineMap: { file: string; line: number }[] }) => r.lineMap.map((l) => `${l.file}:${l.line}`);

test('lineMap follows include into the partial file and line', () => {
  const main = 'project: p\nconfigVersion: 1\n---\n{{ include "image" (dict "name" "app") }}\n---\nimage: b\n';
  const r = renderWerfConfig(opts(main, { templates: [imagePartial] }));
  assert.is(r.text, 'project: p\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\nshell:\n  install:\n  - echo hi\n---\nimage: b\n');
  assert.equal(at(r).slice(0, 10), [
    'werf.yaml:1', 'werf.yaml:2', 'werf.yaml:3',
    '.werf/image.tmpl:2', '.werf/image.tmpl:3', '.werf/image.tmpl:4', '.werf/image.tmpl:5', '.werf/image.tmpl:6',
    'werf.yaml:5', 'werf.yaml:6',
  ]);
  assert.is(r.lineMap.length, r.text.split('\n').length);
});

test('lineMap follows include through nindent, variables, nested includes and {{template}}; tpl text stays at the call', () => {
  const partials = [
    imagePartial,
    { name: 'outer.tmpl', text: '{{ define "outer" }}\nimages:{{ include "image" . | nindent 2 }}\n{{- template "tail" }}{{ end }}' },
    { name: 'tail.tmpl', text: '{{ define "tail" }}\ntail: 1{{ end }}' },
  ];
  const main = 'a:{{ include "image" (dict "name" "x") | nindent 2 }}\n{{ $v := include "image" (dict "name" "y") }}{{ $v }}\n{{ include "outer" (dict "name" "z") }}\n{{ tpl "t: 1\\nu: 2" . }}\n';
  const r = renderWerfConfig(opts(main, { templates: partials }));
  const lines = r.text.split('\n');
  assert.equal(lines.slice(0, 6), ['a:', '  image: x', '  from: alpine', '  shell:', '    install:', '    - echo hi']);
  const m = at(r);
  assert.equal(m.slice(0, 6), ['werf.yaml:1', '.werf/image.tmpl:2', '.werf/image.tmpl:3', '.werf/image.tmpl:4', '.werf/image.tmpl:5', '.werf/image.tmpl:6']);
  // a variable holding the include output, printed later
  assert.is(lines[6], 'image: y');
  assert.equal(m.slice(6, 11), ['.werf/image.tmpl:2', '.werf/image.tmpl:3', '.werf/image.tmpl:4', '.werf/image.tmpl:5', '.werf/image.tmpl:6']);
  // include inside an include, and {{template}} inside an include
  assert.equal(lines.slice(11, 19), ['', 'images:', '  image: z', '  from: alpine', '  shell:', '    install:', '    - echo hi', 'tail: 1']);
  assert.equal(m.slice(12, 19), [
    '.werf/outer.tmpl:2', '.werf/image.tmpl:2', '.werf/image.tmpl:3', '.werf/image.tmpl:4', '.werf/image.tmpl:5', '.werf/image.tmpl:6',
    '.werf/tail.tmpl:2',
  ]);
  // a tpl string has no file of its own: its lines stay at the tpl call
  assert.equal(lines.slice(19, 21), ['t: 1', 'u: 2']);
  assert.equal(m.slice(19, 21), ['werf.yaml:4', 'werf.yaml:4']);
});

test('lineMap: a line begun by werf.yaml text or a blank nindent line stays at the include call', () => {
  const main = 'x: 1\nk: {{ include "image" (dict "name" "a") }}\n{{ include "image" (dict "name" "b") | nindent 4 }}\n';
  const r = renderWerfConfig(opts(main, { templates: [imagePartial] }));
  const lines = r.text.split('\n');
  assert.equal([lines[1], lines[6], lines[7]], ['k: image: a', '', '    image: b']);
  assert.equal(at(r).slice(1, 8), ['werf.yaml:2', '.werf/image.tmpl:3', '.werf/image.tmpl:4', '.werf/image.tmpl:5', '.werf/image.tmpl:6', 'werf.yaml:3', '.werf/image.tmpl:2']);
});

test('root data: .Env, .Commit, .Files', () => {
  assert.is(render('{{ .Env }} {{ .Commit.Hash }} {{ .Commit.Date.Unix }} {{ .Commit.Date.Human }}'), 'dev deadbeef 1709647629 2024-03-05 14:07:09 +0000 +0000');
  const east = renderWerfConfig(opts('{{ .Commit.Date.Human }}', { commit: { hash: 'x', date: new Date('2024-03-05T14:07:09Z'), tzOffsetMinutes: 90 } }));
  assert.is(east.text, '2024-03-05 15:37:09 +0130 +0130');
  assert.is(render('{{ .Files.Get "a.txt" }} {{ .Files.Exists "a.txt" }} {{ .Files.IsDir "a.txt" }}'), 'A true false');
  const e = renderError('{{ .Files.Get "b" }}');
  assert.match(e.message, /error calling Get: \{\{ \.Files\.Get "b" \}\}: file "b" not found/);
});

test('include recursion is bounded instead of overflowing the stack', () => {
  const e = renderError('{{ define "r" }}{{ include "r" . }}{{ end }}{{ include "r" . }}');
  assert.match(e.message, /maximum template call depth/);
});

test('range over int (Go 1.22) and break/continue', () => {
  assert.is(render('{{ range $i := 4 }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}{{ end }}'), '02');
});

test('break is an identifier-free keyword only inside range', () => {
  assert.is(renderError('{{ continue }}').message, 'template: werfConfig:1: {{continue}} outside {{range}}');
});

test('formatFloat matches strconv shortest and fixed precision (half-even on exact ties)', () => {
  assert.is(formatFloat(1e6, 'g', -1), '1e+06');
  assert.is(formatFloat(123456, 'g', -1), '123456');
  assert.is(formatFloat(0.0001, 'g', -1), '0.0001');
  assert.is(formatFloat(0.00001, 'g', -1), '1e-05');
  assert.is(formatFloat(2.5, 'f', 0), '2');
  assert.is(formatFloat(3.5, 'f', 0), '4');
  assert.is(formatFloat(0.125, 'f', 2), '0.12');
  assert.is(formatFloat(1.005, 'f', 2), '1.00');
});

test('sprintf annotations', () => {
  assert.is(sprintf('%d', ['x']), '%!d(string=x)');
  assert.is(sprintf('%d %d', [new GoInt(1n)]), '1 %!d(MISSING)');
  assert.is(sprintf('x', [new GoInt(1n)]), 'x%!(EXTRA int=1)');
  assert.is(sprintf('%v', [new GoList([new GoInt(1n), null, 'a'])]), '[1 <nil> a]');
  assert.is(sprintf('%v', [GoMap.fromObject({ b: 2.5, a: true })]), 'map[a:true b:2.5]');
});

test('yaml.v2 emitter style', () => {
  const m = GoMap.fromObject({ list: new GoList(['a', new GoInt(1n)]), s: 'x: y', e: '', nested: GoMap.fromObject({ k: 'multi\nline' }) });
  assert.is(marshalYamlV2(m), 'e: ""\nlist:\n- a\n- 1\nnested:\n  k: |-\n    multi\n    line\ns: \'x: y\'\n');
});

test('regexp: Go expansion, refused constructs, scoped flags', () => {
  const re = compileGoRegexp('a(x*)b', false);
  assert.is(goRegexReplaceAll(re, '-ab-axxb-', '$1W', false), '---');
  assert.is(goRegexReplaceAll(re, '-ab-axxb-', '${1}W', false), '-W-xxW-');
  assert.throws(() => compileGoRegexp('(a)\\1', false), /invalid escape sequence/);
  assert.throws(() => compileGoRegexp('a(?=b)', false), /invalid or unsupported Perl syntax/);
  // scoped flags are Go syntax: only the group folds case
  const scoped = compileGoRegexp('a(?i:b)', false);
  assert.ok(scoped.test('aB'));
  assert.not.ok(scoped.test('AB'));
});

test('a file reader error keeps its code (e.g. a giterminism refusal)', () => {
  const e = renderError('{{ .Files.Get "x" }}', {
    files: { ...files, get: () => { throw new StapelkitError('GITERMINISM_UNCOMMITTED', 'the file "x" changes must be committed'); } },
  });
  assert.is(e.code, 'GITERMINISM_UNCOMMITTED');
  assert.match(e.message, /error calling Get: the file "x" changes must be committed/);
});

test('templates[].file names the partial in positions', () => {
  const e = renderError('{{ template "t" }}', { templates: [{ name: 't.tmpl', file: 'custom/dir/t.tmpl', text: '{{ define "t" }}{{ index 1 1 }}{{ end }}' }] });
  assert.is(e.pos?.file, 'custom/dir/t.tmpl');
});

test('parse error in a partial points at the partial', () => {
  const e = renderError('ok', { templates: [{ name: 'p.tmpl', text: 'a\n{{ if }}' }] });
  assert.is(e.code, 'TEMPLATE_PARSE');
  assert.equal(e.pos, { file: '.werf/p.tmpl', line: 2 });
  assert.is(e.message, 'template: p.tmpl:2: missing value for if');
});

test('errors inside a tpl string point at the tpl call', () => {
  const e = renderError('a\nb: {{ tpl "{{ index 1 1 }}" . }}');
  assert.equal(e.pos, { file: 'werf.yaml', line: 2, column: 7 });
  assert.match(e.message, /error calling tpl: template: tpl-\d+:1:3: executing "tpl-\d+" at <index 1 1>/);
});

test.run();
