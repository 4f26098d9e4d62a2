import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openTransport, parseAddress, parseDockerHost } from '../../../src/buildkit/transport';
import { StapelkitError } from '../../../src/errors';

test('parseAddress: the supported forms', () => {
  assert.equal(parseAddress('unix:///run/buildkit/buildkitd.sock'), { kind: 'buildkitd', net: 'unix', path: '/run/buildkit/buildkitd.sock', text: 'unix:///run/buildkit/buildkitd.sock' });
  assert.equal(parseAddress('tcp://buildkit.local:1234'), { kind: 'buildkitd', net: 'tcp', host: 'buildkit.local', port: 1234, text: 'tcp://buildkit.local:1234' });
  assert.equal(parseAddress('tcp://[::1]:1234').kind, 'buildkitd');
  assert.is((parseAddress('tcp://[::1]:1234') as { host: string }).host, '::1');
  assert.equal(parseAddress('docker://'), { kind: 'dockerd', net: 'unix', path: '/var/run/docker.sock', text: 'docker://' });
  assert.equal(parseAddress('docker://unix:///tmp/d.sock'), { kind: 'dockerd', net: 'unix', path: '/tmp/d.sock', text: 'docker://unix:///tmp/d.sock' });
  assert.equal(parseAddress('docker://tcp://127.0.0.1:2375'), { kind: 'dockerd', net: 'tcp', host: '127.0.0.1', port: 2375, text: 'docker://tcp://127.0.0.1:2375' });
  const withTls = parseAddress('tcp://h:1', { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' });
  assert.equal((withTls as { tls?: unknown }).tls, { ca: 'ca.pem', cert: 'c.pem', key: 'k.pem' });
  assert.is((parseAddress('tcp://h:1', {}) as { tls?: unknown }).tls, undefined);
});

test('parseDockerHost: DOCKER_HOST values', () => {
  assert.equal(parseDockerHost('unix:///var/run/docker.sock').kind, 'dockerd');
  assert.equal((parseDockerHost('tcp://10.0.0.1:2375') as { port: number }).port, 2375);
  assert.throws(() => parseDockerHost('ssh://me@host'), /unsupported DOCKER_HOST/);
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StapelkitError);
    return `${e.code}: ${e.format()}`;
  }
  return 'no error';
}

test('bad addresses: one clear error each', () => {
  assert.match(codeOf(() => parseAddress('ftp://x')), /^BAD_ADDRESS: unknown daemon address scheme "ftp" in "ftp:\/\/x" \(supported: unix:\/\/, tcp:\/\/, docker:\/\/\)$/);
  assert.match(codeOf(() => parseAddress('/var/run/docker.sock')), /^BAD_ADDRESS: .*missing scheme/);
  assert.match(codeOf(() => parseAddress('unix://relative.sock')), /must be absolute/);
  assert.match(codeOf(() => parseAddress('tcp://host')), /expected host:port/);
  assert.match(codeOf(() => parseAddress('tcp://host:70000')), /out of range/);
  assert.match(codeOf(() => parseAddress('docker://ssh://x')), /unsupported docker transport "ssh"/);
});

test('TLS: missing files and a cert without key are reported before connecting', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-tls-'));
  try {
    const ca = path.join(dir, 'ca.pem');
    fs.writeFileSync(ca, 'not really a certificate');
    const missing = await openTransport(parseAddress('tcp://127.0.0.1:1', { ca, cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') })).catch((e) => e);
    assert.is(missing.code, 'TLS_FILES');
    assert.match(missing.message, /^cannot read TLS files: client certificate .*cert\.pem, client key .*key\.pem$/);
    fs.writeFileSync(path.join(dir, 'cert.pem'), 'x');
    const half = await openTransport(parseAddress('tcp://127.0.0.1:1', { ca, cert: path.join(dir, 'cert.pem') })).catch((e) => e);
    assert.is(half.code, 'TLS_FILES');
    assert.match(half.message, /certificate and its key must be given together/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('unreachable unix socket: a clear error', async () => {
  const e = await openTransport(parseAddress('unix:///nonexistent/buildkitd.sock')).catch((x) => x);
  assert.is(e.code, 'DAEMON_UNREACHABLE');
  assert.is(e.message, 'cannot reach the BuildKit daemon at unix:///nonexistent/buildkitd.sock: /nonexistent/buildkitd.sock does not exist');
});

test.run();
