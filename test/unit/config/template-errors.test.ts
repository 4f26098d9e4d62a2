/** Template errors as config reports them: an include recursion is said once, with the chain's start. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { StapelkitError } from '../../../src/errors';
import { renderWerfConfig } from '../../../src/template';

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

t.run();
