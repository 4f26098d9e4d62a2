/**
 * Solving the same graph twice: the second Status stream reports every vertex cached.
 */
import * as crypto from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { testEnv, type TestEnv } from './harness';
import { tinyDefinition, tinyExec, tinyImage } from './harness/tiny-llb';

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
  const img = tinyImage(env.images.amd64);
  const a = tinyExec(img, `echo ${salt} > /a; echo built a`);
  const b = tinyExec(a, 'cat /a > /b; echo built b');
  const def = tinyDefinition([img, a, b], b);

  const first = await client.solve({ definition: def });
  assert.ok(!first.progress.allCached(), 'the first solve ran something');
  assert.not.ok(first.progress.vertices.get(a.digest)?.cached);
  assert.not.ok(first.progress.vertices.get(b.digest)?.cached);
  assert.ok(first.progress.logText(b.digest).includes('built b'));

  const second = await client.solve({ definition: def });
  const names = second.progress.list().map((v) => `${v.cached ? 'CACHED' : 'RAN'} ${v.name}`);
  assert.ok(second.progress.allCached(), `every vertex cached:\n${names.join('\n')}`);
  for (const op of [a, b]) assert.ok(second.progress.vertices.get(op.digest)?.cached, `vertex ${op.digest} reported cached`);
  assert.is(second.progress.logText(b.digest), '', 'a cached exec prints no logs');
  // BuildKit shows the image source as resolved (completed), never as cached: the only exemption.
  assert.equal(second.progress.uncached({ strict: true }).map((v) => v.digest), [img.digest]);
  assert.ok(second.progress.vertices.get(img.digest)?.completed, 'the source completed');
});

t.run();
