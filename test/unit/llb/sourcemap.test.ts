/** LLB source maps: Definition.Source as Go's client/llb writes it; op bytes untouched. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as llb from '../../../src/llb';
import { definitionSourceMap } from '../../../src/buildkit/client';
import { messageType } from '../../../src/proto';

const P = 'linux/amd64';
const YAML = 'project: app\nconfigVersion: 1\n---\nimage: app\nfrom: busybox\nshell:\n  install:\n  - make\n';

function graph(sm?: llb.SourceMap, sm2?: llb.SourceMap) {
  const base = llb.image('docker.io/hob/busybox:1', sm ? { location: sm.at(5, 7) } : {});
  const install = base.run({ shell: 'make', customName: 'image "app", stage install', ...(sm ? { location: sm.location({ start: { line: 8, character: 5 }, end: { line: 8, character: 10 } }) } : {}) });
  const file = install.root().file(llb.mkdir('/x', 0o755), sm2 ? { location: [sm2.at(2), sm!.at(3)] } : {});
  return file;
}

function decodeSource(bytes: Buffer): any {
  const t = messageType('pb.Definition');
  return (t.toObject(t.decode(bytes), { defaults: false, arrays: true, objects: true, bytes: String }) as any).Source;
}

test('locations change neither op bytes nor metadata; Source is written after them', () => {
  const plain = llb.marshal(graph(), { platform: P, localUniqueId: 'u' });
  const sm = new llb.SourceMap('werf.yaml', YAML, undefined, 'yaml');
  const mapped = llb.marshal(graph(sm), { platform: P, localUniqueId: 'u' });
  assert.equal(mapped.def, plain.def);
  assert.equal(mapped.pbMetadata(), plain.pbMetadata());
  assert.is(plain.source, undefined);
  assert.not.ok(decodeSource(plain.toBytes()), 'no Source without locations');
  const bytes = mapped.toBytes();
  assert.ok(bytes.subarray(0, plain.toBytes().length).equals(plain.toBytes()), 'def + metadata prefix identical');
  assert.is(bytes[plain.toBytes().length], 0x1a, 'then field 3 (Source)');
});

test('Source layout: one info per file, locations keyed by op digest, ranges with start and end', () => {
  const sm = new llb.SourceMap('werf.yaml', YAML, undefined, 'yaml');
  const def = llb.marshal(graph(sm), { platform: P });
  const [img] = def.ops.filter((o) => o.kind === 'source');
  const [run] = def.ops.filter((o) => o.kind === 'exec');
  const src = decodeSource(def.toBytes());
  assert.is(src.infos.length, 1);
  assert.is(src.infos[0].filename, 'werf.yaml');
  assert.is(Buffer.from(src.infos[0].data, 'base64').toString(), YAML);
  assert.is(src.infos[0].language, 'yaml');
  assert.equal(Object.keys(src.locations).sort(), [img.digest, run.digest].sort());
  assert.equal(src.locations[run.digest].locations, [{ ranges: [{ start: { line: 8, character: 5 }, end: { line: 8, character: 10 } }] }]);
  assert.equal(src.locations[img.digest].locations, [{ ranges: [{ start: { line: 5, character: 7 }, end: { line: 5, character: 7 } }] }]);
  // What the error reporter reads back.
  const pos = definitionSourceMap(def.toBytes());
  assert.equal(pos.get(run.digest), { file: 'werf.yaml', line: 8, column: 5 });
});

test('several files: infos in order of first use; an op in two files lists both, by source index', () => {
  const sm = new llb.SourceMap('werf.yaml', YAML);
  const tmpl = new llb.SourceMap('.werf/partial.tmpl', 'x: 1\n');
  const def = llb.marshal(graph(sm, tmpl), { platform: P });
  const [file] = def.ops.filter((o) => o.kind === 'file');
  const src = decodeSource(def.toBytes());
  assert.equal(src.infos.map((i: any) => i.filename), ['werf.yaml', '.werf/partial.tmpl']);
  assert.equal(src.locations[file.digest].locations.map((l: any) => l.sourceIndex ?? 0), [0, 1]);
  assert.equal(src.locations[file.digest].locations[0].ranges[0].start, { line: 3 });
  assert.equal(src.locations[file.digest].locations[1].ranges[0].start, { line: 2 });
});

test('equal maps share one info (Go equalSourceMap); deterministic bytes', () => {
  const a = llb.marshal(graph(new llb.SourceMap('werf.yaml', YAML), new llb.SourceMap('werf.yaml', YAML)), { platform: P, localUniqueId: 'u' });
  assert.is(decodeSource(a.toBytes()).infos.length, 1);
  const b = llb.marshal(graph(new llb.SourceMap('werf.yaml', YAML), new llb.SourceMap('werf.yaml', YAML)), { platform: P, localUniqueId: 'u' });
  assert.ok(a.toBytes().equals(b.toBytes()));
});

test('our Source bytes equal protobufjs encoding of the same message (fields in order, sorted map)', () => {
  const sm = new llb.SourceMap('werf.yaml', YAML, undefined, 'yaml');
  const def = llb.marshal(graph(sm, new llb.SourceMap('b.tmpl', 'y')), { platform: P });
  const ours = def.toBytes();
  const t = messageType('pb.Definition');
  const obj = def.toObject() as any;
  // Re-insert map keys sorted so protobufjs writes them in Go's order.
  const sortedLocs: Record<string, unknown> = {};
  for (const k of Object.keys(obj.Source.locations).sort()) sortedLocs[k] = obj.Source.locations[k];
  const sortedMeta: Record<string, unknown> = {};
  for (const k of Object.keys(obj.metadata).sort()) sortedMeta[k] = obj.metadata[k];
  const theirs = Buffer.from(t.encode(t.fromObject({ ...obj, metadata: sortedMeta, Source: { ...obj.Source, locations: sortedLocs } })).finish());
  // protobufjs omits zero scalars too, but writes empty sub-messages only when present: equal here.
  assert.ok(ours.equals(theirs), `${ours.toString('hex')}\n${theirs.toString('hex')}`);
});

test('a SourceInfo can carry the Definition of the file it came from', () => {
  const dfDef = llb.marshal(llb.local('dockerfile', { uniqueId: 'x' }), { platform: P });
  const sm = new llb.SourceMap('Dockerfile', 'FROM busybox\n', dfDef, 'Dockerfile');
  const def = llb.marshal(llb.image('busybox', { location: sm.at(1) }), { platform: P });
  const src = decodeSource(def.toBytes());
  assert.is(src.infos[0].definition.def.length, dfDef.def.length);
});

test('bad locations are refused', () => {
  assert.throws(() => new llb.SourceMap(''), /file name/);
  assert.throws(() => new llb.SourceMap('f').at(-1), /non-negative/);
});

test.run();
