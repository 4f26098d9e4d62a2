/** Marshalling: walk order, dedup, metadata, encoding of the whole pb.Definition. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as llb from '../../../src/llb';
import { messageType } from '../../../src/proto';

const P = 'linux/amd64';
const busybox = () => llb.image('docker.io/hob/busybox:1');

test('usage example: image → run with a cache mount → copy from local → marshal → toBytes', () => {
  const src = llb.local('context', { sessionId: 'sess-1', excludePatterns: ['.git'] });
  const built = llb
    .image('golang:1.22-alpine')
    .dir('/src')
    .run({
      shell: 'go build -o /out/app ./...',
      env: { CGO_ENABLED: '0' },
      mounts: [
        { target: '/src', from: src, readonly: true },
        { type: 'cache', target: '/root/.cache/go-build', id: 'go-build', sharing: 'locked' },
        { target: '/out', from: llb.scratch() },
      ],
      customName: 'go build',
    })
    .getMount('/out');
  const final = llb.image('alpine:3.19').file(llb.copy(built, '/app', '/usr/local/bin/app', { mode: 0o755 }), { customName: 'install app' });
  const def = llb.marshal(final, { platform: 'linux/amd64', caps: llb.BUILDKIT_V08_LLB_CAPS, daemon: 'BuildKit v0.8' });
  const bytes = def.toBytes();

  const decoded = llb.decodeDefinition(bytes);
  assert.equal(decoded.ops.map((o) => o.digest), def.ops.map((o) => o.digest));
  // Inputs of the file op in order: its base (alpine), then the copy source (the exec and its inputs).
  assert.equal(def.ops.map((o) => o.kind), ['source', 'source', 'source', 'exec', 'file', 'terminal']);
  assert.equal(def.ops.map((o) => o.name).slice(0, 5), [
    'docker-image://docker.io/library/alpine:3.19',
    'docker-image://docker.io/library/golang:1.22-alpine',
    'local://context',
    'go build',
    'install app',
  ]);
  const execOp = def.ops[3];
  const exec = llb.decodeOp(execOp.bytes).exec;
  assert.equal(exec.mounts.map((m: { dest: string }) => m.dest), ['/', '/out', '/root/.cache/go-build', '/src']);
  assert.equal(exec.meta.args, ['/bin/sh', '-c', 'go build -o /out/app ./...']);
  assert.is(exec.meta.cwd, '/src');
  assert.equal(llb.decodeOp(def.op(def.digest!)!.bytes).inputs[1], { digest: execOp.digest, index: 1 }); // /out is output 1
  assert.is(decoded.metadata[def.digest!].description['llb.customname'], 'install app');
  assert.ok(decoded.metadata[execOp.digest].caps['exec.mount.cache']);
});

test('post-order walk, dedup by digest, terminal last pointing at the head output', () => {
  const base = busybox();
  const a = base.run({ args: ['a'] }).root();
  const b = busybox().run({ args: ['b'] }).root(); // an equal but separately built image op
  const m = a.file(llb.copy(b, '/x', '/x').copy(base, '/y', '/y'));
  const def = llb.marshal(m, { platform: P });
  const digests = def.ops.map((o) => o.digest);
  assert.is(new Set(digests).size, digests.length);
  assert.is(def.ops.filter((o) => o.kind === 'source').length, 1);
  const pos = new Map(digests.map((d, i) => [d, i]));
  for (const o of def.ops) {
    const op = llb.decodeOp(o.bytes);
    for (const inp of op.inputs ?? []) assert.ok(pos.get(inp.digest)! < pos.get(o.digest)!, 'inputs come first');
  }
  const terminal = llb.decodeOp(def.ops[def.ops.length - 1].bytes);
  assert.equal(terminal, { inputs: [{ digest: def.digest }] });
  assert.is(def.head!.index, 0);
});

test('metadata: caps per op, sorted; descriptions and progress groups; export cache', () => {
  const s = busybox().run({ args: ['x'], progressGroup: { id: 'g1', name: 'stage', weak: true }, exportCache: false, description: { 'com.example': 'y' } }).root();
  const def = llb.marshal(s, { platform: P });
  const md = def.pbMetadata();
  assert.equal(Object.keys(md), [...Object.keys(md)].sort());
  const execMd = md[def.digest!];
  assert.equal(Object.keys(execMd.caps!), ['exec.meta.base', 'exec.mount.bind']);
  assert.equal(execMd.progress_group, { id: 'g1', name: 'stage', weak: true });
  assert.equal(execMd.export_cache, { Value: false });
  assert.equal(execMd.description, { 'com.example': 'y' });
  assert.equal(Object.keys(md[def.terminalDigest!].caps!), ['constraints', 'meta.description', 'meta.exportcache', 'platform']);
});

test('toBytes equals protobufjs encoding of toObject (same pb.Definition either way)', () => {
  const s = busybox().run({ args: ['x'], customName: 'n', ignoreCache: true }).root().file(llb.mkdir('/a', 0o755));
  const def = llb.marshal(s, { platform: P });
  const viaPbjs = Buffer.from(messageType('pb.Definition').encode(messageType('pb.Definition').fromObject(def.toObject())).finish());
  assert.is(viaPbjs.toString('hex'), def.toBytes().toString('hex'));
});

test('toBytes equals protobufjs encoding of toObject with every OpMetadata field (unsorted description, export cache both ways, progress group)', () => {
  const a = busybox().run({ args: ['a'], customName: 'z-name', description: { 'z.last': '1', 'a.first': '2', 'é.utf8': '3' }, exportCache: false, progressGroup: { id: 'g', name: 'group', weak: true } }).root();
  const b = a.run({ args: ['b'], exportCache: true, ignoreCache: true, progressGroup: { id: 'h' } }).root().file(llb.rm('/x', { allowWildcard: true }));
  const def = llb.marshal(b, { platform: P });
  const viaPbjs = Buffer.from(messageType('pb.Definition').encode(messageType('pb.Definition').fromObject(def.toObject())).finish());
  assert.is(viaPbjs.toString('hex'), def.toBytes().toString('hex'));
});

test('scratch marshals to an empty Definition', () => {
  const def = llb.marshal(llb.scratch(), { platform: P });
  assert.equal(def.ops, []);
  assert.is(def.digest, undefined);
  assert.is(def.toBytes().length, 0);
  assert.equal(def.toObject(), { def: [], metadata: {} });
});

test('marshalling twice gives identical bytes (with a fixed local id)', () => {
  const s = busybox().file(llb.copy(llb.local('c'), '/', '/'));
  const a = llb.marshal(s, { platform: P, localUniqueId: 'x' }).toBytes();
  const b = llb.marshal(s, { platform: P, localUniqueId: 'x' }).toBytes();
  assert.is(a.toString('hex'), b.toString('hex'));
});

test.run();
