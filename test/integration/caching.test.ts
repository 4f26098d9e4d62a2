/**
 * Solving the same graph twice: the second Status stream reports every vertex cached.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { image, marshal, mkdir } from '../../src/llb';
import { putIndexEntry } from '../../src/buildkit/cache-options';
import { Session } from '../../src/session';
import { dockerdOnly, opDigests, testEnv, testImageName, type TestEnv } from './harness';

const t = suite<{ env: TestEnv }>('caching');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

t('the second solve of the same graph is fully cached', async ({ env }) => {
  const client = await env.client();
  const salt = crypto.randomBytes(6).toString('hex'); // a graph no earlier run has cached
  const state = image(env.images.amd64)
    .run({ shell: `echo ${salt} > /a; echo built a` })
    .root()
    .file(mkdir('/work', 0o755))
    .run({ shell: 'cat /a > /work/b; echo built b', cwd: '/work' })
    .root();
  const def = marshal(state, { platform: 'linux/amd64' });
  const [a, b] = opDigests(def, 'exec');
  const [img] = opDigests(def, 'source');
  const [file] = opDigests(def, 'file');

  const first = await client.solve({ definition: def });
  assert.ok(!first.progress.allCached(), 'the first solve ran something');
  assert.not.ok(first.progress.vertices.get(a)?.cached);
  assert.not.ok(first.progress.vertices.get(b)?.cached);
  assert.ok(first.progress.logText(b).includes('built b'));

  const second = await client.solve({ definition: def });
  const names = second.progress.list().map((v) => `${v.cached ? 'CACHED' : 'RAN'} ${v.name}`);
  assert.ok(second.progress.allCached(), `every vertex cached:\n${names.join('\n')}`);
  for (const op of [a, file, b]) assert.ok(second.progress.vertices.get(op)?.cached, `vertex ${op} reported cached`);
  assert.is(second.progress.logText(b), '', 'a cached exec prints no logs');
  // BuildKit shows the image source as resolved (completed), never as cached: the only exemption.
  assert.equal(second.progress.uncached({ strict: true }).map((v) => v.digest), [img]);
  assert.ok(second.progress.vertices.get(img)?.completed, 'the source completed');
});

dockerdOnly(t, 'moby exporter, image store as cache source')('inline cache export and import through a local image survive a cache prune', async ({ env }) => {
  const client = await env.client();
  const salt = crypto.randomBytes(6).toString('hex');
  const state = image(env.images.amd64).run({ shell: `echo ${salt} > /inline; echo built inline` }).root();
  const def = marshal(state, { platform: 'linux/amd64' });
  const [run] = opDigests(def, 'exec');
  const name = testImageName('inline-cache');

  const first = await client.solve({ definition: def, exporter: { type: 'moby', attrs: { name } }, cacheExports: [{ type: 'inline' }] });
  assert.not.ok(first.progress.vertices.get(run)?.cached);
  await client.prune({ all: true });

  // Without the import the pruned cache means a rebuild; with it the exec comes from the image.
  const second = await client.solve({ definition: def, cacheImports: [{ type: 'registry', attrs: { ref: `docker.io/${name}` } }] });
  assert.ok(second.progress.vertices.get(run)?.cached, `imported from the image's inline cache:\n${second.progress.list().map((v) => `${v.cached ? 'CACHED' : 'RAN'} ${v.name}`).join('\n')}`);
  await env.docker.removeImage(name);
});

t('a local cache import is read by the daemon through the session content store; a missing one is skipped with a warning', async ({ env }) => {
  const client = await env.client();
  // An OCI layout whose `latest` is an empty cache index: nothing to import, but the daemon must
  // fetch it from our store to find that out.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-localcache-'));
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] }));
  const digest = `sha256:${crypto.createHash('sha256').update(index).digest('hex')}`;
  fs.mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'blobs', 'sha256', digest.slice(7)), index);
  putIndexEntry(dir, { mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: index.length }, [{ tag: 'latest' }]);
  const salt = crypto.randomBytes(6).toString('hex');
  const def = marshal(image(env.images.amd64).run({ shell: `echo ${salt}` }).root(), { platform: 'linux/amd64' });
  const session = new Session({ ssh: [], auth: false });
  try {
    const res = await client.solve({ definition: def, session, cacheImports: [{ type: 'local', attrs: { src: dir } }, { type: 'local', attrs: { src: path.join(dir, 'missing') } }] });
    assert.equal(res.warnings, [`local cache import at ${path.join(dir, 'missing')} skipped: the directory does not exist`]);
    const calls = Object.entries(session.stats.content).filter(([k]) => k.startsWith(`local:${dir} `));
    assert.ok(calls.some(([k]) => /(Read|Info)$/.test(k)), `content calls: ${JSON.stringify(session.stats.content)}`);
    process.stderr.write(`[caching] the daemon's content-store calls for the local cache: ${calls.map(([k, n]) => `${k.split(' ')[1]}×${n}`).join(', ')}\n`);
  } finally {
    await session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
