/**
 * Stand-in for a standalone buildkitd when none is installed: starts a private dockerd and exposes
 * its BuildKit gRPC API the way buildkitd listens — a plain unix socket, or with `--tls` a TCP port
 * speaking mutual TLS (certificates made with openssl) — and prints the environment for running the
 * integration suite against it (the harness then treats it as a buildkitd: base images from a
 * registry, dockerd-only tests skipped). Ctrl-C stops everything.
 *
 *   node --import tsx test/integration/harness/expose-daemon.ts [--tls] > /tmp/env &
 *   env $(cat /tmp/env) node --import tsx test/run.ts integration
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { removeStateDir, startDockerd } from '../../../src/daemon/dockerd';
import { parseAddress, startGrpcUpgradeBridge } from '../../../src/buildkit/transport';
import { ENV } from './daemon';

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}

function makeCerts(dir: string): void {
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stapelkit-expose-ca']);
  fs.writeFileSync(path.join(dir, 'san.cnf'), 'subjectAltName=DNS:buildkitd.test,IP:127.0.0.1\n');
  for (const [name, ext] of [['server', ['-extfile', 'san.cnf']], ['client', []]] as const) {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', ...ext]);
  }
}

async function main(): Promise<void> {
  const useTls = process.argv.includes('--tls');
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-expose-'));
  const inst = await startDockerd({ stateDir });
  const bridge = await startGrpcUpgradeBridge(parseAddress(inst.addr) as Parameters<typeof startGrpcUpgradeBridge>[0]);
  let server: net.Server | undefined;
  const lines: string[] = [];
  if (!useTls) {
    lines.push(`${ENV.addr}=unix://${bridge.socketPath}`);
  } else {
    const certs = path.join(stateDir, 'certs');
    fs.mkdirSync(certs);
    makeCerts(certs);
    const read = (f: string) => fs.readFileSync(path.join(certs, f));
    server = tls.createServer({ key: read('server.key'), cert: read('server.pem'), ca: read('ca.pem'), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] }, (c) => {
      const up = net.connect(bridge.socketPath);
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    lines.push(`${ENV.addr}=tcp://127.0.0.1:${port}`, `${ENV.tlsCa}=${path.join(certs, 'ca.pem')}`, `${ENV.tlsCert}=${path.join(certs, 'client.pem')}`, `${ENV.tlsKey}=${path.join(certs, 'client.key')}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  process.stderr.write(`[expose] dockerd pid ${inst.pid}; BuildKit API exposed${useTls ? ' with mutual TLS' : ''}; Ctrl-C to stop\n`);
  const stop = async () => {
    server?.close();
    await bridge.close();
    await inst.stop();
    removeStateDir(stateDir);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  setInterval(() => undefined, 1 << 30);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
