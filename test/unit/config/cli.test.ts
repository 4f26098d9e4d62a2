/** `stapelkit render` and `stapelkit config` end to end (real template engine, temp repo). */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { makeRepo, removeRepo } from '../git/repo';

const t = suite('cli/render+config');
const ROOT = path.resolve(__dirname, '../../..');
let dir = '';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, WERF_ENV: '' },
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

t.before(() => {
  dir = makeRepo({
    'werf.yaml': [
      'project: demo',
      'configVersion: 1',
      '---',
      '{{- range $name := list "api" "worker" }}',
      '---',
      'image: {{ $name }}',
      'from: alpine:3.18',
      'shell:',
      '  install: echo {{ $name }}-{{ $.Env }}',
      '{{- end }}',
      '',
    ].join('\n'),
    'bad/werf.yaml': 'project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: alpine\ngit:\n- add: /\n  to: app\n',
    'warn/werf.yaml': 'project: demo\nconfigVersion: 1\n---\nimage: ~\nfrom: alpine\n',
  });
});
t.after(() => removeRepo(dir));

t('render prints the rendered werf.yaml', () => {
  const r = cli('render', '--dir', dir, '--env', 'prod');
  assert.is(r.code, 0, r.err);
  assert.ok(r.out.includes('image: api\nfrom: alpine:3.18\nshell:\n  install: echo api-prod\n'), r.out);
  assert.ok(r.out.includes('image: worker'));
});

t('render IMAGE prints only that image\'s documents; unknown names fail', () => {
  const r = cli('render', 'worker', '--dir', dir);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, 'image: worker\nfrom: alpine:3.18\nshell:\n  install: echo worker-\n');
  const bad = cli('render', 'nope', '--dir', dir);
  assert.is(bad.code, 1);
  assert.is(bad.err, 'error: image "nope" not found!\n');
});

t('config --json prints the model', () => {
  const r = cli('config', '--dir', dir, '--json');
  assert.is(r.code, 0, r.err);
  const m = JSON.parse(r.out);
  assert.equal(m.images.map((i: { name: string }) => i.name), ['api', 'worker']);
  assert.equal(m.images[0].shell.install, ['echo api-']);
  assert.equal(m.images[1].pos, { file: 'werf.yaml', line: 6, column: 1 });
  assert.equal(m.buildSets, [['api', 'worker']]);
});

t('config prints a human form', () => {
  const r = cli('config', '--dir', dir);
  assert.is(r.code, 0, r.err);
  assert.ok(r.out.includes('name: api'));
  assert.ok(r.out.includes('# werf.yaml:6'));
});

t('config prints warnings as positioned lines on stderr', () => {
  const r = cli('config', '--dir', path.join(dir, 'warn'));
  assert.is(r.code, 0, r.err);
  assert.is(r.err, 'warning: werf.yaml:4:1: image ~: the nameless image (`image: ~`) is deprecated: give the image a name\n');
});

t('bad input: one positioned line on stderr, exit 1', () => {
  const r = cli('config', '--dir', path.join(dir, 'bad'));
  assert.is(r.code, 1);
  assert.is(r.err, 'error: werf.yaml:8:7: image "app" → git[0].to: `to: PATH` absolute path required for git! (got "app")\n');
  assert.is(r.out, '');
});

t.run();
