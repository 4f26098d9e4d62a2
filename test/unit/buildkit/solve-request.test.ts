import * as crypto from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { definitionCaps, definitionSourceDigests, definitionSourceMap, encodeSolveRequest } from '../../../src/buildkit/client';
import { decodeMessage, encodeMessage, messageType } from '../../../src/proto';

const op = (o: Record<string, unknown>) => encodeMessage(messageType('pb.Op'), o);
const sha = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

const src = op({ source: { identifier: 'docker-image://docker.io/library/alpine:latest' }, platform: { Architecture: 'amd64', OS: 'linux' }, constraints: {} });
const exec = op({ inputs: [{ digest: sha(src) }], exec: { meta: { args: ['true'] }, mounts: [{ dest: '/' }] } });
const term = op({ inputs: [{ digest: sha(exec) }] });
const def = encodeMessage(messageType('pb.Definition'), {
  def: [src, exec, term],
  metadata: { [sha(src)]: { caps: { 'source.image': true } }, [sha(exec)]: { caps: { 'exec.meta.base': true, 'exec.mount.bind': true } } },
});

test('encodeSolveRequest: Definition and FrontendInputs bytes pass through verbatim', () => {
  const bytes = encodeSolveRequest({ Ref: 'r1', Exporter: 'moby', ExporterAttrs: { name: 'x:1' }, Session: 's1', Entitlements: ['network.host'] }, def, { context: def });
  const req = decodeMessage<any>(messageType('moby.buildkit.v1.SolveRequest'), bytes);
  assert.is(req.Ref, 'r1');
  assert.is(req.Exporter, 'moby');
  assert.equal(req.ExporterAttrs, { name: 'x:1' });
  assert.equal(req.Entitlements, ['network.host']);
  assert.is(req.Definition.def.length, 3);
  assert.ok(Buffer.from(req.Definition.def[1]).equals(exec), 'op bytes unchanged');
  assert.ok(Buffer.from(req.FrontendInputs.context.def[0]).equals(src));
  // The definition is embedded byte for byte (so every op digest is what the LLB layer computed).
  assert.ok(bytes.includes(Buffer.from(def)));
});

test('encodeSolveRequest: no definition means a client-side gateway build request', () => {
  const bytes = encodeSolveRequest({ Ref: 'caps' });
  const req = decodeMessage<any>(messageType('moby.buildkit.v1.SolveRequest'), bytes);
  assert.is(req.Ref, 'caps');
  assert.is(req.Definition, undefined, 'Definition absent (not empty)');
  assert.is(req.Frontend, undefined);
  assert.ok(bytes.equals(Buffer.from([0x0a, 4, ...Buffer.from('caps')])), 'only field 1 on the wire');
});

test('definitionCaps / definitionSourceDigests', () => {
  assert.equal(definitionCaps(def), ['exec.meta.base', 'exec.mount.bind', 'source.image']);
  assert.equal(definitionSourceDigests(def), [sha(src)]);
});

test('definitionSourceMap: op digest → file and line of its first location', () => {
  const withSource = encodeMessage(messageType('pb.Definition'), {
    def: [src, exec, term],
    Source: {
      infos: [{ filename: 'werf.yaml' }, { filename: 'Dockerfile' }],
      locations: {
        [sha(exec)]: { locations: [{ sourceIndex: 1, ranges: [{ start: { line: 7, character: 2 }, end: { line: 7 } }] }, { sourceIndex: 0, ranges: [{ start: { line: 1 } }] }] },
        [sha(src)]: { locations: [{ ranges: [{ start: { line: 3 } }] }] },
      },
    },
  });
  const m = definitionSourceMap(withSource);
  assert.equal(m.get(sha(exec)), { file: 'Dockerfile', line: 7, column: 2 });
  assert.equal(m.get(sha(src)), { file: 'werf.yaml', line: 3 });
  assert.is(definitionSourceMap(def).size, 0);
});

test.run();
