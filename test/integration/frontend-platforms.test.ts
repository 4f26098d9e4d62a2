/**
 * The frontend with two target platforms: a multi-arch base (busybox amd64 + arm64 pushed to a
 * 127.0.0.1 docker-registry as one manifest list, since dockerd's own store holds one architecture
 * per tag), `platform=linux/amd64,linux/arm64`, the `local` exporter: one directory per platform,
 * each with what the install stage wrote on that architecture (arm64 runs under qemu).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../src/session';
import { frontendImage, projectDir } from './frontend-helpers';
import { daemonTraits, dockerdOnly, testEnv, type TestEnv } from './harness';
import { pushMultiArchBusybox, testRegistry, type TestRegistry } from './harness/registry';

const t = suite<{ env: TestEnv; reg: TestRegistry; image: string; cleanups: (() => void)[] }>('frontend platforms');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.cleanups = [];
  if (!daemonTraits().dockerd) return; // the frontend image is docker-loaded
  ctx.image = await frontendImage(ctx.env.docker);
  ctx.reg = await testRegistry();
});
t.after(async (ctx) => {
  for (const c of ctx.cleanups ?? []) c();
  await ctx.reg?.stop();
  await ctx.env?.stop();
});

dockerdOnly(t, 'the frontend image is docker-loaded into the image store')('platform=linux/amd64,linux/arm64: per-platform results, exported one directory per platform', async (ctx) => {
  if (!ctx.env.images.arm64) {
    console.log(`  (skipped: arm64 cannot run here: ${ctx.env.images.arm64Note})`);
    return;
  }
  const base = await pushMultiArchBusybox(ctx.reg);

  const p = projectDir({ 'werf.yaml': `project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install: uname -m > /arch\n` });
  ctx.cleanups.push(p.cleanup);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-fe-out-'));
  ctx.cleanups.push(() => fs.rmSync(out, { recursive: true, force: true }));
  const session = new Session({ syncedDirs: { context: { dir: p.dir }, dockerfile: { dir: p.dir } }, exportTarget: { kind: 'local', dir: out } });
  try {
    const bk = await ctx.env.client();
    await bk.solve({ frontend: 'gateway.v0', frontendAttrs: { source: ctx.image, filename: 'werf.yaml', platform: 'linux/amd64,linux/arm64', 'loose-giterminism': 'true' }, session, exporter: { type: 'local' } });
  } finally {
    await session.close();
  }
  assert.equal(fs.readdirSync(out).sort(), ['linux_amd64', 'linux_arm64']);
  assert.is(fs.readFileSync(path.join(out, 'linux_amd64', 'arch'), 'utf8'), 'x86_64\n');
  assert.is(fs.readFileSync(path.join(out, 'linux_arm64', 'arch'), 'utf8'), 'aarch64\n');
});

t.run();
