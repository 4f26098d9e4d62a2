/**
 * Template fidelity on the real daemon: a binary file read with `.Files.Get` reaches the build byte
 * for byte (its sha256sum in the config equals sha256sum of the b64enc copy inside the image), two
 * binaries that differ only in a byte that is not UTF-8 give different digests (a rebuild), and a
 * Go regexp with a literal `-` matches as in werf.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, type TestEnv } from './harness';
import { build, werfProject } from './werf-project';

const t = suite('template files');
let env: TestEnv;
let cliEnv: NodeJS.ProcessEnv;

t.before(async () => {
  env = await testEnv();
  cliEnv = { ...process.env, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-state-')) };
});
t.after(async () => {
  await env.stop();
});

const A = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x80, 0xc3, 0x28, 0x0a, 0x00]);
const B = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe, 0x81, 0xc3, 0x28, 0x0a, 0x00]);
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

async function cat(image: string, file: string): Promise<string> {
  const r = await env.docker.run(image, ['cat', file]);
  if (r.exitCode !== 0) throw new Error(`cat ${file} in ${image}: ${r.stderr}`);
  return r.stdout;
}

t('binary .Files.Get through sha256sum and b64enc into the image; one invalid byte changes the digest', async () => {
  const name = `tplfiles-${process.pid}`;
  const werf = `project: ${name}
configVersion: 1
---
image: app
from: ${env.images.amd64}
shell:
  beforeInstall:
  - echo {{ .Files.Get "a.tgz" | sha256sum }} > /sum
  - echo {{ .Files.Get "a.tgz" | b64enc }} | base64 -d > /copy.bin
  - echo {{ len (.Files.Get "a.tgz") }} {{ regexMatch "^[a-z]+-[0-9]+$" "app-42" }} > /facts
`;
  const p = werfProject({ 'werf.yaml': werf, 'a.tgz': A });
  const a = await build(p, ['--addr', env.addr], { env: cliEnv });
  const imgA = a.report.Images.app.DockerImageName;
  assert.is(await cat(imgA, '/sum'), sha(A) + '\n');
  const inImage = await env.docker.run(imgA, ['sha256sum', '/copy.bin']);
  assert.is(inImage.stdout.split(' ')[0], sha(A));
  assert.is(await cat(imgA, '/facts'), `${A.length} true\n`);

  p.write({ 'a.tgz': B });
  p.commit('differs in one non-UTF-8 byte');
  const b = await build(p, ['--addr', env.addr], { env: cliEnv });
  assert.ok(b.built.includes('app/beforeInstall'), JSON.stringify(b.built));
  const imgB = b.report.Images.app.DockerImageName;
  assert.is(await cat(imgB, '/sum'), sha(B) + '\n');
  assert.ok(sha(A) !== sha(B));
  p.remove();
});

t.run();
