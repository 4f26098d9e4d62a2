/**
 * The frontend's gateway against an independent gRPC implementation: a grpc-js LLBBridge server
 * (our proto definitions) fed one end of an in-memory duplex pair, our node:http2 client on the
 * other — the same shape as the frontend's stdin/stdout pipe.
 */
import * as grpc from '@grpc/grpc-js';
import { duplexPair } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BuildError } from '../../../src/buildkit/build-error';
import { StapelkitError } from '../../../src/errors';
import { GrpcCallError, GrpcH2Client, frameMessage, unframeMessages } from '../../../src/frontend/grpc-h2';
import { BridgeGateway, encodeResult, errorStatus, frontendEnv } from '../../../src/frontend/stdio-gateway';
import { local, marshal } from '../../../src/llb';
import { decodeMessage, encodeMessage, messageType, serviceDefinition } from '../../../src/proto';

type Calls = { method: string; req: any; raw?: Buffer }[];

/** A fake LLBBridge: answers from `handlers`, records every request. */
function bridge(handlers: Record<string, (req: any) => any>, calls: Calls) {
  const server = new grpc.Server();
  const def = serviceDefinition('moby.buildkit.v1.frontend.LLBBridge');
  // Keep SolveRequest bytes raw, to check the Definition passes through untouched.
  const solveDef = { ...def.Solve, requestDeserialize: (b: Buffer) => b };
  const impl: Record<string, grpc.handleUnaryCall<any, any>> = {};
  for (const m of Object.keys(def)) {
    impl[m] = (call, cb) => {
      let req = call.request;
      let raw: Buffer | undefined;
      if (m === 'Solve') {
        raw = req as Buffer;
        req = decodeMessage(messageType('moby.buildkit.v1.frontend.SolveRequest'), raw);
      }
      calls.push({ method: m, req, raw });
      const h = handlers[m];
      if (!h) return cb({ code: grpc.status.UNIMPLEMENTED, details: `${m} not here` });
      try {
        cb(null, h(req));
      } catch (e) {
        cb(e as grpc.ServiceError);
      }
    };
  }
  server.addService({ ...def, Solve: solveDef }, impl);
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const [clientEnd, serverEnd] = duplexPair();
  injector.injectConnection(serverEnd);
  return { client: new GrpcH2Client(clientEnd), stop: () => server.forceShutdown() };
}

const cap = (ID: string) => ({ ID, Enabled: true });
const PONG = {
  FrontendAPICaps: ['solve.base', 'readfile', 'readdir', 'statfile', 'resolveimage', 'resolveimage.resolvemode', 'return', 'returnmap', 'proto.refarray', 'gateway.solve.evaluate', 'frontend.inputs'].map(cap),
  LLBCaps: ['source.local', 'source.local.sessionid', 'source.local.followpaths', 'source.local.sharedkeyhint', 'source.image', 'constraints', 'platform'].map(cap).concat([{ ID: 'source.local.excludepatterns', Enabled: false }]),
  Workers: [{ ID: 'w0', Labels: { 'org.mobyproject.buildkit.worker.moby.host': 'x' }, platforms: [{ OS: 'linux', Architecture: 'amd64' }, { OS: 'linux', Architecture: 'arm64' }] }],
};

const env = frontendEnv({ BUILDKIT_SESSION_ID: 'sess1', BUILDKIT_EXPORTEDPRODUCT: 'docker', BUILDKIT_FRONTEND_OPT_0: 'filename=werf.yaml' });

const t = suite('frontend stdio gateway');

t('frontendEnv splits options at the first "=" and reads session, workers, product', () => {
  const e = frontendEnv({
    BUILDKIT_FRONTEND_OPT_0: 'build-arg:A=x=y',
    BUILDKIT_FRONTEND_OPT_1: 'no-cache',
    BUILDKIT_FRONTEND_OPT_2: 'filename=werf.yaml',
    BUILDKIT_SESSION_ID: 'abc',
    BUILDKIT_WORKERS: '[{"ID":"w","Labels":{"a":"b"},"Platforms":[{"architecture":"x86_64","os":"linux"}]}]',
    BUILDKIT_EXPORTEDPRODUCT: 'buildkit',
    OTHER: 'ignored',
  });
  assert.equal(e.opts, { 'build-arg:A': 'x=y', 'no-cache': '', filename: 'werf.yaml' });
  assert.is(e.sessionId, 'abc');
  assert.is(e.product, 'buildkit');
  assert.equal(e.workers, [{ id: 'w', labels: { a: 'b' }, platforms: [{ os: 'linux', architecture: 'amd64' }] }]);
});

t('gRPC framing round-trips and refuses compressed or truncated frames', () => {
  const f = Buffer.concat([frameMessage(Buffer.from('ab')), frameMessage(Buffer.alloc(0))]);
  assert.equal(unframeMessages(f).map((b) => b.toString()), ['ab', '']);
  assert.throws(() => unframeMessages(f.subarray(0, 6)), /truncated/);
  const z = Buffer.from(f);
  z[0] = 1;
  assert.throws(() => unframeMessages(z), /compressed/);
});

t('ping gives caps and platforms; solve sends the Definition verbatim with evaluate and cache imports', async () => {
  const calls: Calls = [];
  const { client, stop } = bridge({ Ping: () => PONG, Solve: () => ({ result: { ref: { id: 'r1' } } }) }, calls);
  let first = 0;
  const gw = new BridgeGateway(client, { env, cacheImports: [{ Type: 'registry', Attrs: { ref: 'example/cache' } }], onFirstSolve: () => first++ });
  try {
    const caps = await gw.caps();
    assert.ok(caps.llb.has('source.local'));
    assert.not.ok(caps.llb.has('source.local.excludepatterns'), 'disabled caps are not enabled');
    assert.ok(caps.frontend.has('readdir'));
    assert.equal(caps.platforms.map((p) => `${p.os}/${p.architecture}`), ['linux/amd64', 'linux/arm64']);
    assert.is(caps.daemon, 'dockerd');
    const def = marshal(local('dockerfile', { sessionId: 'sess1', followPaths: ['werf.yaml'], sharedKeyHint: 'dockerfile' }));
    const ref = await gw.solve(def);
    await gw.solve(def);
    assert.is(ref.id, 'r1');
    assert.is(first, 1, 'onFirstSolve once');
    const solve = calls.find((c) => c.method === 'Solve')!;
    assert.is(solve.req.allowResultReturn, true);
    assert.is(solve.req.allowResultArrayRef, true);
    assert.is(solve.req.Evaluate, true);
    assert.equal(solve.req.CacheImports, [{ Type: 'registry', Attrs: { ref: 'example/cache' } }]);
    // The Definition field holds exactly our bytes.
    const reenc = encodeMessage(messageType('pb.Definition'), solve.req.Definition);
    assert.equal(solve.req.Definition.def.map((b: Buffer) => Buffer.from(b).toString('hex')), def.def.map((b) => b.toString('hex')));
    assert.ok(solve.raw!.includes(def.toBytes()), `raw request carries the definition bytes (${reenc.length} B re-encoded)`);
  } finally {
    stop();
  }
});

t('a Definition needing a cap the daemon lacks is refused before it is sent', async () => {
  const calls: Calls = [];
  const { client, stop } = bridge({ Ping: () => PONG }, calls);
  const gw = new BridgeGateway(client, { env });
  try {
    const def = marshal(local('context', { sessionId: 's', excludePatterns: ['x'] }));
    const err = await gw.solve(def).catch((e) => e);
    assert.instance(err, StapelkitError);
    assert.is(err.code, 'CAP_MISSING');
    assert.match(err.message, /source\.local\.excludepatterns/);
    assert.not.ok(calls.some((c) => c.method === 'Solve'));
  } finally {
    stop();
  }
});

t('a failing Solve becomes a BuildError carrying the daemon message', async () => {
  const calls: Calls = [];
  const { client, stop } = bridge({ Ping: () => PONG, Solve: () => { throw { code: grpc.status.UNKNOWN, details: 'failed to compute cache key: "/nope" not found' }; } }, calls);
  const gw = new BridgeGateway(client, { env });
  try {
    const err = await gw.solve(marshal(local('context', { sessionId: 's' }))).catch((e) => e);
    assert.instance(err, BuildError);
    assert.match(err.message, /"\/nope" not found/);
  } finally {
    stop();
  }
});

t('readFile, readDir, stat, resolveImageConfig map to the bridge calls', async () => {
  const calls: Calls = [];
  const { client, stop } = bridge(
    {
      Ping: () => PONG,
      ReadFile: (r) => {
        if (r.FilePath === 'missing') throw { code: grpc.status.UNKNOWN, details: 'open /x/missing: no such file or directory' };
        return { Data: Buffer.from(`data of ${r.FilePath} in ${r.Ref}`) };
      },
      // Pre-encoded: protobufjs's verify() would refuse the int64 string beyond 2^53.
      ReadDir: () => {
        const rt = messageType('moby.buildkit.v1.frontend.ReadDirResponse');
        return Buffer.from(rt.encode(rt.fromObject({ entries: [{ path: 'a.txt', mode: 0o644, size: 3, modTime: '1700000000000000001' }, { path: 'sub', mode: 0x80000000 | 0o755 }] })).finish());
      },
      StatFile: (r) => ({ stat: { path: r.Path, mode: 0o600, uid: 33, gid: 33, size: 7, linkname: '' } }),
      ResolveImageConfig: (r) => ({ Digest: 'sha256:' + 'a'.repeat(64), Config: Buffer.from(JSON.stringify({ architecture: r.Platform?.Architecture ?? '?', os: 'linux', config: { Cmd: ['sh'] } })) }),
    },
    calls,
  );
  const gw = new BridgeGateway(client, { env });
  try {
    assert.is((await gw.readFile({ id: 'r9' }, 'werf.yaml', { offset: 2, length: 10 })).toString(), 'data of werf.yaml in r9');
    const rf = calls.find((c) => c.method === 'ReadFile')!.req;
    assert.equal(rf.Range, { Offset: 2, Length: 10 });
    const nf = await gw.readFile({ id: 'r9' }, 'missing').catch((e) => e);
    assert.is(nf.code, 'FILE_NOT_FOUND');
    const ents = await gw.readDir({ id: 'r9' }, '.', '*.txt');
    assert.is(ents.length, 2);
    assert.is(ents[0].modTime, 1700000000000000001n, 'UnixNano beyond 2^53 stays exact');
    assert.is(calls.find((c) => c.method === 'ReadDir')!.req.IncludePattern, '*.txt');
    const st = await gw.stat({ id: 'r9' }, 'f');
    assert.equal([st.path, st.mode, st.uid, st.size], ['f', 0o600, 33, 7]);
    const img = await gw.resolveImageConfig('busybox', { platform: { os: 'linux', architecture: 'arm64' }, resolveMode: 'local' });
    assert.is(img.ref, 'docker.io/library/busybox:latest');
    assert.is(img.config.architecture, 'arm64');
    assert.is(calls.find((c) => c.method === 'ResolveImageConfig')!.req.ResolveMode, 'local');
  } finally {
    stop();
  }
});

t('finish returns a positioned error as a gRPC status', async () => {
  const calls: Calls = [];
  const { client, stop } = bridge({ Ping: () => PONG, Return: () => ({}) }, calls);
  const gw = new BridgeGateway(client, { env });
  try {
    await gw.finish(undefined, new StapelkitError('CONFIG_INVALID', 'unknown key "shel"', { pos: { file: 'werf.yaml', line: 4, column: 1 } }));
    const ret = calls.find((c) => c.method === 'Return')!.req;
    assert.equal([ret.error.code, ret.error.message], [3, 'werf.yaml:4:1: unknown key "shel"']);
    assert.not.ok(ret.result);
    const again = await gw.finish().catch((e) => e);
    assert.is(again.code, 'GATEWAY_FINISHED');
  } finally {
    stop();
  }
});

t('results: one ref with containerimage.config, or per-platform refs with refs.platforms', () => {
  const one = encodeResult({ refs: { id: 'r1' }, imageConfig: { architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] } } });
  assert.equal(one.ref, { id: 'r1' });
  assert.equal(JSON.parse((one.metadata as any)['containerimage.config'].toString()).config.Cmd, ['sh']);
  const many = encodeResult({ refs: { 'linux/arm64': { id: 'b' }, 'linux/amd64': { id: 'a' } }, imageConfig: { 'linux/amd64': { architecture: 'amd64', os: 'linux' }, 'linux/arm64': { architecture: 'arm64', os: 'linux' } } });
  assert.equal(many.refs, { refs: { 'linux/amd64': { id: 'a' }, 'linux/arm64': { id: 'b' } } });
  const md = many.metadata as Record<string, Buffer>;
  assert.equal(JSON.parse(md['refs.platforms'].toString()), { Platforms: [{ ID: 'linux/amd64', Platform: { architecture: 'amd64', os: 'linux' } }, { ID: 'linux/arm64', Platform: { architecture: 'arm64', os: 'linux' } }] });
  assert.is(JSON.parse(md['containerimage.config/linux/arm64'].toString()).architecture, 'arm64');
  // The encoded result is a valid gateway Result message.
  const bytes = encodeMessage(messageType('moby.buildkit.v1.frontend.ReturnRequest'), { result: many });
  assert.ok(bytes.length > 0);
});

t('a status with details keeps them; errorStatus passes gRPC errors through', () => {
  const st = encodeMessage(messageType('google.rpc.Status'), { code: 5, message: 'not found here', details: [{ type_url: 'x', value: Buffer.from('{}') }] });
  const e = new GrpcCallError('/m', 5, 'not found here', st);
  assert.is(e.status().details!.length, 1);
  assert.equal(errorStatus(e), { code: 5, message: 'not found here' });
  assert.equal(errorStatus(new Error('boom')), { code: 2, message: 'boom' });
});

t('a server that is not there: the call fails with UNAVAILABLE-like errors, not a hang', async () => {
  const [a, b] = duplexPair();
  b.destroy();
  const c = new GrpcH2Client(a);
  const err = await c.unary('/x.Y/Z', Buffer.alloc(0), { timeoutMs: 2000 }).catch((e) => e);
  assert.instance(err, GrpcCallError);
});

t.run();
