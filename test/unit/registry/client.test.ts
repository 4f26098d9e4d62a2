/**
 * The registry client against a real Debian `docker-registry` started by the test harness (no
 * root needed); anonymous, htpasswd basic auth, and the bearer-token flow with a local token
 * server whose JWTs the registry verifies. Without the docker-registry binary (make unit on a
 * machine without apt packages) the registry cases skip with the reason printed; the parsing
 * cases always run.
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import bcrypt from 'bcryptjs';
import { MediaType, RegistryClient, RegistryError, digestOf, nextLink, parseChallenges, pushDockerArchive } from '../../../src/registry';
import { imageTarball } from '../../../src/daemon/base-images';
import { writeTar } from '../../../src/buildkit/tar';
import { registryBinary, startRegistry, type TestRegistry } from '../../integration/harness/registry';

test('parseChallenges: Bearer with quoted params, Basic, several challenges', () => {
  assert.equal(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } },
  ]);
  assert.equal(parseChallenges('Basic realm="Registry Realm"'), [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  assert.equal(parseChallenges('Basic realm=x, Bearer realm="a,b", error="insufficient_scope"'), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'a,b', error: 'insufficient_scope' } },
  ]);
  assert.equal(parseChallenges('Bearer realm="q\\"uote"'), [{ scheme: 'bearer', params: { realm: 'q"uote' } }]);
});

test('nextLink: rel="next" target of a Link header', () => {
  assert.is(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"'), '/v2/a/tags/list?last=b&n=2');
  assert.is(nextLink('<https://x/y?a=1>; rel="prev", </z?last=q>; rel=next'), '/z?last=q');
  assert.is(nextLink(null), undefined);
});

test('scheme: http for loopback and insecure, https otherwise', () => {
  assert.is(new RegistryClient('127.0.0.1:5000').baseUrl, 'http://127.0.0.1:5000');
  assert.is(new RegistryClient('localhost:5000').baseUrl, 'http://localhost:5000');
  assert.is(new RegistryClient('registry.example:5000', { insecure: true }).baseUrl, 'http://registry.example:5000');
  assert.is(new RegistryClient('ghcr.io').baseUrl, 'https://ghcr.io');
  assert.is(new RegistryClient('docker.io').baseUrl, 'https://registry-1.docker.io');
});

// ── against the real registry ───────────────────────────────────────────────

let skipReason = '';
try {
  registryBinary();
} catch (e) {
  skipReason = (e as Error).message;
}
const rtest = skipReason ? (name: string, _fn: () => unknown) => test.skip(name) : test;
if (skipReason) console.log(`registry cases skipped: ${skipReason}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-regtest-'));
const anonymousCfg = path.join(tmp, 'no-docker-config.json');
let reg: TestRegistry | undefined;
const started: TestRegistry[] = [];

test.after(async () => {
  for (const r of started) await r.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function anonRegistry(): Promise<TestRegistry> {
  if (!reg) {
    reg = await startRegistry();
    started.push(reg);
  }
  return reg;
}

function tinyImage(tag: string, content: string, labels: Record<string, string> = {}) {
  const layer = writeTar([{ type: 'file', path: 'hello.txt', data: Buffer.from(content) }]);
  const { tarball } = imageTarball({ tag, arch: 'amd64', layer });
  return { tarball, labels };
}

rtest('blobs: upload (POST+PUT), HEAD, GET verified; a second upload is skipped', async () => {
  const r = await anonRegistry();
  const c = new RegistryClient(r.host, { credentials: null });
  await c.ping();
  const data = Buffer.from(`blob ${Math.random()}`);
  assert.is(await c.blobSize('t/blobs', digestOf(data)), undefined);
  const up = await c.uploadBlob('t/blobs', data);
  assert.equal(up, { digest: digestOf(data), size: data.length, existed: false });
  assert.is(await c.blobSize('t/blobs', up.digest), data.length);
  assert.ok((await c.getBlob('t/blobs', up.digest)).equals(data));
  assert.is((await c.uploadBlob('t/blobs', data)).existed, true);
  try {
    await c.uploadBlob('t/blobs', data, digestOf(Buffer.from('other')));
    assert.unreachable('a wrong digest must be refused before sending');
  } catch (e) {
    assert.match((e as Error).message, /expected sha256:/);
  }
});

rtest('manifests: docker v2 and OCI by tag and digest, manifest list, HEAD, delete; tags with pagination', async () => {
  const r = await anonRegistry();
  const c = new RegistryClient(r.host, { credentials: null });
  const repo = 't/manifests';
  const cfg = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { 'werf.io/x': '1' } }, rootfs: { type: 'layers', diff_ids: [] } }));
  const cfgUp = await c.uploadBlob(repo, cfg);
  const docker = { schemaVersion: 2 as const, mediaType: MediaType.dockerManifest, config: { mediaType: MediaType.dockerConfig, digest: cfgUp.digest, size: cfg.length }, layers: [] };
  const oci = { schemaVersion: 2 as const, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: cfgUp.digest, size: cfg.length }, layers: [] };
  const d1 = await c.putManifest(repo, 'docker', docker);
  const d2 = await c.putManifest(repo, 'oci', oci);
  assert.is.not(d1, d2);

  const byTag = await c.getManifest(repo, 'docker');
  assert.is(byTag.digest, d1);
  assert.is(byTag.mediaType, MediaType.dockerManifest);
  const byDigest = await c.getManifest(repo, d2);
  assert.is(byDigest.mediaType, MediaType.ociManifest);
  assert.is(digestOf(byDigest.bytes), d2);
  assert.equal(await c.headManifest(repo, 'oci'), { digest: d2, mediaType: MediaType.ociManifest, size: byDigest.bytes.length });
  assert.is(await c.headManifest(repo, 'nosuchtag'), undefined);

  const index = {
    schemaVersion: 2 as const,
    mediaType: MediaType.ociIndex,
    manifests: [
      { mediaType: MediaType.ociManifest, digest: d2, size: byDigest.bytes.length, platform: { os: 'linux', architecture: 'arm64' } },
      { mediaType: MediaType.dockerManifest, digest: d1, size: byTag.bytes.length, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  };
  await c.putManifest(repo, 'multi', index);
  const list = await c.getManifest(repo, 'multi');
  assert.is(list.mediaType, MediaType.ociIndex);
  const img = await c.getImageConfig(repo, 'multi', 'linux/amd64');
  assert.is(img.manifestDigest, d1);
  assert.equal(img.config.config?.Labels, { 'werf.io/x': '1' });
  assert.is((await c.getImageConfig(repo, 'multi', { os: 'linux', architecture: 'arm64' })).manifestDigest, d2);
  try {
    await c.getImageConfig(repo, 'multi', 'linux/s390x');
    assert.unreachable();
  } catch (e) {
    assert.match((e as Error).message, /no manifest for linux\/s390x \(has linux\/arm64, linux\/amd64\)/);
  }

  // Docker manifest list media type too.
  const dl = { ...index, mediaType: MediaType.dockerManifestList };
  await c.putManifest(repo, 'dlist', dl);
  assert.is((await c.getManifest(repo, 'dlist')).mediaType, MediaType.dockerManifestList);

  for (let i = 0; i < 7; i++) await c.putManifest(repo, `p${i}`, docker);
  const all = await c.listTags(repo, 2); // 4+7 tags in pages of 2
  assert.equal(all.sort(), ['dlist', 'docker', 'multi', 'oci', 'p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  assert.equal(await c.listTags('t/does-not-exist'), []);

  await c.deleteManifest(repo, d2);
  assert.is(await c.headManifest(repo, d2), undefined);
  try {
    await c.getManifest(repo, d2);
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof RegistryError);
    assert.is((e as RegistryError).status, 404);
    assert.match((e as Error).message, /MANIFEST_UNKNOWN/);
  }
});

rtest('pushDockerArchive: a docker-save tarball becomes a pullable schema 2 image', async () => {
  const r = await anonRegistry();
  const c = new RegistryClient(r.host, { credentials: null });
  const { tarball } = tinyImage('x:y', 'hello registry');
  const pushed = await pushDockerArchive(c, 't/archive', 'v1', tarball);
  const again = await pushDockerArchive(c, 't/archive', 'v2', tarball);
  assert.is(again.digest, pushed.digest, 'same tarball, same manifest digest');
  const img = await c.getImageConfig('t/archive', 'v1');
  assert.is(img.manifestDigest, pushed.digest);
  assert.is(img.config.architecture, 'amd64');
  const layer = await c.getBlob('t/archive', img.manifest.layers[0].digest);
  assert.is(img.manifest.layers[0].mediaType, MediaType.dockerLayer);
  assert.is(layer[0], 0x1f, 'gzip');
});

rtest('basic auth (htpasswd): 401 without credentials names the fix; credentials from a Docker config work', async () => {
  const htpasswd = path.join(tmp, 'htpasswd');
  fs.writeFileSync(htpasswd, `alice:${bcrypt.hashSync('s3cret', 5)}\n`);
  const r = await startRegistry({ auth: { htpasswd: { realm: 'test-realm', path: htpasswd } } });
  started.push(r);
  try {
    await new RegistryClient(r.host, { dockerConfigPath: anonymousCfg }).listTags('a/b');
    assert.unreachable();
  } catch (e) {
    assert.is((e as RegistryError).status, 401);
    assert.match((e as RegistryError).hint ?? '', /docker login/);
  }
  try {
    await new RegistryClient(r.host, { credentials: { username: 'alice', secret: 'wrong' } }).ping();
    assert.unreachable();
  } catch (e) {
    assert.is((e as RegistryError).status, 401);
  }
  const dockerCfg = path.join(tmp, 'config-basic.json');
  fs.writeFileSync(dockerCfg, JSON.stringify({ auths: { [`http://${r.host}`]: { auth: Buffer.from('alice:s3cret').toString('base64') } } }));
  const c = new RegistryClient(r.host, { dockerConfigPath: dockerCfg });
  const up = await c.uploadBlob('a/b', Buffer.from('basic'));
  assert.ok((await c.getBlob('a/b', up.digest)).equals(Buffer.from('basic')));
});

// A token server as distribution's token auth expects: RS256 JWTs with the signing cert in `x5c`.
function selfSignedCert(): { keyPem: string; certPem: string; certDer: Buffer } | undefined {
  const keyPath = path.join(tmp, 'token.key');
  const certPath = path.join(tmp, 'token.crt');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '1', '-subj', '/CN=stapelkit-test-token'], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const certPem = fs.readFileSync(certPath, 'utf8');
  const certDer = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return { keyPem: fs.readFileSync(keyPath, 'utf8'), certPem, certDer };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

rtest('bearer token flow: challenge → token for the scope (basic creds to the realm) → retried request', async () => {
  const cert = selfSignedCert();
  if (!cert) {
    console.log('bearer case skipped: openssl not available to make the token signing cert');
    return;
  }
  const bundle = path.join(tmp, 'token-bundle.crt');
  fs.writeFileSync(bundle, cert.certPem);
  const seen: { scope: string; user: string }[] = [];
  const server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const authz = req.headers.authorization ?? '';
    const user = authz.startsWith('Basic ') ? Buffer.from(authz.slice(6), 'base64').toString() : '';
    const scope = u.searchParams.get('scope') ?? '';
    seen.push({ scope, user });
    if (user !== 'bob:pw') {
      res.writeHead(401).end('{"details":"bad credentials"}');
      return;
    }
    const access = scope
      .split(' ')
      .filter(Boolean)
      .map((s) => {
        const [type, ...rest] = s.split(':');
        const actions = rest.pop()!.split(',');
        return { type, name: rest.join(':'), actions };
      });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [cert.certDer.toString('base64')] };
    const claims = { iss: 'stapelkit-test', sub: 'bob', aud: u.searchParams.get('service'), exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const sig = crypto.sign('RSA-SHA256', Buffer.from(signingInput), cert.keyPem);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${signingInput}.${b64url(sig)}` }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const r = await startRegistry({ auth: { token: { realm: `http://127.0.0.1:${port}/token`, service: 'test-registry', issuer: 'stapelkit-test', rootcertbundle: bundle } } });
    started.push(r);
    try {
      await new RegistryClient(r.host, { credentials: { username: 'bob', secret: 'nope' } }).listTags('b/c');
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /token server .* refused repository:b\/c:pull: HTTP 401/);
    }
    const c = new RegistryClient(r.host, { credentials: { username: 'bob', secret: 'pw' } });
    const data = Buffer.from('bearer');
    const up = await c.uploadBlob('b/c', data);
    assert.ok((await c.getBlob('b/c', up.digest)).equals(data));
    assert.equal(await c.listTags('b/c'), []);
    const scopes = new Set(seen.filter((s) => s.user === 'bob:pw').map((s) => s.scope));
    assert.ok(scopes.has('repository:b/c:pull'), [...scopes].join(' '));
    assert.ok(scopes.has('repository:b/c:pull,push'), [...scopes].join(' '));
  } finally {
    server.close();
  }
});

test.run();
