/**
 * Cache mounts persist between solves; tmpfs mounts leave nothing in the image.
 */
import * as crypto from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { image, marshal } from '../../src/llb';
import { dockerdOnly, opDigests, testEnv, testImageName, type TestEnv } from './harness';

const t = suite<{ env: TestEnv }>('cache and tmpfs mounts');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

dockerdOnly(t, 'moby exporter, docker run')('a cache mount keeps its files between two solves; tmpfs content is not in the image', async ({ env }) => {
  const client = await env.client();
  const cacheId = `stapelkit-test-${crypto.randomBytes(6).toString('hex')}`;
  const base = image(env.images.amd64);
  const script = [
    'n=$(cat /cache/count 2>/dev/null || echo 0)',
    'echo $((n+1)) > /cache/count',
    'echo "count=$(cat /cache/count)"',
    'echo scratch > /scratch/file',
    'echo "tmpfs=$(cat /scratch/file)"',
    'echo done > /marker',
  ].join('; ');
  // Each solve gets its own command (a different first word), so the exec really runs twice. Not
  // ignore_cache: BuildKit v0.8 (dockerd 20.10) gives an ignore_cache exec a fresh cache mount every
  // time ("index pointing to missing record" in the daemon log), so nothing would carry over.
  const defOf = (pass: string) => {
    const run = base.run({ shell: `echo pass ${pass}; ${script}`, mounts: [{ type: 'cache', target: '/cache', id: cacheId }, { type: 'tmpfs', target: '/scratch' }] });
    const def = marshal(run.root(), { platform: 'linux/amd64' });
    return { def, exec: opDigests(def, 'exec')[0] };
  };
  const name = testImageName('cache-tmpfs');

  const run1 = defOf('one');
  const first = await client.solve({ definition: run1.def, exporter: { type: 'moby', attrs: { name } } });
  assert.ok(first.progress.logText(run1.exec).includes('count=1'), `first solve log: ${first.progress.logText(run1.exec)}`);
  assert.ok(first.progress.logText(run1.exec).includes('tmpfs=scratch'));
  assert.not.ok(first.progress.vertices.get(run1.exec)?.cached, 'the exec ran');

  const run2 = defOf('two');
  const second = await client.solve({ definition: run2.def, exporter: { type: 'moby', attrs: { name } } });
  assert.not.ok(second.progress.vertices.get(run2.exec)?.cached, 'the exec ran again');
  assert.ok(second.progress.logText(run2.exec).includes('count=2'), `second solve saw the first one's file: ${second.progress.logText(run2.exec)}`);

  // The image has the rootfs change but neither the cache nor the tmpfs content.
  const out = await env.docker.run(name, ['/bin/sh', '-c', 'cat /marker; ls -A /cache 2>/dev/null | wc -l; ls -A /scratch 2>/dev/null | wc -l']);
  assert.is(out.exitCode, 0, out.stderr);
  assert.equal(out.stdout.trim().split('\n').map((s) => s.trim()), ['done', '0', '0']);
  await env.docker.removeImage(name);
});

t.run();
