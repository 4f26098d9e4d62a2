/**
 * TLS to a tcp:// daemon against local servers (no daemon needed): a TLS server demanding a client
 * certificate that answers the HTTP/2 preface with SETTINGS, and a plain one. Each mistake a user
 * can make gets a StapelkitError naming the flag that fixes it; no DEP0123 warning for an IP
 * address; the TLS bridge carries bytes both ways. Certificates come from the openssl CLI (the
 * cases skip with the reason when it is missing).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openTransport, parseAddress, type TlsFiles } from '../../../src/buildkit/transport';
import { isStapelkitError, type StapelkitError } from '../../../src/errors';

const SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-tlsunit-'));
const f = (n: string) => path.join(dir, n);

function openssl(args: string[]): boolean {
  return spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' }).status === 0;
}

function makeCerts(): boolean {
  const ok = (a: string[]) => openssl(a);
  const ca = (name: string) => ok(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '1', '-subj', `/CN=${name}`]);
  const leaf = (name: string, caName: string, ext?: string) =>
    ok(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]) &&
    ok(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.pem`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '1', ...(ext ? ['-extfile', ext] : [])]);
  fs.writeFileSync(f('san.cnf'), 'subjectAltName=DNS:buildkitd.test,IP:127.0.0.1\n');
  return ca('ca') && ca('otherca') && leaf('server', 'ca', 'san.cnf') && leaf('client', 'ca') && leaf('stranger', 'otherca');
}

const haveCerts = makeCerts();
if (!haveCerts) console.log('TLS cases skipped: the openssl CLI is not available to make test certificates');
const ctest = haveCerts ? test : (name: string) => test.skip(name);

const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${(w as { code?: string }).code ?? ''} ${w.message}`));

const servers: net.Server[] = [];
async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

let tlsPort = 0;
let plainPort = 0;
const echoed: Buffer[] = [];

test.before(async () => {
  if (!haveCerts) return;
  const read = (n: string) => fs.readFileSync(f(n));
  const server = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (c) => {
    c.once('data', (b) => {
      echoed.push(b);
      c.write(SETTINGS);
    });
    c.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  tlsPort = await listen(server);
  plainPort = await listen(
    net.createServer((c) => {
      c.once('data', () => c.write(SETTINGS));
      c.on('error', () => undefined);
    }),
  );
});

test.after(() => {
  for (const s of servers) s.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function failure(addr: string, files?: TlsFiles): Promise<StapelkitError> {
  try {
    const t = await openTransport(parseAddress(addr, files));
    await t.close();
  } catch (e) {
    assert.ok(isStapelkitError(e), `a StapelkitError, got ${String(e)}`);
    assert.not.match((e as StapelkitError).format(), /error:[0-9A-F]{8}:|routines::/, 'no raw OpenSSL text');
    return e as StapelkitError;
  }
  throw new assert.Assertion({ message: `expected ${addr} to fail`, operator: 'throws', expects: 'error', actual: 'none' });
}

const good = (): TlsFiles => ({ ca: f('ca.pem'), cert: f('client.pem'), key: f('client.key') });

ctest('the right files: the probe passes and the bridge carries HTTP/2 both ways; no DEP0123 for an IP address', async () => {
  const t = await openTransport(parseAddress(`tcp://127.0.0.1:${tlsPort}`, good()));
  try {
    assert.match(t.target, /^unix:/);
    const sock = net.connect(t.target.slice(5));
    const answer = await new Promise<Buffer>((resolve, reject) => {
      sock.once('data', resolve);
      sock.once('error', reject);
      sock.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    });
    sock.destroy();
    assert.ok(answer.equals(SETTINGS), 'the server answer came back through the bridge');
    assert.match(echoed[echoed.length - 1].toString('latin1'), /^PRI \* HTTP\/2\.0/);
  } finally {
    await t.close();
  }
  // --tlsservername: a name the certificate holds.
  const named = await openTransport(parseAddress(`tcp://127.0.0.1:${tlsPort}`, { ...good(), serverName: 'buildkitd.test' }));
  await named.close();
  await new Promise((r) => setImmediate(r));
  assert.equal(warnings.filter((w) => w.includes('DEP0123')), []);
});

ctest('no client certificate → --tlscert/--tlskey', async () => {
  const e = await failure(`tcp://127.0.0.1:${tlsPort}`, { ca: f('ca.pem') });
  assert.is(e.code, 'TLS_HANDSHAKE');
  assert.match(e.message, /requires a client certificate/);
  assert.match(e.hint ?? '', /--tlscert and --tlskey/);
});

ctest('a client certificate from a CA the daemon does not trust → --tlscert/--tlskey', async () => {
  const e = await failure(`tcp://127.0.0.1:${tlsPort}`, { ca: f('ca.pem'), cert: f('stranger.pem'), key: f('stranger.key') });
  assert.is(e.code, 'TLS_HANDSHAKE');
  assert.match(e.message, /rejected the client certificate .*stranger\.pem/, e.message);
  assert.match(e.hint ?? '', /--tlscert and --tlskey/);
});

ctest('the wrong CA → --tlscacert; a name the certificate lacks → --tlsservername', async () => {
  let e = await failure(`tcp://127.0.0.1:${tlsPort}`, { ...good(), ca: f('otherca.pem') });
  assert.match(e.message, /not signed by the CA in .*otherca\.pem/);
  assert.match(e.hint ?? '', /--tlscacert/);
  e = await failure(`tcp://127.0.0.1:${tlsPort}`, { ...good(), serverName: 'elsewhere.test' });
  assert.match(e.message, /not valid for "elsewhere\.test"/);
  assert.match(e.hint ?? '', /--tlsservername/);
});

ctest('a key that does not match the certificate, and a file that is not PEM, are named', async () => {
  let e = await failure(`tcp://127.0.0.1:${tlsPort}`, { ca: f('ca.pem'), cert: f('client.pem'), key: f('stranger.key') });
  assert.is(e.code, 'TLS_FILES');
  assert.match(e.message, /stranger\.key does not belong to the client certificate .*client\.pem/);
  fs.writeFileSync(f('junk.pem'), 'not a certificate\n');
  e = await failure(`tcp://127.0.0.1:${tlsPort}`, { ...good(), ca: f('junk.pem') });
  assert.is(e.code, 'TLS_FILES');
  assert.match(e.message, /junk\.pem \(--tlscacert\) is not a PEM CA certificate/);
});

ctest('plain TCP at the TLS port → --tlscacert; TLS at a plain port → drop the TLS flags', async () => {
  let e = await failure(`tcp://127.0.0.1:${tlsPort}`);
  assert.is(e.code, 'TLS_REQUIRED');
  assert.match(e.hint ?? '', /--tlscacert/);
  e = await failure(`tcp://127.0.0.1:${plainPort}`, good());
  assert.is(e.code, 'TLS_HANDSHAKE');
  assert.match(e.message, /does not speak TLS on this port/);
  assert.match(e.hint ?? '', /drop --tlscacert, --tlscert and --tlskey/);
  // And the plain port without TLS is fine.
  const t = await openTransport(parseAddress(`tcp://127.0.0.1:${plainPort}`));
  await t.close();
});

test.run();
