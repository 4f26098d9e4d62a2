/**
 * The session's containerd Content service with a grpc-js client playing BuildKit's side (the
 * daemon's session content proxy: store chosen by `buildkit-attachable-store-id`, the Write stream
 * as containerd's remote writer drives it: STAT, WRITE…, COMMIT, one answer each). Also the client
 * side of local cache / tar=false exports (index.json) and the buildx --cache-from/--cache-to
 * syntax. Untested against a real buildkitd here (dockerd's BuildKit v0.8 cannot export a local
 * cache).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Session } from '../../../src/session';
import { serviceDefinition } from '../../../src/proto';
import { indexDigest, parseCacheSpec, prepareSessionStores, putIndexEntry } from '../../../src/buildkit/cache-options';
import { tmpDir } from './helpers';

const sha256 = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

const Content = grpc.makeGenericClientConstructor(serviceDefinition('containerd.services.content.v1.Content'), 'Content');
type AnyClient = grpc.Client & Record<string, any>;

async function served(stores: Record<string, string>) {
  const session = new Session({ ssh: [], auth: false, contentStores: stores });
  const sock = path.join(tmpDir('csock'), 's.sock');
  const srv = net.createServer((c) => void session.serve(c));
  await new Promise<void>((r) => srv.listen(sock, r));
  const client = new Content(`unix://${sock}`, grpc.credentials.createInsecure()) as AnyClient;
  return {
    session,
    client,
    close: async () => {
      client.close();
      await session.close();
      srv.close();
    },
  };
}

const md = (id: string) => {
  const m = new grpc.Metadata();
  m.set('buildkit-attachable-store-id', id);
  return m;
};

function call<T = any>(client: AnyClient, method: string, req: object, meta: grpc.Metadata): Promise<T> {
  return new Promise((resolve, reject) => client[method](req, meta, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res))));
}

/** Sends each request and waits for its answer, as containerd's remoteWriter.send does. */
function writer(client: AnyClient, meta: grpc.Metadata) {
  const stream = client.Write(meta) as Duplex;
  const answers: any[] = [];
  const waiters: ((v: any) => void)[] = [];
  let failure: grpc.ServiceError | undefined;
  stream.on('data', (m) => (waiters.length ? waiters.shift()!(m) : answers.push(m)));
  stream.on('error', (e: grpc.ServiceError) => {
    failure = e;
    while (waiters.length) waiters.shift()!(undefined);
  });
  const next = () => new Promise<any>((resolve) => (answers.length ? resolve(answers.shift()) : failure ? resolve(undefined) : waiters.push(resolve)));
  return {
    async send(req: object) {
      stream.write(req);
      const res = await next();
      if (!res) throw failure;
      return res;
    },
    close: () => stream.end(),
    failure: () => failure,
  };
}

async function readAll(client: AnyClient, meta: grpc.Metadata, req: object): Promise<{ data: Buffer; offsets: number[] }> {
  const s = client.Read(req, meta) as NodeJS.ReadableStream;
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  for await (const m of s as AsyncIterable<any>) {
    offsets.push(Number(m.offset ?? 0));
    parts.push(Buffer.from(m.data ?? []));
  }
  return { data: Buffer.concat(parts), offsets };
}

test('write a blob in pieces (STAT, WRITE, COMMIT), read it back whole and by range; Info and Status', async () => {
  const dir = tmpDir('cs');
  const { client, session, close } = await served({ [`local:${dir}`]: dir });
  try {
    assert.ok(session.exposedMethods().includes('/containerd.services.content.v1.Content/Write'));
    const m = md(`local:${dir}`);
    const blob = crypto.randomBytes(3 * 1024 * 1024 + 123);
    const dgst = sha256(blob);
    const w = writer(client, m);
    const stat = await w.send({ action: 0, ref: 'layer-1', total: blob.length, expected: dgst });
    assert.is(Number(stat.offset ?? 0), 0);
    assert.is(Number(stat.total), blob.length);
    // Status of the running ingest from another call.
    let offset = 0;
    for (let i = 0; offset < blob.length; i++) {
      const chunk = blob.subarray(offset, offset + 1024 * 1024);
      const r = await w.send({ action: 1, offset, data: chunk });
      offset += chunk.length;
      assert.is(Number(r.offset), offset);
      if (i === 0) {
        const st = await call(client, 'Status', { ref: 'layer-1' }, m);
        assert.is(Number(st.status.offset), 1024 * 1024);
        assert.is(st.status.expected, dgst);
      }
    }
    const done = await w.send({ action: 2, offset, total: blob.length, expected: dgst, labels: { 'containerd.io/gc.root': 'x' } });
    assert.is(done.digest, dgst);
    w.close();

    const blobFile = path.join(dir, 'blobs', 'sha256', dgst.slice(7));
    assert.ok(fs.readFileSync(blobFile).equals(blob), 'the blob is in the OCI layout');
    assert.equal(fs.readdirSync(path.join(dir, 'ingest')), [], 'the ingest is gone');
    const info = await call(client, 'Info', { digest: dgst }, m);
    assert.is(info.info.digest, dgst);
    assert.is(Number(info.info.size), blob.length);
    assert.equal(info.info.labels, { 'containerd.io/gc.root': 'x' });

    const whole = await readAll(client, m, { digest: dgst });
    assert.ok(whole.data.equals(blob));
    assert.ok(whole.offsets.length > 1, 'streamed in chunks');
    assert.is(whole.offsets[0], 0);
    const part = await readAll(client, m, { digest: dgst, offset: 1000, size: 5000 });
    assert.ok(part.data.equals(blob.subarray(1000, 6000)));
    assert.is(part.offsets[0], 1000);

    // Labels can be updated; List shows the blob.
    const up = await call(client, 'Update', { info: { digest: dgst, labels: { a: 'b' } }, update_mask: { paths: ['labels.a'] } }, m);
    assert.equal(up.info.labels, { 'containerd.io/gc.root': 'x', a: 'b' });
    const listed: string[] = [];
    for await (const r of client.List({}, m) as AsyncIterable<any>) for (const i of r.info ?? []) listed.push(i.digest);
    assert.equal(listed, [dgst]);
  } finally {
    await close();
  }
});

test('errors carry containerd codes: existing blob, wrong digest, unknown store/blob/ref, busy ref, bad offset; Abort', async () => {
  const dir = tmpDir('cs2');
  const { client, close } = await served({ export: dir });
  try {
    const m = md('export');
    const data = Buffer.from('hello content');
    const dgst = sha256(data);
    const w = writer(client, m);
    await w.send({ action: 0, ref: 'one' });
    await w.send({ action: 2, data, total: data.length, expected: dgst });
    w.close();

    // Writing it again: AlreadyExists on the first message (content.WriteBlob treats that as success).
    const again = writer(client, m);
    const e1 = await again.send({ action: 0, ref: 'two', expected: dgst }).catch((e) => e);
    assert.is(e1.code, grpc.status.ALREADY_EXISTS, String(e1.message));

    const bad = writer(client, m);
    await bad.send({ action: 0, ref: 'three' });
    const e2 = await bad.send({ action: 2, data: Buffer.from('other'), expected: dgst }).catch((e) => e);
    assert.is(e2.code, grpc.status.FAILED_PRECONDITION);
    assert.match(e2.details, /unexpected commit digest/);

    const e3 = await call(client, 'Info', { digest: dgst }, md('local:/nowhere')).catch((e) => e);
    assert.is(e3.code, grpc.status.NOT_FOUND);
    assert.match(e3.details, /unknown store local:\/nowhere/);
    const e4 = await call(client, 'Info', { digest: sha256(Buffer.from('absent')) }, m).catch((e) => e);
    assert.is(e4.code, grpc.status.NOT_FOUND);
    const e5 = await call(client, 'Info', { digest: dgst }, new grpc.Metadata()).catch((e) => e);
    assert.is(e5.code, grpc.status.INVALID_ARGUMENT);

    // An open ingest: a second writer of the same ref is Unavailable; offsets must match; Abort ends it.
    const open = writer(client, m);
    await open.send({ action: 0, ref: 'busy' });
    await open.send({ action: 1, offset: 0, data: Buffer.from('abc') });
    const other = writer(client, m);
    const e6 = await other.send({ action: 0, ref: 'busy' }).catch((e) => e);
    assert.is(e6.code, grpc.status.UNAVAILABLE);
    const e7 = await open.send({ action: 1, offset: 99, data: Buffer.from('x') }).catch((e) => e);
    assert.is(e7.code, grpc.status.OUT_OF_RANGE);
    const statuses = await call(client, 'ListStatuses', {}, m);
    assert.ok(statuses.statuses.some((s: any) => s.ref === 'busy' && Number(s.offset) === 3));
    await call(client, 'Abort', { ref: 'busy' }, m);
    const e8 = await call(client, 'Status', { ref: 'busy' }, m).catch((e) => e);
    assert.is(e8.code, grpc.status.NOT_FOUND);

    // A resumed write: STAT reports the offset written so far.
    const r1 = writer(client, m);
    await r1.send({ action: 0, ref: 'resume' });
    await r1.send({ action: 1, data: Buffer.from('12345') });
    r1.close();
    await new Promise((r) => setTimeout(r, 50));
    const r2 = writer(client, m);
    const st = await r2.send({ action: 0, ref: 'resume' });
    assert.is(Number(st.offset), 5);
    const fin = await r2.send({ action: 2, offset: 5, data: Buffer.from('678') });
    assert.is(fin.digest, sha256(Buffer.from('12345678')));
    r2.close();
  } finally {
    await close();
  }
});

test('local cache: import resolves the digest from index.json (or warns and skips); export updates index.json after the solve', () => {
  const src = tmpDir('cache-src');
  const manifest = Buffer.from('{"schemaVersion":2}');
  const dgst = sha256(manifest);
  fs.mkdirSync(path.join(src, 'blobs', 'sha256'), { recursive: true });
  fs.writeFileSync(path.join(src, 'blobs', 'sha256', dgst.slice(7)), manifest);
  putIndexEntry(src, { mediaType: 'application/vnd.oci.image.index.v1+json', digest: dgst, size: manifest.length }, [{ tag: 'latest' }]);
  assert.is(indexDigest(src, 'latest'), dgst);
  assert.ok(fs.existsSync(path.join(src, 'oci-layout')));

  const dest = path.join(tmpDir('cache-dest'), 'new');
  const p = prepareSessionStores({
    cacheImports: [{ type: 'local', attrs: { src } }, { type: 'local', attrs: { src: '/nonexistent/cache' } }, { type: 'registry', attrs: { ref: 'r/x:cache' } }],
    cacheExports: [{ type: 'local', attrs: { dest, mode: 'max' } }],
  });
  assert.equal(p.cacheImports, [{ type: 'local', attrs: { src, digest: dgst } }, { type: 'registry', attrs: { ref: 'r/x:cache' } }]);
  assert.equal(p.warnings, ['local cache import at /nonexistent/cache skipped: the directory does not exist']);
  assert.equal(p.stores.map((s) => s.id).sort(), [`local:${dest}`, `local:${src}`].sort());
  assert.ok(fs.existsSync(dest), 'the export dir is created');
  const exported = { mediaType: 'application/vnd.oci.image.index.v1+json', digest: sha256(Buffer.from('x')), size: 1 };
  p.finish({ 'cache.manifest': JSON.stringify(exported) });
  assert.is(indexDigest(dest, 'latest'), exported.digest);

  // oci exporter with tar=false: store "export", index.json named by image.name.
  const out = tmpDir('oci-out');
  const o = prepareSessionStores({ exporter: { type: 'oci', attrs: { tar: 'false', name: 'example.com/app:1' }, outputDir: out } });
  assert.equal(o.stores, [{ id: 'export', dir: out }]);
  const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(Buffer.from('m')), size: 1 };
  o.finish({ 'containerimage.descriptor': Buffer.from(JSON.stringify(desc)).toString('base64'), 'image.name': 'example.com/app:1' });
  const index = JSON.parse(fs.readFileSync(path.join(out, 'index.json'), 'utf8'));
  assert.equal(index.manifests[0].annotations, { 'io.containerd.image.name': 'example.com/app:1', 'org.opencontainers.image.ref.name': '1' });
  assert.throws(() => prepareSessionStores({ exporter: { type: 'oci', attrs: { tar: 'false' } } }), /output directory/);
});

test('--cache-from/--cache-to in buildx syntax', () => {
  assert.equal(parseCacheSpec('--cache-from', 'type=local,src=/tmp/c'), { type: 'local', attrs: { src: '/tmp/c' } });
  assert.equal(parseCacheSpec('--cache-to', 'type=local,dest=/tmp/c,mode=max'), { type: 'local', attrs: { dest: '/tmp/c', mode: 'max' } });
  assert.equal(parseCacheSpec('--cache-from', 'user/app:cache'), { type: 'registry', attrs: { ref: 'user/app:cache' } });
  assert.equal(parseCacheSpec('--cache-to', 'type=inline'), { type: 'inline', attrs: {} });
  assert.equal(parseCacheSpec('--cache-to', 'type=registry,ref=r/x:c,"oci-mediatypes=true"'), { type: 'registry', attrs: { ref: 'r/x:c', 'oci-mediatypes': 'true' } });
  assert.throws(() => parseCacheSpec('--cache-from', 'type=local,dest=/x'), /needs src=DIR/);
  assert.throws(() => parseCacheSpec('--cache-to', 'type=nope'), /unknown cache type "nope"/);
  assert.throws(() => parseCacheSpec('--cache-to', 'src=/x'), /no type=/);
  assert.throws(() => parseCacheSpec('--cache-from', 'type=registry'), /needs ref=IMAGE/);
});

test.run();
