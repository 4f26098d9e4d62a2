/**
 * Template errors as config reports them (an include recursion is said once, with the chain's
 * start) and werf's --debug-templates logging.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { StapelkitError } from '../../../src/errors';
import { renderWerfConfig } from '../../../src/template';
import { adler32 } from '../../../src/template/sprig';

const t = suite('config/template-errors');
const files = { get: () => '', glob: () => ({}), exists: () => false, isDir: () => false };

function renderErr(main: string, templates: { name: string; text: string }[] = []): StapelkitError {
  try {
    renderWerfConfig({ main: { name: 'werf.yaml', text: main }, templates, files, commit: { hash: 'c'.repeat(40), date: new Date(0) }, envName: '', lookupEnv: () => undefined, allowEnv: () => false });
  } catch (e) {
    if (e instanceof StapelkitError) return e;
    throw e;
  }
  throw new Error('expected an error');
}

t('a template including itself: the first frames, the cycle once with its count, the innermost error', () => {
  const e = renderErr('{{ define "a" }}{{ include "a" . }}{{ end }}\nimage: x\nx: {{ include "a" . }}\n');
  assert.is(
    e.message,
    'template: werfConfig:3:6: executing "werfConfig" at <include "a" .>: error calling include: ' +
      'template: werfConfig:1:19: executing "a" at <include "a" .>: error calling include: ' +
      '[the call above repeats 199 times: a template includes itself] ' +
      'template: a: exceeded maximum template call depth (200) of Stapelkit',
  );
  assert.ok(e.message.length < 400);
});

t('a two-template cycle (a → b → a) is shown as one cycle of two calls', () => {
  const e = renderErr('x: {{ include "a" . }}\n', [{ name: '_h.tmpl', text: '{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}{{ include "a" . }}{{ end }}' }]);
  assert.match(e.message, /^template: werfConfig:1:6: executing "werfConfig" at <include "a" \.>: error calling include: template: _h\.tmpl:1:19: executing "a" at <include "b" \.>: error calling include: template: _h\.tmpl:1:\d+: executing "b" at <include "a" \.>: error calling include: \[the 2 calls above repeat \d+ times: a template includes itself\] /);
  assert.ok(e.message.length < 500);
});

t('a plain include chain without repetition stays as it is', () => {
  const e = renderErr('x: {{ include "a" . }}\n', [{ name: '_h.tmpl', text: '{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}{{ fail "boom" }}{{ end }}' }]);
  assert.not.match(e.message, /repeat/);
  assert.match(e.message, /error calling fail: boom$/);
});

t('--debug-templates: the *_debug functions log like werf and include/tpl ones return their result; silent without it', () => {
  const text = '{{ define "a" }}A{{ .x }}{{ end }}[{{ include_debug "a" (dict "x" 1) }}][{{ tpl_debug "{{ 2 }}" . }}][{{ printf_debug "%s-%d" "v" 3 }}][{{ dump_debug (list 1 "b") }}]\n';
  const logged: string[] = [];
  const opts = { main: { name: 'werf.yaml', text }, templates: [], files, commit: { hash: 'c'.repeat(40), date: new Date(0) }, envName: '', lookupEnv: () => undefined, allowEnv: () => false };
  const on = renderWerfConfig({ ...opts, debugTemplates: true, debugLog: (s) => logged.push(s) });
  assert.is(on.text, '[A1][2][][]\n');
  assert.equal(logged, [
    '-- include_debug template "a" result:\nA1\n\n',
    `-- tpl_debug "tpl-${adler32('{{ 2 }}')}" content:\n{{ 2 }}\n\n`,
    `-- tpl_debug "tpl-${adler32('{{ 2 }}')}" result:\n2\n\n`,
    '-- printf_debug format "%s-%d" result:\nv-3\n\n',
    '-- dump_debug result:\n[1 b]\n\n',
  ]);
  logged.length = 0;
  const off = renderWerfConfig({ ...opts, debugLog: (s) => logged.push(s) });
  assert.is(off.text, '[][][][]\n');
  assert.equal(logged, []);
});

t.run();
