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
import { busyboxTarball } from '../../src/daemon/base-images';
import { userStateDir } from '../../src/daemon/dockerd';
import { pushDockerArchive } from '../../src/registry/archive';
import { RegistryClient } from '../../src/registry/client';
import { MediaType } from '../../src/registry/media-types';
import { Session } from '../../src/session';
import { frontendImage, projectDir } from './frontend-helpers';
import { testEnv, type TestEnv } from './harness';
import { testRegistry, type TestRegistry } from './harness/registry';

const t = suite<{ env: TestEnv; reg: TestRegistry; image: string; cleanups: (() => void)[] }>('frontend platforms');

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.cleanups = [];
  ctx.image = await frontendImage(ctx.env.docker);
  ctx.reg = await testRegistry();
});
t.after(async (ctx) => {
  for (const c of ctx.cleanups ?? []) c();
  await ctx.reg?.stop();
  await ctx.env?.stop();
});

t('platform=linux/amd64,linux/arm64: per-platform results, exported one directory per platform', async (ctx) => {
  if (!ctx.env.images.arm64) {
    console.log(`  (skipped: arm64 cannot run here: ${ctx.env.images.arm64Note})`);
    return;
  }
  const client = new RegistryClient(ctx.reg.host);
  const cacheDir = path.join(userStateDir(), 'cache');
  const manifests = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const pushed = await pushDockerArchive(client, 'stapelkit-test/busybox', arch, await busyboxTarball(arch, cacheDir));
    const head = await client.headManifest('stapelkit-test/busybox', pushed.digest);
    manifests.push({ mediaType: MediaType.dockerManifest, digest: pushed.digest, size: head!.size, platform: { os: 'linux', architecture: arch } });
  }
  await client.putManifest('stapelkit-test/busybox', 'multi', { schemaVersion: 2, mediaType: MediaType.dockerManifestList, manifests } as never);

  const p = projectDir({ 'werf.yaml': `project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: ${ctx.reg.host}/stapelkit-test/busybox:multi\nshell:\n  install: uname -m > /arch\n` });
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
