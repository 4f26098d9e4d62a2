import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildError, buildErrorFrom, decodeGrpcError, parseExecFailure } from '../../../src/buildkit/build-error';
import { ProgressCollector, toStatusUpdate } from '../../../src/buildkit/progress';
import { encodeMessage, messageType } from '../../../src/proto';

function grpcError(message: string, details: { type_url: string; value: unknown }[]): Partial<grpc.ServiceError> {
  const md = new grpc.Metadata();
  const status = encodeMessage(messageType('google.rpc.Status'), {
    code: 2,
    message,
    details: details.map((d) => ({ type_url: d.type_url, value: Buffer.from(JSON.stringify(d.value)) })),
  });
  md.set('grpc-status-details-bin', status);
  return { code: 2, details: message, message: `2 UNKNOWN: ${message}`, metadata: md };
}

const RUN = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';

test('decodeGrpcError: vertex and source details from grpc-status-details-bin', () => {
  const d = decodeGrpcError(
    grpcError('executor failed running [/bin/sh -c exit 3]: exit code: 3', [
      { type_url: 'github.com/moby/buildkit/stack.Stack+json', value: { frames: [] } },
      { type_url: 'github.com/moby/buildkit/errdefs.Vertex+json', value: { digest: RUN } },
      { type_url: 'github.com/moby/buildkit/errdefs.Source+json', value: { info: { filename: 'Dockerfile' }, ranges: [{ start: { line: 3 } }] } },
    ]),
  );
  assert.is(d.vertex, RUN);
  assert.equal(d.source, { info: { filename: 'Dockerfile' }, ranges: [{ start: { line: 3 } }] });
  assert.is(d.details.length, 3);
  assert.is(d.message, 'executor failed running [/bin/sh -c exit 3]: exit code: 3');
});

test('decodeGrpcError: no details → plain message', () => {
  const d = decodeGrpcError({ code: 14, details: 'connection refused', metadata: new grpc.Metadata() });
  assert.is(d.message, 'connection refused');
  assert.is(d.vertex, undefined);
});

test('parseExecFailure: v0.8 and later wordings', () => {
  assert.equal(parseExecFailure('executor failed running [/bin/sh -c echo a; exit 3]: exit code: 3'), { command: '/bin/sh -c echo a; exit 3', exitCode: 3 });
  assert.equal(parseExecFailure('process "/bin/sh -c echo \\"a\\"; exit 4" did not complete successfully: exit code: 4'), { command: '/bin/sh -c echo "a"; exit 4', exitCode: 4 });
  assert.equal(parseExecFailure('failed to compute cache key: "/x" not found'), { command: undefined, exitCode: undefined });
});

test('buildErrorFrom: command, exit status and last log lines of the failing vertex', () => {
  const progress = new ProgressCollector();
  const lines = Array.from({ length: 14 }, (_, i) => `line ${i + 1}`).join('\n');
  progress.update(toStatusUpdate({ vertexes: [{ digest: RUN, name: '[2/3] RUN make' }], logs: [{ vertex: RUN, msg: Buffer.from(`${lines}\n`) }] }));
  const e = buildErrorFrom(grpcError('executor failed running [/bin/sh -c make]: exit code: 2', [{ type_url: 'github.com/moby/buildkit/errdefs.Vertex+json', value: { digest: RUN } }]), progress);
  assert.instance(e, BuildError);
  const be = e as BuildError;
  assert.is(be.code, 'BUILD_FAILED');
  assert.is(be.exitCode, 2);
  assert.is(be.command, '/bin/sh -c make');
  assert.is(be.vertexName, '[2/3] RUN make');
  assert.equal(be.logTail, ['line 5', 'line 6', 'line 7', 'line 8', 'line 9', 'line 10', 'line 11', 'line 12', 'line 13', 'line 14']);
  assert.is(be.message.split('\n')[0], "[2/3] RUN make: command 'make' exited 2");
  assert.match(be.message, /last log lines:\n {4}line 5\n/);
});

test('buildErrorFrom: position from errdefs.Source, else from the Definition source map', () => {
  const progress = new ProgressCollector();
  progress.update(toStatusUpdate({ vertexes: [{ digest: RUN, name: 'RUN make', error: 'exit code: 2' }] }));
  const withSource = buildErrorFrom(
    grpcError('executor failed running [/bin/sh -c make]: exit code: 2', [{ type_url: 'github.com/moby/buildkit/errdefs.Source+json', value: { info: { filename: 'Dockerfile' }, ranges: [{ start: { line: 4 } }] } }]),
    progress,
  );
  assert.equal(withSource.pos, { file: 'Dockerfile', line: 4 });
  assert.match(withSource.format(), /^Dockerfile:4: RUN make: command 'make' exited 2$/);
  // No details (dockerd 20.10): the failed vertex comes from the Status stream, the position from the map.
  const fromMap = buildErrorFrom({ code: 2, details: 'executor failed running [/bin/sh -c make]: exit code: 2', metadata: new grpc.Metadata() }, progress, new Map([[RUN, { file: 'werf.yaml', line: 12, column: 5 }]]));
  assert.is((fromMap as BuildError).vertex, RUN);
  assert.match(fromMap.format(), /^werf\.yaml:12:5: RUN make: /);
});

test('buildErrorFrom without a Status stream (a frontend): dockerd 20.10\'s Line/Character source, the op name from the Definition', () => {
  // As dockerd 20.10's BuildKit sends it to a frontend: Vertex + Source with Go's field names, no status.
  const err = grpcError('executor failed running [sh /.werf/stapelkit/script.sh]: exit code: 7', [
    { type_url: 'github.com/moby/buildkit/errdefs.Source+json', value: { info: { filename: 'werf.yaml' }, ranges: [{ start: { Line: 8, Character: 3 }, end: { Line: 8, Character: 3 } }] } },
    { type_url: 'github.com/moby/buildkit/errdefs.Vertex+json', value: { digest: RUN } },
  ]);
  const e = buildErrorFrom(err, undefined, new Map([[RUN, { file: 'werf.yaml', line: 8, column: 3 }]]), undefined, new Map([[RUN, 'image "app", stage install']]));
  assert.equal(e.pos, { file: 'werf.yaml', line: 8, column: 3 });
  assert.is(e.format(), `werf.yaml:8:3: image "app", stage install: command 'sh /.werf/stapelkit/script.sh' exited 7`);
  assert.is((e as BuildError).vertexName, 'image "app", stage install');
});

test('buildErrorFrom: caps and exporters the daemon lacks', () => {
  const cap = buildErrorFrom(grpcError('failed to solve: unknown API capability file.copy.includeexcludepatterns', []));
  assert.is(cap.code, 'CAP_MISSING');
  assert.match(cap.message, /file\.copy\.includeexcludepatterns/);
  const ex = buildErrorFrom(grpcError('exporter "oci" could not be found', []));
  assert.is(ex.code, 'EXPORTER_MISSING');
  assert.is(ex.message, 'the daemon has no "oci" exporter');
});

test.run();
