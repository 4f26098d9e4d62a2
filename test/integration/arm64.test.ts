/**
 * A linux/arm64 RUN under qemu (binfmt_misc) on the arm64 busybox image.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTar } from '../../src/buildkit/tar';
import { Session } from '../../src/session';
import { image, marshal, scratch } from '../../src/llb';
import { dockerdOnly, opDigests, testEnv, testImageName, type TestEnv } from './harness';

const t = suite<{ env: TestEnv }>('arm64 under qemu');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  await ctx.env?.stop();
});

dockerdOnly(t, 'moby exporter, docker run')('the daemon lists linux/arm64 and an arm64 exec prints aarch64', async ({ env }) => {
  assert.ok(env.images.arm64, `arm64 fixture image missing: ${env.images.arm64Note}`);
  const client = await env.client();
  const workers = await client.listWorkers();
  assert.ok(workers[0].platforms.includes('linux/arm64'), `platforms: ${workers[0].platforms.join(', ')}`);

  const state = image(env.images.arm64!, { platform: 'linux/arm64' }).run({ shell: 'uname -m; echo arm64 > /built-on', ignoreCache: true }).root();
  const def = marshal(state, { platform: 'linux/arm64' });
  const [run] = opDigests(def, 'exec');
  const name = testImageName('arm64');
  const res = await client.solve({ definition: def, exporter: { type: 'moby', attrs: { name } }, imageConfig: { architecture: 'arm64', os: 'linux', config: { Cmd: ['sh'], Env: ['STAGE=arm64'] } } });
  assert.equal(res.progress.lastLogLines(run, 1), ['aarch64']);

  const info = await env.docker.inspectImage(name);
  assert.is(info?.Architecture, 'arm64');
  assert.is(info?.Os, 'linux');
  assert.equal(info?.Config?.Env, ['STAGE=arm64']);
  const out = await env.docker.run(name, ['/bin/sh', '-c', 'uname -m; cat /built-on'], { platform: 'linux/arm64' });
  assert.is(out.exitCode, 0, out.stderr);
  assert.is(out.stdout, 'aarch64\narm64\n');
  await env.docker.removeImage(name);
});

t('an arm64 RUN on the arm64 base image (from the image store or the registry) writes aarch64; tar export', async ({ env }) => {
  assert.ok(env.images.arm64, `arm64 fixture image missing: ${env.images.arm64Note}`);
  const client = await env.client();
  const run = image(env.images.arm64!, { platform: 'linux/arm64' }).run({ shell: 'uname -m > /out/arch; file=$(readlink -f /bin/sh); echo $file >> /out/arch', ignoreCache: true, mounts: [{ target: '/out', from: scratch() }] });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-arm64-'));
  const file = path.join(dir, 'out.tar');
  const session = new Session({ exportTarget: { kind: 'tar', file }, ssh: [], auth: false });
  try {
    await client.solve({ definition: marshal(run.getMount('/out'), { platform: 'linux/arm64' }), session, exporter: { type: 'tar' } });
    const end = Date.now() + 5000;
    while (session.stats.exports.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const arch = readTar(fs.readFileSync(file)).find((e) => e.path.replace(/^\.?\//, '') === 'arch');
    assert.is(arch?.data.toString(), 'aarch64\n/bin/busybox\n');
  } finally {
    await session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

t.run();
