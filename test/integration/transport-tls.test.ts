/**
 * unix:// and tcp:// (plain and mutual TLS) transports against a real BuildKit gRPC endpoint. No
 * standalone buildkitd is installed, so dockerd's `/grpc` stands in: the upgrade bridge turns it
 * into a plain h2c unix socket (what buildkitd listens on), and small local proxies put TCP and a
 * TLS server that demands a client certificate in front of that.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { connect } from '../../src/daemon/connect';
import { parseAddress, startGrpcUpgradeBridge } from '../../src/buildkit/transport';
import { testEnv, type TestEnv } from './harness';

interface Ctx {
  env: TestEnv;
  dir: string;
  /** A plain h2c BuildKit gRPC endpoint: dockerd's /grpc through the upgrade bridge, or buildkitd's own socket. */
  upstream: { dial(): net.Socket; unixPath?: string; close(): Promise<void> };
  servers: net.Server[];
  /** The worker id the test daemon reports, to recognise it through each transport. */
  workerId: string;
}
const t = suite<Ctx>('unix, tcp and mTLS transports');

const warnings: string[] = [];
process.on('warning', (w) => warnings.push(`${(w as { code?: string }).code ?? ''} ${w.message}`));

t.before(async (ctx) => {
  ctx.servers = [];
  ctx.env = await testEnv();
  ctx.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-tls-'));
  const addr = parseAddress(ctx.env.addr);
  if (addr.kind === 'dockerd') {
    const bridge = await startGrpcUpgradeBridge(addr);
    ctx.upstream = { dial: () => net.connect(bridge.socketPath), unixPath: bridge.socketPath, close: bridge.close };
  } else if (addr.net === 'unix') {
    ctx.upstream = { dial: () => net.connect(addr.path), unixPath: addr.path, close: async () => undefined };
  } else if (!addr.tls) {
    ctx.upstream = { dial: () => net.connect(addr.port, addr.host), close: async () => undefined };
  }
  ctx.workerId = (await (await ctx.env.client()).listWorkers())[0].id;
});
t.after(async (ctx) => {
  for (const s of ctx.servers ?? []) s.close();
  await ctx.upstream?.close();
  fs.rmSync(ctx.dir, { recursive: true, force: true });
  await ctx.env?.stop();
});

/** Listens on 127.0.0.1 and pipes each connection to the upstream gRPC endpoint. */
async function listen(ctx: Ctx, server: net.Server): Promise<number> {
  ctx.servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}
function pipeTo(upstream: Ctx['upstream']) {
  return (c: net.Socket) => {
    const up = upstream.dial();
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  };
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

/** The test daemon behind a TLS tcp:// address cannot be re-fronted by plain proxies. */
const noUpstream = (ctx: Ctx) => {
  if (ctx.upstream) return false;
  console.log(`transport-tls: ${ctx.env.addr} is TLS-only, no plain gRPC endpoint to put proxies in front of`);
  return true;
};

t('unix:// reaches a BuildKit gRPC socket directly', async (ctx) => {
  if (noUpstream(ctx) || !ctx.upstream.unixPath) return;
  const client = await connect(`unix://${ctx.upstream.unixPath}`, { embedded: false });
  try {
    assert.is(client.daemonKind, 'buildkitd');
    const workers = await client.listWorkers();
    assert.is(workers[0].id, ctx.workerId);
  } finally {
    await client.close();
  }
});

t('tcp:// without TLS', async (ctx) => {
  if (noUpstream(ctx)) return;
  const port = await listen(ctx, net.createServer(pipeTo(ctx.upstream)));
  const client = await connect(`tcp://127.0.0.1:${port}`, { embedded: false });
  try {
    assert.is((await client.listWorkers())[0].id, ctx.workerId);
    assert.ok((await client.llbCaps()).llb.has('exec.mount.cache'), 'the gateway trick works over TCP too');
  } finally {
    await client.close();
  }
});

t('tcp:// with mutual TLS: works with the client certificate, fails clearly without', async (ctx) => {
  if (noUpstream(ctx)) return;
  const d = ctx.dir;
  openssl(d, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=stapelkit-test-ca']);
  fs.writeFileSync(path.join(d, 'san.cnf'), 'subjectAltName=DNS:buildkitd.test,IP:127.0.0.1\n');
  openssl(d, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=buildkitd.test']);
  openssl(d, ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.cnf']);
  openssl(d, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=stapelkit-client']);
  openssl(d, ['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '1']);
  const read = (f: string) => fs.readFileSync(path.join(d, f));
  let authorized = 0;
  const server = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (c) => {
    if (c.authorized) authorized++;
    pipeTo(ctx.upstream)(c);
  });
  server.on('tlsClientError', () => undefined);
  const port = await listen(ctx, server);
  const files = { ca: path.join(d, 'ca.pem'), cert: path.join(d, 'client.pem'), key: path.join(d, 'client.key') };

  const client = await connect(`tcp://127.0.0.1:${port}`, { embedded: false, tls: files });
  try {
    assert.is((await client.listWorkers())[0].id, ctx.workerId);
    assert.ok(authorized >= 1, 'the server saw a verified client certificate');
  } finally {
    await client.close();
  }

  // Server name other than the address host.
  const named = await connect(`tcp://127.0.0.1:${port}`, { embedded: false, tls: { ...files, serverName: 'buildkitd.test' } });
  try {
    assert.is((await named.listWorkers())[0].id, ctx.workerId);
  } finally {
    await named.close();
  }

  // No client certificate: connect() probes the handshake and names the flags to fix it.
  const e = await connect(`tcp://127.0.0.1:${port}`, { embedded: false, tls: { ca: files.ca } }).catch((x) => x);
  assert.is(e.code, 'TLS_HANDSHAKE', String(e.message));
  assert.match(e.message, /requires a client certificate/);
  assert.match(e.hint, /--tlscert and --tlskey/);
  // Plain TCP at the TLS port.
  const plain = await connect(`tcp://127.0.0.1:${port}`, { embedded: false }).catch((x) => x);
  assert.is(plain.code, 'TLS_REQUIRED', String(plain.message));
  assert.match(plain.hint, /--tlscacert/);
  // An IP address as the server name: no DEP0123 (the server name is set only for host names).
  assert.equal(warnings.filter((w) => w.includes('DEP0123')), []);
});

t.run();
