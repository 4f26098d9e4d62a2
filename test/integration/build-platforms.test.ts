/**
 * `stapelkit build --platform linux/amd64,linux/arm64 --repo <registry>`: one image per platform
 * (arm64 under qemu) and werf's manifest list over the platforms' final stages, tagged
 * `<repo>:<H3(stage ids)>`. The base is a two-platform busybox list in the test registry, since
 * dockerd's store holds one architecture per tag. `--add-custom-tag` then names the list in the registry.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RegistryClient } from '../../src/registry/client';
import { MediaType, type ImageIndex, type ImageManifest } from '../../src/registry/media-types';
import { readTar } from '../../src/buildkit/tar';
import { sha3_224Hash } from '../../src/stages/hash';
import { dockerdOnly, testEnv, type TestEnv } from './harness';
import { pushMultiArchBusybox, testRegistry, type TestRegistry } from './harness/registry';
import { build, werfProject } from './werf-project';

const t = suite('build platforms');
const dockerd = dockerdOnly(t, 'stages are pushed to the registry through the Docker API');
let env: TestEnv;
let reg: TestRegistry;
let cliEnv: NodeJS.ProcessEnv;

t.before(async () => {
  env = await testEnv();
  reg = await testRegistry();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
});
t.after(async () => {
  await reg?.stop();
  await env?.stop();
});

/** The file `name` in the image's layers (last layer that has it), as text. */
async function fileInImage(client: RegistryClient, repo: string, manifest: ImageManifest, name: string): Promise<string | undefined> {
  let found: string | undefined;
  for (const l of manifest.layers) {
    const blob = await client.getBlob(repo, l.digest);
    const tar = blob[0] === 0x1f && blob[1] === 0x8b ? zlib.gunzipSync(blob) : blob;
    const e = readTar(tar).find((x) => x.path.replace(/^\.?\//, '') === name && x.type === 'file');
    if (e) found = e.data.toString('utf8');
  }
  return found;
}

dockerd('two platforms with --repo: a manifest list over both final stages; a second build changes nothing', async () => {
  if (!env.images.arm64) {
    console.log(`  (skipped: arm64 cannot run here: ${env.images.arm64Note})`);
    return;
  }
  const client = new RegistryClient(reg.host);
  const base = await pushMultiArchBusybox(reg);

  const project = `mp-${process.pid}`;
  const repoPath = `stapelkit-test/${project}`;
  const p = werfProject({ 'werf.yaml': `project: ${project}\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install:\n  - uname -m > /arch\n` });
  try {
    const args = ['--addr', env.addr, '--repo', `${reg.host}/${repoPath}`, '--platform', 'linux/amd64,linux/arm64'];
    const r = await build(p, args, { env: cliEnv });
    const byPlatform = r.report.ImagesByPlatform.app;
    const ids = ['linux/amd64', 'linux/arm64'].map((pl) => byPlatform[pl].DockerTag as string);
    const tag = sha3_224Hash(...ids);
    assert.is(r.report.Images.app.DockerTag, tag, 'the report names the list');
    assert.match(r.stdout, new RegExp(`^image app: ${reg.host.replace(/[.]/g, '\\.')}/${repoPath}:${tag} \\(manifest list`, 'm'));

    const list = await client.getManifest(repoPath, tag);
    assert.is(list.mediaType, MediaType.dockerManifestList);
    assert.is(r.report.Images.app.DockerImageDigest, list.digest);
    const index = list.manifest as ImageIndex;
    assert.equal(index.manifests.map((m) => `${m.platform?.os}/${m.platform?.architecture}`), ['linux/amd64', 'linux/arm64']);
    const want: Record<string, [string, string]> = { amd64: ['amd64', 'x86_64\n'], arm64: ['arm64', 'aarch64\n'] };
    for (const m of index.manifests) {
      const [arch, uname] = want[m.platform!.architecture];
      const head = await client.headManifest(repoPath, byPlatform[`linux/${arch}`].DockerTag);
      assert.is(m.digest, head!.digest, 'the entry is that platform’s final stage');
      const img = (await client.getManifest(repoPath, m.digest)).manifest as ImageManifest;
      const config = await client.getConfig<{ architecture: string }>(repoPath, img.config.digest);
      assert.is(config.architecture, arch);
      assert.is(await fileInImage(client, repoPath, img, 'arch'), uname);
    }

    const again = await build(p, [...args, '--add-custom-tag', '%image%-v1'], { env: cliEnv });
    assert.equal(again.built, []);
    assert.match(again.stdout, new RegExp(`^image app: tagged .*/${repoPath}:app-v1$`, 'm'));
    assert.is((await client.headManifest(repoPath, 'app-v1'))?.digest, list.digest, 'the custom tag names the list, in the registry');
    assert.is(again.report.Images.app.DockerTag, tag);
    assert.is(again.report.Images.app.DockerImageDigest, list.digest);
  } finally {
    p.remove();
  }
});

t.run();
