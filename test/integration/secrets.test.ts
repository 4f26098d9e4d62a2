/**
 * Secret mounts served by our Secrets.GetSecret (env, file, literal value; an optional missing one):
 * readable inside the RUN, never in the LLB Definition bytes, never in any exported layer.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerdOnly, testEnv, type TestEnv } from './harness';
import { Session } from '../../src/session';
import { image, marshal } from '../../src/llb';
import { readTarEntries } from './session-helpers';

const t = suite<{ env: TestEnv }>('secrets');
t.before(async (ctx) => { ctx.env = await testEnv(); });
t.after(async (ctx) => { await ctx.env?.stop(); });

/** A RUN that hashes the three secrets (and checks an optional missing one) into /; `salt` keeps it out of the cache (secret values are not part of the cache key). */
function secretRun(env: TestEnv, salt: string) {
  return image(env.images.amd64).run({
    shell: [
      `set -e # ${salt}`,
      'sha256sum /run/secrets/from-env | cut -d" " -f1 > /hash-env',
      'sha256sum /etc/app/token | cut -d" " -f1 > /hash-file',
      'sha256sum /run/secrets/from-value | cut -d" " -f1 > /hash-value',
      'stat -c %a /etc/app/token > /mode-file',
      'if [ -e /run/secrets/not-provided ]; then echo present; else echo absent; fi > /optional',
    ].join('\n'),
    mounts: [
      { type: 'secret', id: 'from-env' },
      { type: 'secret', id: 'from-file', target: '/etc/app/token', mode: 0o440 },
      { type: 'secret', id: 'from-value' },
      { type: 'secret', id: 'not-provided', optional: true },
    ],
  });
}

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

t('secrets from env, file and value are readable in RUN and absent from definition and export', async ({ env }) => {
  const client = await env.client();
  const tag = crypto.randomBytes(8).toString('hex');
  const values = { env: `env-secret-${tag}`, file: `file-secret-${tag}`, value: `value-secret-${tag}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-sec-'));
  const secretFile = path.join(dir, 'token');
  fs.writeFileSync(secretFile, values.file);
  process.env.SKT_TEST_SECRET_ENV = values.env;
  const tarFile = path.join(dir, 'export.tar');
  const session = new Session({
    ssh: [],
    secrets: [{ id: 'from-env', env: 'SKT_TEST_SECRET_ENV' }, { id: 'from-file', file: secretFile }, { id: 'from-value', value: values.value }],
    exportTarget: { kind: 'tar', file: tarFile },
  });
  const run = secretRun(env, tag);
  const def = marshal(run.root());
  const defBytes = Buffer.from(def.toBytes());
  for (const v of Object.values(values)) assert.is(defBytes.indexOf(v), -1, 'secret must not be in the LLB');
  await client.solve({ definition: def, session, exporter: { type: 'tar' } });
  await session.close();
  delete process.env.SKT_TEST_SECRET_ENV;

  const tar = fs.readFileSync(tarFile);
  const files = new Map(readTarEntries(tar).map((e) => [e.name, e]));
  assert.is(files.get('hash-env')?.data.toString().trim(), sha256(values.env));
  assert.is(files.get('hash-file')?.data.toString().trim(), sha256(values.file));
  assert.is(files.get('hash-value')?.data.toString().trim(), sha256(values.value));
  assert.is(files.get('mode-file')?.data.toString().trim(), '440');
  assert.is(files.get('optional')?.data.toString().trim(), 'absent');
  for (const v of Object.values(values)) assert.is(tar.indexOf(v), -1, 'secret must not be in the exported filesystem');
  assert.not.ok([...files.keys()].some((n) => n.startsWith('run/secrets/') && files.get(n)!.data.length > 0));
});

dockerdOnly(t, 'moby exporter and docker save')('secrets are absent from every layer and the config of an image in the docker store', async ({ env }) => {
  const client = await env.client();
  const tag = crypto.randomBytes(8).toString('hex');
  const values = { env: `env-secret-${tag}`, file: `file-secret-${tag}`, value: `value-secret-${tag}` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-sec-'));
  const secretFile = path.join(dir, 'token');
  fs.writeFileSync(secretFile, values.file);
  const def = marshal(secretRun(env, tag).root());
  // Into the docker image store, then `docker save` through the API: every layer
  // (uncompressed tar inside the saved archive) and the image config must be free of the secrets.
  const tagName = `stapelkit-test/secrets:${tag}`;
  const session2 = new Session({
    ssh: [],
    secrets: [{ id: 'from-env', value: values.env }, { id: 'from-file', file: secretFile }, { id: 'from-value', value: values.value }],
  });
  await client.solve({ definition: def, session: session2, exporter: { type: 'moby', attrs: { name: tagName } } });
  await session2.close();
  const saved = (await env.docker.call(`/images/${encodeURIComponent(tagName)}/get`)).body;
  const outer = readTarEntries(saved);
  const layers = outer.filter((e) => e.name.endsWith('layer.tar'));
  assert.ok(layers.length >= 2, `expected base and RUN layers, got ${outer.map((e) => e.name).join(', ')}`);
  const inLayers = new Map(layers.flatMap((l) => readTarEntries(l.data)).map((e) => [e.name, e]));
  assert.is(inLayers.get('hash-env')?.data.toString().trim(), sha256(values.env), 'the RUN layer was inspected');
  for (const v of Object.values(values)) assert.is(saved.indexOf(v), -1, 'secret must not be in any saved layer or config');
  await env.docker.removeImage(tagName).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

t('a required secret the session does not have fails the build', async ({ env }) => {
  const client = await env.client();
  const session = new Session({ ssh: [], secrets: [{ id: 'known', value: 'x' }] });
  const run = image(env.images.amd64).run({ shell: 'cat /run/secrets/unknown', mounts: [{ type: 'secret', id: 'unknown' }] });
  try {
    await client.solve({ definition: marshal(run.root()), session });
    assert.unreachable('solve should fail');
  } catch (e) {
    assert.match(String((e as Error).message), /secret|not found/i);
  } finally {
    await session.close();
  }
});

t.run();
