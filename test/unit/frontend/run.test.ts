/**
 * The frontend's plumbing against an in-memory Gateway: which locals it solves, how werf.yaml and
 * the context are read (templates, .Files.Get, .git HEAD), options, and the errors it returns.
 */
import * as zlib from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Gateway, GatewayCaps, GatewayRef, GatewayResult, GatewayStat, ResolvedImage, ResolveImageOptions } from '../../../src/build/gateway';
import { BuildError } from '../../../src/buildkit/build-error';
import { StapelkitError } from '../../../src/errors';
import { ContextFiles, ContextGitReader, MODE_DIR } from '../../../src/frontend/context-files';
import { rebasePattern } from '../../../src/frontend/context-dockerfile';
import { runFrontend } from '../../../src/frontend/main';
import { parseFrontendOptions } from '../../../src/frontend/options';
import { frontendEnv } from '../../../src/frontend/stdio-gateway';
import { BUILDKIT_V08_LLB_CAPS, decodeDefinition } from '../../../src/llb';

/** A Gateway over in-memory directories: `dockerfile` and `context` locals, images by ref. */
class MemGateway implements Gateway {
  solves: { identifier: string; attrs: Record<string, string>; kinds: string[]; ignoreCache: number }[] = [];
  reads: string[] = [];
  /** Every solved definition's bytes. */
  defs: Buffer[] = [];
  resolved: { ref: string; opts?: ResolveImageOptions }[] = [];
  constructor(readonly dirs: Record<string, Record<string, string>>) {}
  async caps(): Promise<GatewayCaps> {
    return { llb: new Set(BUILDKIT_V08_LLB_CAPS), frontend: new Set(['readfile', 'readdir', 'statfile']), platforms: [{ os: 'linux', architecture: 'amd64' }], daemon: 'dockerd' };
  }
  async resolveImageConfig(ref: string, opts?: ResolveImageOptions): Promise<ResolvedImage> {
    this.resolved.push({ ref, opts });
    return { ref: `docker.io/library/${ref}`, digest: '', config: { architecture: opts?.platform?.architecture ?? 'amd64', os: 'linux', config: { Cmd: ['sh'] } } };
  }
  async solve(def: { toBytes(): Uint8Array }): Promise<GatewayRef> {
    this.defs.push(Buffer.from(def.toBytes()));
    const d = decodeDefinition(Buffer.from(def.toBytes()));
    const src = d.ops.find((o) => o.op.source)!.op.source;
    this.solves.push({ identifier: src.identifier, attrs: src.attrs ?? {}, kinds: d.ops.map((o) => ['source', 'exec', 'file'].find((k) => o.op[k]) ?? 'other'), ignoreCache: Object.values(d.metadata).filter((m) => m.ignore_cache).length });
    return { id: src.identifier };
  }
  private files(ref: GatewayRef): Record<string, string> {
    const name = ref.id.replace(/^local:\/\//, '');
    const files = this.dirs[name];
    if (!files) throw new Error(`no files for ${ref.id}`);
    return files;
  }
  async readFile(ref: GatewayRef, p: string): Promise<Buffer> {
    this.reads.push(`${ref.id}:${p}`);
    const f = this.files(ref)[p];
    if (f === undefined) throw new StapelkitError('FILE_NOT_FOUND', `read ${p}: no such file or directory`);
    return Buffer.from(f, 'latin1');
  }
  async readDir(ref: GatewayRef, dir: string): Promise<GatewayStat[]> {
    const d = dir === '/' ? '' : dir;
    const names = new Map<string, boolean>();
    for (const p of Object.keys(this.files(ref))) {
      if (d !== '' && !p.startsWith(d + '/')) continue;
      const rest = d === '' ? p : p.slice(d.length + 1);
      const [first, ...more] = rest.split('/');
      names.set(first, more.length > 0 || !!names.get(first));
    }
    return [...names].map(([name, isDir]) => ({ path: name, mode: isDir ? MODE_DIR | 0o755 : 0o644, uid: 0, gid: 0, size: 0, modTime: 0 }));
  }
  async stat(): Promise<GatewayStat> {
    throw new Error('unused');
  }
  async finish(_r?: GatewayResult, _e?: Error): Promise<void> {}
}

const env = (opts: Record<string, string>) => ({ ...frontendEnv({ BUILDKIT_SESSION_ID: 'sess42' }), opts });

const WERF = `project: demo
configVersion: 1
---
image: app
from: busybox
shell:
  install: echo {{ env "GREETING" }}
`;

const t = suite('frontend run');

t('options: Dockerfile-frontend names, Stapelkit extras, errors naming the option', () => {
  const o = parseFrontendOptions({ filename: 'sub/werf.yaml', target: 'app', 'build-arg:A': 'x=y', platform: 'linux/amd64,linux/arm64', 'no-cache': '', 'cache-from': 'r/a,r/b', contextkey: 'ctx', dev: 'true', source: 'img', cmdline: 'img' });
  assert.is(o.filename, 'sub/werf.yaml');
  assert.equal(o.images, ['app']);
  assert.equal(o.buildArgs, { A: 'x=y' });
  assert.equal(o.platforms.map((p) => p.architecture), ['amd64', 'arm64']);
  assert.is(o.noCache, true);
  assert.equal(o.cacheImports, [{ Type: 'registry', Attrs: { ref: 'r/a' } }, { Type: 'registry', Attrs: { ref: 'r/b' } }]);
  assert.is(o.contextKey, 'ctx');
  assert.is(o.dev, true);
  assert.equal(o.rest, {});
  assert.equal(parseFrontendOptions({ 'no-cache': 'a,b', image: 'a,b' }).noCache, ['a', 'b']);
  assert.equal(parseFrontendOptions({ 'cache-imports': '[{"Type":"local","Attrs":{"src":"/c"}}]' }).cacheImports, [{ Type: 'local', Attrs: { src: '/c' } }]);
  assert.throws(() => parseFrontendOptions({ 'cache-imports': '{' }), /frontend option "cache-imports"/);
  assert.throws(() => parseFrontendOptions({ dev: 'maybe' }), /frontend option "dev"/);
  assert.throws(() => parseFrontendOptions({ target: 'a', image: 'b' }), /conflicts/);
  // ssh: the option, or (docker build has no options) the STAPELKIT_SSH build arg; the option wins.
  assert.is(o.ssh, false);
  assert.is(parseFrontendOptions({ ssh: 'true' }).ssh, true);
  assert.is(parseFrontendOptions({ 'build-arg:STAPELKIT_SSH': '1' }).ssh, true);
  assert.is(parseFrontendOptions({ ssh: 'false', 'build-arg:STAPELKIT_SSH': '1' }).ssh, false);
  assert.throws(() => parseFrontendOptions({ 'build-arg:STAPELKIT_SSH': 'sure' }), /frontend option "build-arg:STAPELKIT_SSH"/);
});

t('reads werf.yaml from the dockerfile local (filename followed), the context whole, and builds through the shared core', async () => {
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': WERF }, context: { 'werf.yaml': 'stale copy', 'src/a.txt': 'a' } });
  const res = await runFrontend(gw, env({ filename: 'werf.yaml', 'build-arg:GREETING': 'hi', 'loose-giterminism': 'true', 'label:org.example.team': 'core' }));
  assert.equal(gw.solves[0], { identifier: 'local://dockerfile', attrs: { 'local.followpaths': '["werf.yaml"]', 'local.session': 'sess42', 'local.sharedkeyhint': 'werf.yaml' }, kinds: ['source', 'other'], ignoreCache: 0 });
  assert.equal(gw.solves[1], { identifier: 'local://context', attrs: { 'local.session': 'sess42', 'local.sharedkeyhint': 'context' }, kinds: ['source', 'other'], ignoreCache: 0 });
  const last = gw.solves[gw.solves.length - 1];
  assert.is(last.identifier, 'docker-image://docker.io/library/busybox:latest');
  assert.ok(last.kinds.includes('exec'), `the install stage runs: ${last.kinds.join(',')}`);
  assert.not.ok(gw.reads.includes('local://context:werf.yaml'), 'werf.yaml comes from the dockerfile local only');
  assert.equal((res.refs as GatewayRef).id, 'docker-image://docker.io/library/busybox:latest');
  assert.equal((res.imageConfig as any).config.Cmd, ['sh'], 'the base config carried through');
  assert.ok(Object.keys((res.imageConfig as any).config.Labels ?? {}).some((k) => k.startsWith('werf')), 'werf stage labels from the core');
  assert.is((res.imageConfig as any).config.Labels['org.example.team'], 'core', 'label: options');
});

t('templates and .Files.Get come from the context; giterminism gates env like werf', async () => {
  const werf = `project: demo
configVersion: 1
---
{{ include "base.tmpl" . }}
shell:
  install: echo '{{ .Files.Get "conf/motd" | trim }}'
`;
  const context = { '.werf/base.tmpl': 'image: app\nfrom: busybox', 'conf/motd': 'welcome', 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\n' };
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': werf }, context });
  await runFrontend(gw, env({ filename: 'werf.yaml' }));
  assert.ok(gw.reads.includes('local://context:.werf/base.tmpl'));
  assert.ok(gw.reads.includes('local://context:conf/motd'));
  // env without giterminism permission is refused, positioned
  const gw2 = new MemGateway({ dockerfile: { 'werf.yaml': WERF }, context: { 'werf-giterminism.yaml': 'giterminismConfigVersion: 1\n' } });
  const err = await runFrontend(gw2, env({ 'build-arg:GREETING': 'hi' })).catch((e) => e);
  assert.instance(err, StapelkitError);
  assert.match(err.format(), /GREETING/);
});

t('a bad werf.yaml throws the positioned message', async () => {
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': 'project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nshel:\n  install: x\n' }, context: {} });
  const err = await runFrontend(gw, env({})).catch((e) => e);
  assert.instance(err, StapelkitError);
  assert.match(err.format(), /^werf\.yaml:6(:1)?: .*shel/);
});

t('a missing werf.yaml and an unknown target are clear errors', async () => {
  const e1 = await runFrontend(new MemGateway({ dockerfile: {}, context: {} }), env({ filename: 'werf.yaml' })).catch((e) => e);
  assert.is(e1.code, 'CONFIG_NOT_FOUND');
  const e2 = await runFrontend(new MemGateway({ dockerfile: { 'werf.yaml': WERF }, context: {} }), env({ target: 'nope', 'build-arg:GREETING': 'x', 'loose-giterminism': 'true' })).catch((e) => e);
  assert.is(e2.code, 'FRONTEND_TARGET');
  assert.match(e2.message, /"nope".*"app"/);
});

t('several platforms give per-platform refs; the image platform is passed to resolve', async () => {
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': WERF }, context: {} });
  const res = await runFrontend(gw, env({ platform: 'linux/amd64,linux/arm64', 'build-arg:GREETING': 'x', 'loose-giterminism': 'true' }));
  assert.equal(Object.keys(res.refs).sort(), ['linux/amd64', 'linux/arm64']);
  assert.is((res.imageConfig as any)['linux/arm64'].architecture, 'arm64');
  assert.equal(gw.resolved.map((r) => r.opts?.platform?.architecture), ['amd64', 'arm64']);
});

t('.git in the context gives the HEAD commit (ref file + loose object author time); without it the hash is empty', async () => {
  const hash = 'a'.repeat(40);
  const obj = zlib.deflateSync(Buffer.from(`commit 100\0tree ${'b'.repeat(40)}\nauthor A <a@x> 1700000000 +0300\ncommitter A <a@x> 1700000000 +0300\n\nmsg\n`)).toString('latin1');
  const werf = WERF.replace('echo {{ env "GREETING" }}', 'echo {{ .Commit.Hash }}');
  const context = { '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': hash + '\n', [`.git/objects/aa/${'a'.repeat(38)}`]: obj, 'x.txt': '1' };
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': werf }, context });
  await runFrontend(gw, env({}));
  assert.ok(gw.reads.includes(`local://context:.git/refs/heads/main`));
  const files = new ContextFiles(gw, { id: 'local://context' });
  const r = new ContextGitReader('/nonexistent', files, { hash: '', date: new Date(0), tzOffset: '+0000' });
  for (let i = 0; i < 4 && (r.head(), !files.complete); i++) await files.fetchMissing();
  assert.equal([r.head().hash, r.head().date.getTime(), r.head().tzOffset], [hash, 1700000000_000, '+0300']);
  assert.equal(r.listFiles(), [], 'nothing before listing');
  await files.fetchMissing();
  assert.equal(r.listFiles(), ['x.txt'], '.git is hidden from listings');
  const noGit = new ContextGitReader('/nonexistent', new ContextFiles(new MemGateway({ context: {} }), { id: 'local://context' }), { hash: '', date: new Date(0), tzOffset: '+0000' });
  assert.is(noGit.head().hash, '');
});

t('no-cache marks every op of the image graph ignore-cache; a list applies to the images it names', async () => {
  const solveOf = async (noCache: string) => {
    const gw = new MemGateway({ dockerfile: { 'werf.yaml': WERF }, context: {} });
    await runFrontend(gw, env({ 'no-cache': noCache, 'build-arg:GREETING': 'x', 'loose-giterminism': 'true' }));
    return gw.solves[gw.solves.length - 1];
  };
  const all = await solveOf('');
  assert.is(all.ignoreCache, all.kinds.length, 'every op');
  assert.is((await solveOf('other')).ignoreCache, 0);
  assert.ok((await solveOf('app,other')).ignoreCache > 0);
});

t('git mappings: facts and copies from the context; an add matching nothing and remote mappings are refused with the position', async () => {
  const werf = (git: string) => `project: demo\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\ngit:\n${git}shell:\n  install: echo \${WERF_COMMIT_HASH:-none}\n`;
  const local = '- add: /src\n  to: /app\n  includePaths: ["**/*.go"]\n  stageDependencies:\n    install: [main.go]\n';
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': werf(local) }, context: { 'src/main.go': 'package main', 'src/lib/a.go': 'package lib', 'src/notes.txt': 'n', 'README.md': 'r' } });
  await runFrontend(gw, env({ 'loose-giterminism': 'true' }));
  const last = gw.defs[gw.defs.length - 1].toString('latin1');
  for (const p of ['/src/main.go', '/src/lib/a.go']) assert.ok(last.includes(p), p);
  assert.not.ok(last.includes('notes.txt') || last.includes('README'), 'only the matched files are copied');
  assert.ok(gw.reads.includes('local://context:src/main.go') && !gw.reads.includes('local://context:README.md'), 'only files under add are read');
  assert.ok(last.includes('local://context'), 'copied from the context local, no session source');
  assert.not.ok(last.includes('WERF_COMMIT_HASH='), 'no .git: WERF_COMMIT_* unset');

  const none = await runFrontend(new MemGateway({ dockerfile: { 'werf.yaml': werf('- add: /\n  to: /app\n') }, context: {} }), env({ 'loose-giterminism': 'true' })).catch((e) => e);
  assert.is(none.code, 'GIT_ADD_NO_FILES');
  assert.match(none.format(), /^werf\.yaml:7:\d+: .*matches no files/);
  const remote = await runFrontend(new MemGateway({ dockerfile: { 'werf.yaml': werf('- url: https://example.com/x.git\n  add: /\n  to: /app\n') }, context: {} }), env({ 'loose-giterminism': 'true' })).catch((e) => e);
  assert.is(remote.code, 'FRONTEND_UNSUPPORTED');
  assert.match(remote.format(), /^werf\.yaml:7:\d+: .*remote repositories/);
});

t('Dockerfile images: excludes rebased onto context:, a missing Dockerfile and contextAddFiles refused with the position', async () => {
  assert.is(rebasePattern('', 'x/*.txt'), 'x/*.txt');
  assert.is(rebasePattern('app', 'src/ignored.txt'), 'app/src/ignored.txt');
  assert.is(rebasePattern('app', '!/keep.txt'), '!app/keep.txt');
  const werf = (extra = '') => `project: demo\nconfigVersion: 1\n---\nimage: df\ndockerfile: Dockerfile\ncontext: app\n${extra}`;
  const missing = await runFrontend(new MemGateway({ dockerfile: { 'werf.yaml': werf() }, context: { 'app/other.txt': 'x' } }), env({})).catch((e) => e);
  assert.is(missing.code, 'DOCKERFILE_MISSING');
  assert.match(missing.format(), /^werf\.yaml:4:\d+: .*app\/Dockerfile/);
  const added = await runFrontend(new MemGateway({ dockerfile: { 'werf.yaml': werf('contextAddFiles: [extra.txt]\n') }, context: { 'app/Dockerfile': 'FROM scratch\n' } }), env({ 'loose-giterminism': 'true' })).catch((e) => e);
  assert.is(added.code, 'FRONTEND_UNSUPPORTED');
  assert.match(added.format(), /^werf\.yaml:4:\d+: .*contextAddFiles/);
});

t('secrets and ssh: werf.yaml ids make the Dockerfile mounts required; a value: secret is refused at its position; the daemon\'s not-found errors point at the declaration', async () => {
  const giterminism = 'giterminismConfigVersion: 1\nconfig:\n  secrets:\n    allowEnvVariables: [API_TOKEN]\n    allowValueIds: [inline]\n';
  const werf = (img: string) => `project: demo\nconfigVersion: 1\n---\n${img}`;
  const df = werf('image: df\ndockerfile: Dockerfile\nsecrets:\n- env: API_TOKEN\nssh: default\n');
  const context = { 'Dockerfile': 'FROM busybox\nRUN --mount=type=secret,id=API_TOKEN --mount=type=secret,id=extra --mount=type=ssh true\n', 'werf-giterminism.yaml': giterminism };
  const gw = new MemGateway({ dockerfile: { 'werf.yaml': df }, context });
  await runFrontend(gw, env({}));
  const last = decodeDefinition(gw.defs[gw.defs.length - 1]);
  const mounts = last.ops.flatMap((o) => (o.op.exec?.mounts ?? []) as any[]).filter((m) => m.secretOpt || m.SSHOpt);
  assert.equal(mounts.map((m) => `${(m.secretOpt ?? m.SSHOpt).ID ?? ''}:${(m.secretOpt ?? m.SSHOpt).optional ? 'optional' : 'required'}`), ['API_TOKEN:required', 'extra:optional', ':required']);

  for (const img of ['image: df\ndockerfile: Dockerfile\n', 'image: app\nfrom: busybox\n']) {
    const e = await runFrontend(new MemGateway({ dockerfile: { 'werf.yaml': werf(`${img}secrets:\n- id: inline\n  value: s3cr3t-literal\n`) }, context }), env({})).catch((x) => x);
    assert.is(e.code, 'FRONTEND_UNSUPPORTED', String(e));
    assert.match(e.format(), /^werf\.yaml:\d+:3: image "(df|app)": secret "inline": a `value:` secret cannot be served inside BuildKit.*--secret id=inline,src=FILE/);
    assert.not.ok(e.format().includes('s3cr3t-literal'));
  }

  class Failing extends MemGateway {
    constructor(private readonly daemonMessage: string) {
      super({ dockerfile: { 'werf.yaml': df }, context });
    }
    override async solve(def: { toBytes(): Uint8Array }): Promise<GatewayRef> {
      if (decodeDefinition(Buffer.from(def.toBytes())).ops.some((o) => o.op.exec)) throw new BuildError(this.daemonMessage, 'sha256:x', '[stage-0 2/2] RUN true', undefined, undefined, [], this.daemonMessage);
      return super.solve(def);
    }
  }
  const secret = await runFrontend(new Failing('secret API_TOKEN not found: not found'), env({})).catch((x) => x);
  assert.is(secret.code, 'SECRET_MISSING');
  assert.is(secret.format(), 'werf.yaml:7:3: image "df": secret "API_TOKEN" was not served by the client, asked by [stage-0 2/2] RUN true (give `docker build --secret id=API_TOKEN,src=FILE`)');
  const ssh = await runFrontend(new Failing('no SSH key "" forwarded from the client'), env({})).catch((x) => x);
  assert.is(ssh.code, 'SSH_AGENT');
  assert.match(ssh.format(), /^werf\.yaml:4:1: image "df": ssh "default": the client forwarded no agent "default".*--ssh default/);
  const other = await runFrontend(new Failing('secret extra not found: not found'), env({})).catch((x) => x);
  assert.instance(other, BuildError, 'an id werf.yaml does not declare stays the daemon\'s error');
});

t.run();
