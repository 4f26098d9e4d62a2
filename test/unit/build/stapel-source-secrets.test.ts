/**
 * werf.yaml goes to the daemon as the Definition's source info (positions of Stapel stages): a
 * `value` secret written in it is replaced by `*`s there, keeping every position, so no LLB byte
 * carries it — in Stapel-only and mixed Stapel + Dockerfile projects alike.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { image, marshal } from '../../../src/llb';
import { redactSecretValues, StapelBuildContext } from '../../../src/build/stapel';

const t = suite('build/stapel source secrets');

t('redactSecretValues: every occurrence, same length, other secret kinds untouched', () => {
  const data = Buffer.from('secrets:\n- id: a\n  value: s3cr3t\n- env: HOME\nx: s3cr3t!\n');
  const model = { images: [{ secrets: [{ id: 'a', type: 'value', value: 's3cr3t' }, { id: 'HOME', type: 'env', value: 'HOME' }] }] } as never;
  const out = redactSecretValues(data, model);
  assert.is(out.length, data.length);
  assert.is(out.toString(), 'secrets:\n- id: a\n  value: ******\n- env: HOME\nx: ******!\n');
  assert.is(data.toString().includes('s3cr3t'), true, 'the input is not changed');
});

t('a Stapel stage location: the marshalled Definition has werf.yaml without the value', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-src-'));
  const value = `v-${Date.now()}`;
  fs.writeFileSync(path.join(dir, 'werf.yaml'), `project: p\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nsecrets:\n- id: tok\n  value: ${value}\n`);
  const model = { project: 'p', commit: { hash: '' }, images: [{ secrets: [{ id: 'tok', type: 'value', value }] }] };
  const ctx = new StapelBuildContext({ model: model as never, project: { projectDir: dir } as never, git: {} as never, flags: {}, env: {}, dryRun: true });
  const loc = ctx.location({ file: 'werf.yaml', line: 5, column: 1 });
  const bytes = marshal(image('busybox', { location: loc })).toBytes();
  assert.ok(bytes.includes(Buffer.from('from: busybox')), 'werf.yaml is in the source info');
  assert.not.ok(bytes.includes(Buffer.from(value)), 'the secret value is not');
  ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.run();
