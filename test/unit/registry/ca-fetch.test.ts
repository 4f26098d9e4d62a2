/**
 * The registry client's fetch when bin/stapelkit deferred $NODE_EXTRA_CA_CERTS (src/registry/ca-fetch.ts,
 * src/util/extra-ca.ts): an https registry whose CA is only in that file is trusted; without the file
 * it is not; the fetch keeps fetch's behaviour for what the client uses (bodies, HEAD, redirects,
 * authorization dropped across origins, errors as TypeError "fetch failed" with the socket error).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fetchWithCa, registryFetch } from '../../../src/registry/ca-fetch';
import { RegistryClient } from '../../../src/registry';
import { defaultCaCertificates, setDeferredCaFile } from '../../../src/util/extra-ca';

const t = suite('registry/ca-fetch');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-cafetch-'));

/** A CA and a server certificate it signed for 127.0.0.1, made with openssl; undefined without openssl. */
function makeCerts(): { caPem: string; caFile: string; key: string; cert: string } | undefined {
  const f = (n: string) => path.join(tmp, n);
  const run = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' }).status === 0;
  fs.writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  const ok =
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=stapelkit-test-ca') &&
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('srv.key'), '-out', f('srv.csr'), '-subj', '/CN=127.0.0.1') &&
    run('x509', '-req', '-in', f('srv.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f('srv.crt'), '-days', '1', '-extfile', f('ext.cnf'));
  if (!ok) return undefined;
  // The deferred file as users have it: a bundle with other certificates around ours.
  const caPem = fs.readFileSync(f('ca.crt'), 'utf8');
  fs.writeFileSync(f('bundle.pem'), `# a comment\n${fs.readFileSync(f('srv.crt'), 'utf8')}\n${caPem}`);
  return { caPem, caFile: f('bundle.pem'), key: fs.readFileSync(f('srv.key'), 'utf8'), cert: fs.readFileSync(f('srv.crt'), 'utf8') };
}

const certs = makeCerts();
const seen: { url: string; method: string; auth?: string; type?: string; body: string }[] = [];
let tlsServer: https.Server;
let plainServer: http.Server;
let tlsBase = '';
let plainBase = '';

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({ url: req.url ?? '', method: req.method ?? '', auth: req.headers.authorization, type: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname === '/v2/') {
      // The plain-http registry sends clients to the https token service for a token.
      const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
      if (!encrypted && req.headers.authorization !== 'Bearer tok') return void res.writeHead(401, { 'www-authenticate': `Bearer realm="${tlsBase}/token",service="test"` }).end();
      return void res.writeHead(200, { 'docker-distribution-api-version': 'registry/2.0', 'content-type': 'application/json' }).end('{}');
    }
    if (u.pathname === '/token') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"tok"}');
    if (u.pathname === '/json') return void res.writeHead(200, { 'content-type': 'application/json', 'x-two': 'a' }).end('{"tags":["x"]}');
    if (u.pathname === '/empty') return void res.writeHead(204).end();
    if (u.pathname === '/same') return void res.writeHead(307, { location: '/json' }).end();
    if (u.pathname === '/away') return void res.writeHead(307, { location: `${plainBase}/landed` }).end();
    if (u.pathname === '/see-other') return void res.writeHead(303, { location: '/landed' }).end();
    if (u.pathname === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`landed ${req.method}`);
  });
}

t.before(async () => {
  if (!certs) return;
  tlsServer = https.createServer({ key: certs.key, cert: certs.cert }, handler);
  plainServer = http.createServer(handler);
  await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => plainServer.listen(0, '127.0.0.1', r));
  tlsBase = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  plainBase = `http://127.0.0.1:${(plainServer.address() as AddressInfo).port}`;
});

t.after(async () => {
  setDeferredCaFile(undefined);
  await Promise.all([tlsServer, plainServer].filter(Boolean).map((s) => new Promise((r) => s.close(r))));
  fs.rmSync(tmp, { recursive: true, force: true });
});

const skip = (name: string) => !certs && (console.log(`${name} skipped: openssl not available`), true);

t('fetchWithCa: trusted CA → status, headers, JSON body; an untrusted server → TypeError "fetch failed" with the TLS error as cause', async () => {
  if (skip('fetchWithCa')) return;
  const f = fetchWithCa([certs!.caPem]);
  const res = await f(`${tlsBase}/json`);
  assert.is(res.status, 200);
  assert.is(res.headers.get('x-two'), 'a');
  assert.equal(await res.json(), { tags: ['x'] });
  const err = await fetchWithCa([]) (`${tlsBase}/json`).then(() => undefined, (e: unknown) => e);
  assert.instance(err, TypeError);
  assert.is((err as Error).message, 'fetch failed');
  assert.match(String(((err as Error).cause as { code?: string }).code), /CERT|SIGNATURE|ISSUER/);
});

t('fetchWithCa: bodies (Buffer, form), HEAD and 204 without a body, redirects (same origin keeps authorization, another drops it, 303 → GET, loops stop)', async () => {
  if (skip('fetchWithCa bodies')) return;
  const f = fetchWithCa([certs!.caPem]);
  seen.length = 0;
  await (await f(`${tlsBase}/put`, { method: 'PUT', body: Buffer.from('bytes'), headers: { 'content-type': 'application/octet-stream' } })).text();
  await (await f(`${tlsBase}/token`, { method: 'POST', body: new URLSearchParams({ scope: 'repository:a:pull' }) })).text();
  assert.equal(seen.map((s) => [s.method, s.type, s.body]), [
    ['PUT', 'application/octet-stream', 'bytes'],
    ['POST', 'application/x-www-form-urlencoded;charset=UTF-8', 'scope=repository%3Aa%3Apull'],
  ]);
  const head = await f(`${tlsBase}/json`, { method: 'HEAD' });
  assert.is(head.status, 200);
  assert.is(head.body, null);
  assert.is((await f(`${tlsBase}/empty`)).status, 204);

  seen.length = 0;
  const same = await f(`${tlsBase}/same`, { headers: { authorization: 'Bearer t' } });
  assert.equal(await same.json(), { tags: ['x'] });
  const away = await f(`${tlsBase}/away`, { headers: { authorization: 'Bearer t' } });
  assert.is(await away.text(), 'landed GET');
  assert.equal(seen.map((s) => [s.url, s.auth ?? null]), [
    ['/same', 'Bearer t'],
    ['/json', 'Bearer t'],
    ['/away', 'Bearer t'],
    ['/landed', null],
  ]);
  const other = await f(`${tlsBase}/see-other`, { method: 'POST', body: 'x' });
  assert.is(await other.text(), 'landed GET');
  const loop = await f(`${tlsBase}/loop`).then(() => undefined, (e: unknown) => e);
  assert.match(String(((loop as Error).cause as Error).message), /redirect count/);
});

t('registryFetch: https trusts the deferred file only when one was deferred; the RegistryClient token flow goes through it', async () => {
  if (skip('registryFetch')) return;
  setDeferredCaFile(undefined);
  assert.is(defaultCaCertificates(), undefined);
  const before = await registryFetch()(`${tlsBase}/v2/`).then(() => 'ok', (e: Error) => e.message);
  assert.is(before, 'fetch failed', "Node's own fetch does not know the test CA");
  setDeferredCaFile(certs!.caFile);
  const roots = defaultCaCertificates()!;
  assert.ok(roots.length >= 2 && roots.includes(certs!.caPem.trim()), 'Node roots plus the file');
  assert.is((await registryFetch()(`${tlsBase}/v2/`)).status, 200);
  // The client's own default fetch: a local plain-http registry whose token service is https.
  seen.length = 0;
  await new RegistryClient(plainBase.replace('http://', ''), {}).ping();
  assert.equal(seen.map((s) => [s.url.replace(/\?.*/, ''), s.auth ?? null]), [
    ['/v2/', null],
    ['/token', null],
    ['/v2/', 'Bearer tok'],
  ]);
  // A file that cannot be read: Node's roots alone, with Node's warning.
  setDeferredCaFile(path.join(tmp, 'missing.pem'));
  const warned: string[] = [];
  const onWarning = (w: Error) => warned.push(w.message);
  process.on('warning', onWarning);
  assert.ok(defaultCaCertificates()!.length > 0);
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  assert.match(warned.join('\n'), /Ignoring extra certs from `.*missing\.pem`/);
  setDeferredCaFile(undefined);
});

t.run();
