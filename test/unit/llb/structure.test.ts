/**
 * Graph structure rules of Go's client/llb that the golden vectors do not pin down on their own:
 * chained file-action indexes, mount sort order and output indices, input dedup, env semantics,
 * path resolution, platform inheritance, ssh/secret defaults.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as llb from '../../../src/llb';
import { isStapelkitError } from '../../../src/errors';

const P = 'linux/amd64';
const busybox = () => llb.image('docker.io/hob/busybox:1');
const ctx = llb.local('context', { uniqueId: 'u1' });
const alpine = llb.image('alpine:3.18');

/** Decoded op producing the state's result, plus the definition. */
function headOp(s: llb.State, opts: llb.MarshalOptions = {}) {
  const def = llb.marshal(s, { platform: P, ...opts });
  const op = def.op(def.digest!)!;
  return { def, op: llb.decodeOp(op.bytes), digestOf: (st: llb.State) => llb.marshal(st, { platform: P }).digest };
}

/** Platform fields that are set (decoding adds an empty OSFeatures list). */
function plat(op: Record<string, any>) {
  const { OSFeatures, ...rest } = op.platform ?? {};
  assert.equal(OSFeatures ?? [], []);
  return rest;
}

function throwsCode(fn: () => unknown, code: string, re?: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.ok(isStapelkitError(e), `expected StapelkitError, got ${e}`);
    assert.is((e as { code: string }).code, code);
    if (re) assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected ${code}`);
}

test('file: chained actions address inputs, then earlier actions; only the last has output 0', () => {
  const base = busybox();
  const fa = llb
    .mkdir('/a', 0o755)
    .copy(ctx, '/x', '/a/')
    .copy(alpine, '/y', '/b')
    .copy(base, '/etc/passwd', '/c') // same as the base: deduplicated to input 0
    .rm('/d');
  const { op, digestOf } = headOp(base.file(fa));
  assert.equal(
    op.inputs.map((i: { digest: string }) => i.digest),
    [digestOf(base), digestOf(ctx), digestOf(alpine)],
  );
  const acts = op.file.actions;
  const idx = (a: Record<string, number>) => [a.input ?? 0, a.secondaryInput ?? 0, a.output ?? 0];
  assert.equal(acts.map(idx), [
    [0, -1, -1],
    [3, 1, -1],
    [4, 2, -1],
    [5, 0, -1],
    [6, -1, 0],
  ]);
  assert.is(acts[1].copy.dest, '/a/'); // trailing slash of a destination is kept
  assert.is(acts[1].copy.mode, -1);
  assert.is(acts[1].copy.timestamp, -1);
});

test('file: on scratch the first action reads input -1 and there are no inputs', () => {
  const { op } = headOp(llb.scratch().file(llb.mkdir('/x', 0o700).mkfile('/x/y', 0o600, new Uint8Array([1, 2]))));
  assert.equal(op.inputs, []);
  assert.is(op.file.actions[0].input, -1);
  assert.is(op.file.actions[1].input ?? 0, 0); // len(inputs)=0 + action 0 (zero: omitted on the wire)
  assert.equal([...op.file.actions[1].mkfile.data], [1, 2]);
});

test('file: relative paths resolve against the dirs of the base and the copy source', () => {
  const fa = llb.mkdir('sub/../d', 0o755).copy(ctx.dir('/src'), 'x/', 'out/.');
  const { op } = headOp(busybox().dir('/w').file(fa));
  assert.is(op.file.actions[0].mkdir.path, '/w/d');
  assert.is(op.file.actions[1].copy.src, '/src/x');
  assert.is(op.file.actions[1].copy.dest, '/w/out/.');
});

test('file: named owners point at the base input; ids are written even when 0', () => {
  const { op } = headOp(busybox().file(llb.copy(ctx, '/', '/app', { owner: 'www-data:0' }).mkdir('/m', 0o755, { owner: { user: 'app' } })));
  assert.equal(op.file.actions[0].copy.owner, { user: { byName: { name: 'www-data' } }, group: { byID: 0 } });
  // On scratch Go would write input -1, which every daemon rejects ("invalid user index: -1"): refuse early.
  throwsCode(() => llb.scratch().file(llb.copy(ctx, '/', '/', { owner: 'app' })), 'LLB_INVALID', /owner "app" is a name, but the base is scratch/);
  throwsCode(() => llb.scratch().file(llb.mkfile('/f', 0o644, 'x', { owner: { user: 1, group: 'staff' } })), 'LLB_INVALID', /"staff"/);
  throwsCode(() => llb.scratch().file(llb.mkdir('/d', 0o755, { owner: '1:wheel' })), 'LLB_INVALID', /"wheel"/);
  const { op: op2 } = headOp(llb.scratch().file(llb.copy(ctx, '/', '/', { owner: '7:8' }).mkfile('/f', 0o644, '', { owner: { user: '9' } })));
  assert.equal(op2.file.actions[0].copy.owner, { user: { byID: 7 }, group: { byID: 8 } });
  assert.equal(op2.file.actions[1].mkfile.owner, { user: { byID: 9 } });
  // byID 0 is a oneof member: Go writes it (`10 00`), protobufjs decodes it back as present.
  const root = llb.marshal(busybox().file(llb.mkdir('/r', 0o755, { owner: 0 })), { platform: P });
  const rootOp = root.op(root.digest!)!;
  assert.ok(rootOp.bytes.toString('hex').includes('22040a021000'), 'mkdir.owner = ChownOpt{user:{byID:0}} = 22 04 0a 02 10 00');
  assert.equal(llb.decodeOp(rootOp.bytes).file.actions[0].mkdir.owner, { user: { byID: 0 } });
});

test('file: mode is masked to 0o777 for mkdir/mkfile but kept for copy; timestamps are UnixNano', () => {
  const t = new Date('2020-01-02T03:04:05.678Z');
  const { op } = headOp(busybox().file(llb.mkdir('/a', 0o4755, { createdTime: t }).copy(ctx, '/x', '/y', { mode: 0o4755, createdTime: 5n })));
  assert.is(op.file.actions[0].mkdir.mode, 0o755);
  assert.is(op.file.actions[0].mkdir.timestamp, String(BigInt(t.getTime()) * 1_000_000n), 'beyond 2^53: decoded exactly, as a string');
  assert.is(op.file.actions[1].copy.mode, 0o4755);
  assert.is(op.file.actions[1].copy.timestamp, 5);
});

test('exec: mounts sorted bytewise by target; outputs only for writable binds; inputs deduplicated', () => {
  const base = busybox();
  const ex = base.run({
    args: ['true'],
    mounts: [
      { target: '/b', from: llb.scratch() },
      { target: '/a', from: ctx, readonly: true },
      { target: '/c', from: alpine },
      { type: 'cache', target: '/0cache', id: 'c1', sharing: 'locked' },
      { target: '/d', from: base, noOutput: true },
      { target: '/B', from: ctx },
    ],
  });
  const { op, def, digestOf } = headOp(ex.root());
  const mounts = op.exec.mounts as Record<string, any>[];
  assert.equal(mounts.map((m) => m.dest), ['/', '/0cache', '/B', '/a', '/b', '/c', '/d']);
  assert.equal(mounts.map((m) => m.output ?? 0), [0, -1, 1, -1, 2, 3, -1]);
  assert.equal(mounts.map((m) => m.input ?? 0), [0, -1, 1, 1, -1, 2, 0]);
  assert.equal(op.inputs.map((i: { digest: string }) => i.digest), [digestOf(base), digestOf(ctx), digestOf(alpine)]);
  assert.is(mounts[1].cacheOpt.sharing, 2);
  assert.ok(def.op(def.digest!)!.caps.includes('exec.mount.bind.readwrite-nooutput'));

  assert.is(ex.getMount('/b').output!.index, 2);
  assert.is(ex.getMount('/c').output!.index, 3);
  assert.is(ex.getMount('/B').output!.index, 1);
  assert.is(ex.root().output!.index, 0);
  assert.is(ex.getMount('/a'), ctx); // read-only mounts give back their source
  throwsCode(() => ex.getMount('/0cache'), 'LLB_INVALID', /no result/);
  throwsCode(() => ex.getMount('/d'), 'LLB_INVALID', /no-output/);
  throwsCode(() => ex.getMount('/nope'), 'LLB_INVALID');
});

test('exec: a mount output consumed by a later op references the exec digest and index', () => {
  const ex = busybox().run({ shell: 'make', mounts: [{ target: '/out', from: llb.scratch() }] });
  const out = ex.getMount('/out');
  const { op } = headOp(llb.scratch().file(llb.copy(out, '/bin', '/bin')));
  const execDigest = llb.marshal(ex.root(), { platform: P }).digest;
  assert.equal(op.inputs, [{ digest: execDigest, index: 1 }]);
  assert.equal(llb.decodeOp(llb.marshal(ex.root(), { platform: P }).op(execDigest!)!.bytes).exec.meta.args, ['/bin/sh', '-c', 'make']);
});

test('exec: readonly rootfs returns the input state and produces no root output', () => {
  const base = busybox();
  const ex = base.run({ args: ['ls'], readonlyRootfs: true, mounts: [{ target: '/o', from: llb.scratch() }] });
  assert.is(ex.root().output, base.output);
  const { op } = headOp(ex.getMount('/o'));
  assert.is(op.exec.mounts[0].readonly, true);
  assert.is(op.exec.mounts[0].output, -1);
  assert.is(ex.getMount('/o').output!.index, 0);
});

test('exec: secrets then ssh sockets after the sorted mounts; ssh defaults and SSH_AUTH_SOCK', () => {
  const { op } = headOp(
    busybox()
      .run({ args: ['x'], mounts: [{ type: 'ssh', id: 'gh' }, { type: 'secret', id: 's', mode: 0o440, uid: 1, gid: 2, optional: true }, { type: 'ssh' }, { type: 'tmpfs', target: '/t', size: 0 }] })
      .root(),
  );
  const m = op.exec.mounts;
  assert.equal(m.map((x: any) => x.dest), ['/', '/t', '/run/secrets/s', '/run/buildkit/ssh_agent.0', '/run/buildkit/ssh_agent.1']);
  assert.equal(m[2].secretOpt, { ID: 's', uid: 1, gid: 2, mode: 0o440, optional: true });
  assert.equal(m[3].SSHOpt, { ID: 'gh', mode: 0o600 });
  assert.equal(op.exec.meta.env, ['SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0']);
  // An SSH_AUTH_SOCK already in the env is kept.
  const { op: op2 } = headOp(busybox().addEnv('SSH_AUTH_SOCK', '/mine').run({ args: ['x'], mounts: [{ type: 'ssh' }] }).root());
  assert.equal(op2.exec.meta.env, ['SSH_AUTH_SOCK=/mine']);
});

test('env: setting a key again moves it to the end; withEnv replaces; run options stay with their run', () => {
  const s = busybox().addEnv('A', '1').addEnv('B', '2').addEnv('A', '3');
  assert.equal(s.env(), ['B=2', 'A=3']);
  assert.equal(s.withEnv({ Z: '9' }).env(), ['Z=9']);
  assert.equal(s.delEnv('B').env(), ['A=3']);
  const root = s.run({ args: ['env'], env: { B: 'x', C: 'y' }, cwd: '/w', user: 'nobody', network: 'none' }).root();
  // Go's Run returns s.WithOutput(exec): the caller's settings, not the run options.
  assert.equal(root.env(), ['B=2', 'A=3']);
  assert.is(root.getDir(), undefined);
  assert.is(root.getUser(), undefined);
  const next = headOp(root.run({ args: ['true'] }).root()).op;
  assert.is(next.exec.meta.user, undefined);
  assert.is(next.exec.network, undefined);
  const { op } = headOp(root);
  assert.equal(op.exec.meta.env, ['A=3', 'B=x', 'C=y']);
  assert.is(op.exec.meta.removeMountStubsRecursive, true);
  throwsCode(() => s.addEnv('A=B', '1'), 'LLB_INVALID_ENV');
});

test('dir: relative dirs join the current one; cwd defaults to /', () => {
  assert.is(busybox().dir('/a').dir('b/../c').getDir(), '/a/c');
  assert.is(busybox().dir('x').getDir(), '/x');
  const { op } = headOp(busybox().run({ args: ['pwd'] }).root());
  assert.is(op.exec.meta.cwd, '/');
});

test('platform: explicit image platform flows into later ops; state platform overrides the default', () => {
  const arm = llb.image('alpine', { platform: 'linux/arm64' });
  assert.equal(arm.getPlatform(), { os: 'linux', architecture: 'arm64' });
  const { op } = headOp(arm.run({ args: ['true'] }).root());
  assert.equal(plat(op), { Architecture: 'arm64', OS: 'linux' });
  const { op: fop } = headOp(arm.file(llb.mkdir('/x', 0o755)));
  assert.equal(plat(fop), { Architecture: 'arm64', OS: 'linux' });
  const { op: v7 } = headOp(busybox().platform('linux/arm').run({ args: ['true'] }).root());
  assert.equal(plat(v7), { Architecture: 'arm', OS: 'linux', Variant: 'v7' });
  // local sources never carry a platform.
  assert.is(llb.decodeOp(llb.marshal(ctx, { platform: P }).ops[0].bytes).platform, undefined);
});

test('network, security, hostname, extra hosts, proxy env are written with their caps', () => {
  const s = busybox().network('host').security('insecure').hostname('box').addExtraHost('db', '10.0.0.2');
  const { op, def } = headOp(s.run({ args: ['true'], proxyEnv: { httpProxy: 'http://p:3128' } }).root());
  assert.is(op.exec.network, 1);
  assert.is(op.exec.security, 1);
  assert.is(op.exec.meta.hostname, 'box');
  assert.equal(op.exec.meta.extraHosts, [{ Host: 'db', IP: '10.0.0.2' }]);
  assert.equal(op.exec.meta.proxy_env, { http_proxy: 'http://p:3128' });
  const caps = def.op(def.digest!)!.caps;
  for (const c of ['exec.meta.network', 'exec.meta.security', 'exec.meta.proxyenv', 'exec.meta.base', 'exec.mount.bind']) assert.ok(caps.includes(c), c);
  throwsCode(() => s.addExtraHost('x', 'not-an-ip'), 'LLB_INVALID');
});

test('exec: bad input is refused with LLB_INVALID', () => {
  throwsCode(() => busybox().run({}), 'LLB_INVALID', /exactly one/);
  throwsCode(() => busybox().run({ args: [] }), 'LLB_INVALID', /arguments/);
  throwsCode(() => busybox().run({ args: ['x'], mounts: [{ target: '', from: ctx }] }), 'LLB_INVALID', /target/);
  throwsCode(() => busybox().run({ args: ['x'], mounts: [{ type: 'secret', id: 's', target: 'rel' }] }), 'LLB_INVALID', /absolute/);
  throwsCode(() => busybox().run({ args: ['x'], mounts: [{ target: '/m', from: ctx }, { type: 'tmpfs', target: '/m' }] }), 'LLB_INVALID', /two mounts/);
  throwsCode(() => busybox().run({ args: ['x'], mounts: [{ type: 'cache', target: '/c', id: '' }] }), 'LLB_INVALID', /id/);
});

test('exec: relative mount targets are written as given (the daemon resolves them against cwd, like Go)', () => {
  const e = busybox().dir('/root').run({ args: ['x'], mounts: [{ target: 'relpath', from: ctx }] });
  const { op } = headOp(e.root());
  assert.equal(op.exec.mounts.map((m: { dest: string }) => m.dest), ['/', 'relpath']);
  assert.is(op.exec.meta.cwd, '/root');
  assert.not.ok(e.getMount('relpath').isScratch(), 'the relative mount is an output of the exec');
});

test('shlex splitting follows shell word rules', () => {
  const { op } = headOp(busybox().run({ shlex: `echo 'a b' "c \\"d\\"" e\\ f` }).root());
  assert.equal(op.exec.meta.args, ['echo', 'a b', 'c "d"', 'e f']);
  throwsCode(() => busybox().run({ shlex: 'echo "oops' }), 'LLB_INVALID', /quote/);
});

test('merge and diff: scratch layers dropped, no platform, caps mergeop/diffop', () => {
  assert.ok(llb.merge([llb.scratch(), llb.scratch()]).isScratch());
  assert.is(llb.merge([ctx, llb.scratch()]), ctx);
  const m = llb.merge([busybox(), llb.scratch(), alpine]);
  const { op, def, digestOf } = headOp(m);
  assert.equal(op.merge.inputs, [{}, { input: 1 }]);
  assert.equal(op.inputs.map((i: { digest: string }) => i.digest), [digestOf(busybox()), digestOf(alpine)]);
  assert.is(op.platform, undefined);
  assert.equal(def.op(def.digest!)!.caps, ['mergeop']);
  const d = headOp(llb.diff(busybox(), alpine));
  assert.equal(d.op.diff, { lower: {}, upper: { input: 1 } });
  assert.equal(d.def.op(d.def.digest!)!.caps, ['diffop']);
});

test('sources: git and http identifiers, attrs and caps', () => {
  const g = llb.marshal(llb.git('https://github.com/werf/werf.git', 'v1.2.0', { keepGitDir: true }), { platform: P });
  const gop = llb.decodeOp(g.ops[0].bytes);
  assert.is(gop.source.identifier, 'git://github.com/werf/werf.git#v1.2.0');
  assert.equal(gop.source.attrs, { 'git.authheadersecret': 'GIT_AUTH_HEADER', 'git.authtokensecret': 'GIT_AUTH_TOKEN', 'git.fullurl': 'https://github.com/werf/werf.git', 'git.keepgitdir': 'true' });
  assert.equal(g.ops[0].caps, ['source.git', 'source.git.fullurl', 'source.git.keepgitdir']);
  assert.is(gop.platform, undefined);

  const ssh = llb.marshal(llb.git('git@github.com:werf/werf.git', 'main', { knownSshHosts: 'github.com ssh-ed25519 AAAA' }), { platform: P });
  const sop = llb.decodeOp(ssh.ops[0].bytes);
  assert.is(sop.source.identifier, 'git://github.com/werf/werf.git#main');
  assert.is(sop.source.attrs['git.fullurl'], 'git@github.com:werf/werf.git');
  assert.is(sop.source.attrs['git.mountsshsock'], 'default');
  assert.ok(ssh.ops[0].caps.includes('source.git.mountsshsock'));

  const bare = llb.decodeOp(llb.marshal(llb.git('github.com/a/b'), { platform: P }).ops[0].bytes);
  assert.is(bare.source.identifier, 'git://github.com/a/b');
  assert.is(bare.source.attrs['git.fullurl'], 'https://github.com/a/b');

  const h = llb.marshal(llb.http('https://example.com/f.tgz', { checksum: 'sha256:' + 'a'.repeat(64), filename: 'f.tgz', perm: 0o644, uid: 1000, gid: 1000 }), { platform: P });
  const hop = llb.decodeOp(h.ops[0].bytes);
  assert.is(hop.source.identifier, 'https://example.com/f.tgz');
  assert.equal(hop.source.attrs, { 'http.checksum': 'sha256:' + 'a'.repeat(64), 'http.filename': 'f.tgz', 'http.gid': '1000', 'http.perm': '0644', 'http.uid': '1000' });
  assert.equal(h.ops[0].caps, ['soruce.http.uidgid', 'source.http', 'source.http.checksum', 'source.http.perm']);
  throwsCode(() => llb.http('ftp://x'), 'LLB_INVALID');
});

test('sources: image resolve mode and local session/patterns', () => {
  const pull = llb.marshal(llb.image('alpine', { resolveMode: 'pull' }), { platform: P });
  assert.equal(llb.decodeOp(pull.ops[0].bytes).source.attrs, { 'image.resolvemode': 'pull' });
  assert.equal(pull.ops[0].caps, ['source.image', 'source.image.resolvemode']);
  const def = llb.marshal(llb.image('alpine', { resolveMode: 'default' }), { platform: P });
  assert.is(def.digest, 'sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7');
  const withSession = llb.marshal(llb.local('ctx', { sessionId: 'sess', followPaths: ['a<b'] }), { platform: P });
  const lop = llb.decodeOp(withSession.ops[0].bytes);
  assert.equal(lop.source.attrs, { 'local.followpaths': '["a\\u003cb"]', 'local.session': 'sess' }); // Go's HTML-safe JSON, no local.unique
  assert.equal(withSession.ops[0].caps, ['source.local', 'source.local.followpaths', 'source.local.sessionid']);
  // Without a fixed id, each marshal gets a fresh random local.unique.
  const a = llb.marshal(llb.local('ctx'), { platform: P }).digest;
  const b = llb.marshal(llb.local('ctx'), { platform: P }).digest;
  assert.is.not(a, b);
});

test('withImageConfig applies env, workdir, user and platform of an image config', () => {
  const cfg = JSON.stringify({ architecture: 'arm64', os: 'linux', config: { Env: ['PATH=/usr/bin:/bin', 'EMPTY', 'A=b=c'], WorkingDir: '/app', User: 'node' } });
  const s = busybox().addEnv('A', 'old').withImageConfig(cfg);
  assert.equal(s.env(), ['PATH=/usr/bin:/bin', 'EMPTY=', 'A=b=c']);
  assert.is(s.getDir(), '/app');
  assert.is(s.getUser(), 'node');
  assert.equal(s.getPlatform(), { os: 'linux', architecture: 'arm64' });
  throwsCode(() => busybox().withImageConfig('{nope'), 'LLB_INVALID', /JSON/);
});

test.run();
