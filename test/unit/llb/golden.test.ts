/**
 * Byte-identity with Go's client/llb: every golden vector (docs/llb-golden-vectors.md, Go v0.11.6,
 * linux/amd64) and Appendix A of docs/buildkit-protocols.md, built with our State API. Ops are
 * compared as a set keyed by digest (Go walks independent inputs concurrently), with exact hex.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import * as llb from '../../../src/llb';
import { GOLDEN } from './golden-vectors';

const PLATFORM = 'linux/amd64';
const busybox = () => llb.image('docker.io/hob/busybox:1');
const context = () => llb.local('context', { uniqueId: 'fixed-unique' });

function marshal(s: llb.State): llb.Definition {
  return llb.marshal(s, { platform: PLATFORM });
}

function assertGolden(name: string, def: llb.Definition): void {
  const want = GOLDEN[name];
  assert.ok(want, `no golden case ${name}`);
  const got = new Map(def.ops.map((o) => [o.digest, o]));
  assert.is(def.ops.length, want.length, `${name}: op count`);
  for (const w of want) {
    const g = got.get(w.digest);
    assert.ok(g, `${name}: missing op ${w.digest} (${w.kind})`);
    assert.is(g!.bytes.toString('hex'), w.hex, `${name}: bytes of ${w.digest}`);
    assert.is(g!.kind, w.kind, `${name}: kind of ${w.digest}`);
  }
  // The digest is the sha256 of exactly these bytes, and the terminal op is last.
  for (const o of def.ops) assert.is(o.digest, 'sha256:' + createHash('sha256').update(o.bytes).digest('hex'));
  assert.is(def.ops[def.ops.length - 1].kind, 'terminal');
  const terminal = want.find((w) => w.kind === 'terminal')!;
  assert.is(def.ops[def.ops.length - 1].digest, terminal.digest);
}

test('golden: image busybox', () => {
  assertGolden('image busybox', marshal(busybox()));
});

test('golden: local context with include/exclude + shared key hint', () => {
  const s = llb.local('context', { includePatterns: ['src/**', '*.lock'], excludePatterns: ['**/*.tmp'], sharedKeyHint: 'ctx', uniqueId: 'fixed-unique' });
  assertGolden('local context with include/exclude + shared key hint', marshal(s));
});

test('golden: local unique id can also come from the marshal options', () => {
  const s = llb.local('context', { includePatterns: ['src/**', '*.lock'], excludePatterns: ['**/*.tmp'], sharedKeyHint: 'ctx' });
  assertGolden('local context with include/exclude + shared key hint', llb.marshal(s, { platform: PLATFORM, localUniqueId: 'fixed-unique' }));
});

test('golden: run sh -c with env/cwd/user (state settings)', () => {
  const s = busybox().addEnv('A', '1').dir('/work').user('33:33').run({ shlex: 'sh -c "echo hi > /x"' }).root();
  assertGolden('run sh -c with env/cwd/user', marshal(s));
});

test('golden: run sh -c with env/cwd/user (run options)', () => {
  const s = busybox().run({ args: ['sh', '-c', 'echo hi > /x'], env: { A: '1' }, cwd: '/work', user: '33:33' }).root();
  assertGolden('run sh -c with env/cwd/user', marshal(s));
});

test('golden: run with cache+tmpfs+secret+ssh mounts', () => {
  const s = busybox()
    .run({
      shlex: 'sh -c true',
      mounts: [
        { type: 'cache', target: '/cache', id: 'hop/build_dir', sharing: 'shared' },
        { type: 'tmpfs', target: '/tmp/t' },
        { type: 'secret', id: 'tok', target: '/run/secrets/tok' },
        { type: 'ssh' },
      ],
    })
    .root();
  assertGolden('run with cache+tmpfs+secret+ssh mounts', marshal(s));
});

test('golden: mount order given does not matter (sorted by target)', () => {
  const s = busybox()
    .run({
      shlex: 'sh -c true',
      mounts: [{ type: 'ssh' }, { type: 'tmpfs', target: '/tmp/t' }, { type: 'secret', id: 'tok' }, { type: 'cache', target: '/cache', id: 'hop/build_dir' }],
    })
    .root();
  assertGolden('run with cache+tmpfs+secret+ssh mounts', marshal(s));
});

test('golden: run with readonly bind of local + network none', () => {
  const s = busybox()
    .run({ shlex: 'ls /src', network: 'none', mounts: [{ target: '/src', from: context(), selector: '/sub', readonly: true }] })
    .root();
  assertGolden('run with readonly bind of local + network none', marshal(s));
});

test('golden: file mkdir + mkfile + rm', () => {
  const fa = llb.mkdir('/app', 0o755, { makeParents: true }).mkfile('/app/f', 0o644, 'data\n').rm('/tmp', { allowNotFound: true });
  assertGolden('file: mkdir + mkfile + rm', marshal(busybox().file(fa)));
});

test('golden: file copy from local with owner + createDestPath', () => {
  const fa = llb.copy(context(), '/src', '/app', { dirCopyContents: true, createDestPath: true, allowWildcard: true, owner: '33:33' });
  assertGolden('file: copy from local with owner + createDestPath', marshal(busybox().file(fa)));
  const fb = llb.copy(context(), '/src', '/app', { dirCopyContents: true, createDestPath: true, allowWildcard: true, owner: { user: 33, group: 33 } });
  assertGolden('file: copy from local with owner + createDestPath', marshal(busybox().file(fb)));
});

test('golden: scratch + mkfile', () => {
  assertGolden('scratch + mkfile', marshal(llb.scratch().file(llb.mkfile('/hello', 0o644, 'hi'))));
});

test('golden: every case of the vector file is covered above', () => {
  assert.equal(Object.keys(GOLDEN).length, 8);
});

// ---- Appendix A of buildkit-protocols.md ----

test('appendix A.1: llb.Image("alpine")', () => {
  const def = marshal(llb.image('alpine'));
  assert.is(def.digest, 'sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7');
  assert.is(
    def.ops[0].bytes.toString('hex'),
    '1a300a2e' + Buffer.from('docker-image://docker.io/library/alpine:latest').toString('hex') + '520e0a05' + Buffer.from('amd64').toString('hex') + '1205' + Buffer.from('linux').toString('hex') + '5a00',
  );
  // A.4: the terminal op and the caps of both ops.
  assert.is(def.ops[1].bytes.toString('hex'), '0a490a47' + Buffer.from('sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7').toString('hex'));
  assert.equal(def.metadata.get(def.ops[0].digest)!.caps, ['source.image']);
  assert.equal(def.metadata.get(def.ops[1].digest)!.caps, ['constraints', 'platform']);
});

test('appendix A.2: llb.Image("golang:alpine")', () => {
  assert.is(marshal(llb.image('golang:alpine')).digest, 'sha256:4530882d321e760e5e25d5b2a3fa86274678c0cd51fb182037c54497bddc7847');
});

test('appendix A.3: WORKDIR /app mkdir FileOp (pre-v0.12 form, with platform)', () => {
  const s = llb.image('alpine').file(llb.mkdir('/app', 0o755, { makeParents: true }));
  const def = marshal(s);
  assert.is(def.digest, 'sha256:8b5944087bea72c9a7cf80d56804b24e810a3acc9cdddb7155e1e83a7a0d11d0');
  assert.equal(def.ops.map((o) => o.digest), [
    'sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7',
    'sha256:8b5944087bea72c9a7cf80d56804b24e810a3acc9cdddb7155e1e83a7a0d11d0',
    def.terminalDigest!,
  ]);
});

test('the default platform is used only when nothing names one', () => {
  assert.is(llb.marshal(llb.image('alpine', { platform: 'linux/amd64' }), { platform: 'linux/arm64' }).digest, 'sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7');
  assert.is.not(llb.marshal(llb.image('alpine'), { platform: 'linux/arm64' }).digest, 'sha256:665ba8b2cdc0cb0200e2a42a6b3c0f8f684089f4cd1b81494fbb9805879120f7');
});

test.run();
