/**
 * `stapelkit compile` on the real dockerd: a Stapel project with git mappings, an image import and
 * an env secret is compiled (the daemon is asked for the base config and the import's checksum),
 * and the Definition is solved by OUR client exactly as the printed buildctl flags say — a Session
 * serving the `--local` dirs and the `--secret`s, moby exporter — giving the same files as
 * `stapelkit build` of the same project (issue 9, test 5). Compiling again gives the same bytes,
 * now without asking the daemon for the cached import checksum. buildctl itself is not installed
 * here: the printed flags are parsed from our stderr and fed to our client, and, as they are, to
 * test/go-buildctl (buildctl's flags over BuildKit's own Go client library).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEnv, testImageName, type TestEnv } from './harness';
import { build, werfProject, type WerfProject } from './werf-project';
import { runCompile, type CompileResult } from '../../src/build/compile-run';
import { Session } from '../../src/session';
import { readTarEntries } from './session-helpers';
import type { SecretSource } from '../../src/session/secrets';
import { ensureGoBuildctl, GO_BUILDCTL_MISSING, goBuildctlAddr, runGoBuildctl } from '../go-buildctl/build';

const t = suite('compile');
let env: TestEnv;
let p: WerfProject;
const TOKEN = `tok-${process.pid}-${Date.now()}`;
const TOKEN_MD5 = crypto.createHash('md5').update(TOKEN).digest('hex');

t.before(async () => {
  env = await testEnv();
  const name = `compile-${process.pid}`;
  p = werfProject({
    'werf.yaml': `project: ${name}
configVersion: 1
---
image: tool
final: false
from: ${env.images.amd64}
shell:
  install:
  - mkdir -p /out && echo tool-v1 > /out/tool.txt && echo skip > /out/skip.log
---
image: app
from: ${env.images.amd64}
secrets:
- env: MY_TOKEN
git:
- add: /src
  to: /srv/src
- add: /conf/app.conf
  to: /etc/app.conf
import:
- image: tool
  add: /out
  to: /opt/tool
  includePaths: ['*.txt']
  after: install
shell:
  install:
  - test "$(md5sum < /run/secrets/MY_TOKEN | cut -c1-32)" = "${TOKEN_MD5}" && echo secret-ok > /secret-ok
  - ls /srv/src > /listing
  setup:
  - cat /opt/tool/tool.txt /etc/app.conf > /setup.txt
`,
    'werf-giterminism.yaml': 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [MY_TOKEN]\n',
    'src/a.txt': 'a\n',
    'src/sub/b.sh': '#!/bin/sh\necho b\n',
    'conf/app.conf': 'conf=1\n',
  });
  fs.chmodSync(path.join(p.dir, 'src/sub/b.sh'), 0o755);
  p.commit('modes', { amend: true });
});
t.after(async () => {
  p?.remove();
  await env.stop();
});

async function compile(stateDir: string, images: string[]): Promise<{ bytes: Buffer; err: string; r: CompileResult }> {
  const chunks: Buffer[] = [];
  let err = '';
  const out = { write: (c: string | Buffer) => (chunks.push(Buffer.from(c)), true) } as unknown as NodeJS.WritableStream;
  const errS = { write: (c: string) => ((err += c), true) } as unknown as NodeJS.WritableStream;
  const r = await runCompile({ images, dir: p.dir, addr: env.addr, outDir: path.join(stateDir, 'out') } as never, {
    out,
    err: errS,
    env: { ...process.env, XDG_STATE_HOME: stateDir, XDG_CACHE_HOME: path.join(stateDir, 'cache') },
  });
  return { bytes: Buffer.concat(chunks), err, r };
}

/** The `buildctl build` flags as printed on stderr. */
function printedFlags(err: string): { locals: Record<string, string>; secrets: SecretSource[]; ssh: string[] } {
  const locals: Record<string, string> = {};
  const secrets: SecretSource[] = [];
  const ssh: string[] = [];
  for (const m of err.matchAll(/^\s+--(local|secret|ssh) (\S+)(?: \\)?$/gm)) {
    const v = m[2];
    if (m[1] === 'local') locals[v.slice(0, v.indexOf('='))] = v.slice(v.indexOf('=') + 1);
    else if (m[1] === 'ssh') ssh.push(v);
    else {
      const kv = Object.fromEntries(v.split(',').map((x) => x.split('=', 2)));
      secrets.push(kv.src ? { id: kv.id, file: kv.src } : { id: kv.id, env: kv.env });
    }
  }
  return { locals, secrets, ssh };
}

/** Every path outside the kernel's mounts with type, mode and content hash (busybox). */
async function files(image: string): Promise<string> {
  const script = "cd / && find . -xdev \\( -path ./proc -o -path ./sys -o -path ./dev -o -path ./etc/hosts -o -path ./etc/hostname -o -path ./etc/resolv.conf \\) -prune -o -print | sort | while read f; do if [ -L \"$f\" ]; then echo \"$f -> $(readlink \"$f\")\"; elif [ -f \"$f\" ]; then echo \"$f $(stat -c %a \"$f\") $(md5sum < \"$f\" | cut -c1-32)\"; else echo \"$f/ $(stat -c %a \"$f\")\"; fi; done";
  const r = await env.docker.run(image, ['/bin/sh', '-c', script]);
  if (r.exitCode !== 0) throw new Error(`listing ${image}: ${r.stderr}`);
  return r.stdout;
}

t('compile | our solve gives the files of stapelkit build; the same bytes again', async () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-compile-state-'));
  const first = await compile(state, ['app']);
  assert.ok(first.bytes.length > 0);
  assert.ok(first.r.daemonNeeds.some((n) => n.includes(`image config of ${env.images.amd64}`)), first.r.daemonNeeds.join('; '));
  assert.ok(first.r.daemonNeeds.some((n) => n.includes('import')), 'the import checksum was read on the daemon');
  assert.is(first.bytes.indexOf(TOKEN), -1, 'the secret value is not in the LLB');

  const flags = printedFlags(first.err);
  assert.equal(Object.keys(flags.locals).sort(), first.r.needs.locals, first.err);
  assert.ok(flags.secrets.some((s) => s.id === 'MY_TOKEN' && 'env' in s && s.env === 'MY_TOKEN'), first.err);
  assert.ok(flags.secrets.some((s) => s.id === 'stapelkit-werf-commit-env'));
  assert.equal(flags.ssh, []);

  // What buildctl would do with those flags, done by our client.
  const client = await env.client();
  const secrets = flags.secrets.map((s) => ('env' in s ? { id: s.id, value: s.env === 'MY_TOKEN' ? TOKEN : '' } : s));
  const session = new Session({ syncedDirs: Object.fromEntries(Object.entries(flags.locals).map(([k, dir]) => [k, { dir }])), secrets, ssh: [] });
  const name = testImageName('compiled');
  try {
    await client.solve({ definition: first.bytes, session, exporter: { type: 'moby', attrs: { name } } });
  } finally {
    await session.close();
  }

  const built = await build(p, ['--addr', env.addr], { env: { ...process.env, MY_TOKEN: TOKEN, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-compile-b-')) } });
  const builtName = built.report.Images.app.DockerImageName as string;
  const [a, b] = [await files(name), await files(builtName)];
  assert.ok(a.includes('./secret-ok '), a);
  assert.ok(a.includes('./opt/tool/tool.txt '), 'the import');
  assert.not.ok(a.includes('skip.log'), 'import includePaths');
  assert.ok(a.includes('./srv/src/sub/b.sh 755 '), 'git mapping with modes');
  assert.ok(a.includes('./etc/app.conf '), 'file mapping');
  assert.fixture(a, b);
  const setup = await env.docker.run(name, ['/bin/cat', '/setup.txt']);
  assert.is(setup.stdout, 'tool-v1\nconf=1\n');

  const again = await compile(state, ['app']);
  assert.ok(again.bytes.equals(first.bytes), 'same input, same bytes');
  assert.not.ok(again.r.daemonNeeds.some((n) => n.includes('import')), 'the import checksum came from the import metadata');
  await env.docker.removeImage(name).catch(() => undefined);
  fs.rmSync(state, { recursive: true, force: true });
});

t('compile | BuildKit\'s own Go client (go-buildctl: llb.ReadFrom, client.Solve, Go\'s filesync and secrets) with the printed flags: the files of stapelkit build', async () => {
  const bin = ensureGoBuildctl();
  const addr = goBuildctlAddr(env.addr);
  if (!bin || !addr) {
    console.log(`skip: go-buildctl — ${bin ? `it cannot dial ${env.addr}` : GO_BUILDCTL_MISSING}`);
    return;
  }
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-compile-state-'));
  const compiled = await compile(state, ['app']);
  // The printed command, flag for flag, with buildctl's own spelling of each.
  const args = [...compiled.err.matchAll(/^\s+(--(?:local|secret|ssh) \S+)(?: \\)?$/gm)].flatMap((m) => m[1].split(' '));
  assert.ok(args.includes('--local') && args.includes('--secret'), compiled.err);
  const name = testImageName('go-buildctl');
  const r = await runGoBuildctl(bin, ['build', '--addr', addr, ...args, '--output', `type=moby,name=${name}`], { input: compiled.bytes, env: { ...process.env, MY_TOKEN: TOKEN } });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /#\d+ DONE/);
  const built = await build(p, ['--addr', env.addr], { env: { ...process.env, MY_TOKEN: TOKEN, XDG_STATE_HOME: fs.mkdtempSync(path.join(os.tmpdir(), 'skt-compile-g-')) } });
  const [a, b] = [await files(name), await files(built.report.Images.app.DockerImageName as string)];
  assert.ok(a.includes('./secret-ok ') && a.includes('./srv/src/sub/b.sh 755 '), a);
  assert.fixture(a, b);
  await env.docker.removeImage(name).catch(() => undefined);
  fs.rmSync(state, { recursive: true, force: true });
});

t('the whole project: final images side by side, each in its own directory', async () => {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-compile-state-'));
  const all = await compile(state, []);
  const flags = printedFlags(all.err);
  // Only `app` is final: one root, the image itself.
  assert.match(all.err, /1 image\(s\)/);
  const both = await compile(state, ['app', 'tool']);
  assert.match(both.err, /\(\/app, \/tool\)/, both.err);
  const client = await env.client();
  const tarFile = path.join(state, 'both.tar');
  const session = new Session({
    syncedDirs: Object.fromEntries(Object.entries(printedFlags(both.err).locals).map(([k, dir]) => [k, { dir }])),
    secrets: [...flags.secrets.filter((s) => !('env' in s)), { id: 'MY_TOKEN', value: TOKEN }],
    ssh: [],
    exportTarget: { kind: 'tar', file: tarFile },
  });
  try {
    await client.solve({ definition: both.bytes, session, exporter: { type: 'tar' } });
  } finally {
    await session.close();
  }
  const entries = new Map(readTarEntries(fs.readFileSync(tarFile)).map((e) => [e.name, e]));
  assert.is(entries.get('app/secret-ok')?.data.toString(), 'secret-ok\n', [...entries.keys()].filter((n) => !n.includes('bin/')).join(', '));
  assert.is(entries.get('app/setup.txt')?.data.toString(), 'tool-v1\nconf=1\n');
  assert.is(entries.get('tool/out/skip.log')?.data.toString(), 'skip\n', 'the tool image whole, in its own directory');
  assert.not.ok(entries.has('app/opt/tool/skip.log'));
  assert.ok(entries.has('app/bin/sh') && entries.has('tool/bin/sh'), 'each image has its own root');
  fs.rmSync(state, { recursive: true, force: true });
});

t.run();
