import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startGrpcUpgradeBridge } from '../../../src/buildkit/transport';

/** A fake dockerd: answers the upgrade (or refuses it), then echoes with a prefix. */
async function fakeDocker(answer: (req: string) => string): Promise<{ sock: string; requests: string[]; close(): void }> {
  const sock = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sk-up-')), 'docker.sock');
  const requests: string[] = [];
  const server = net.createServer((c) => {
    let head = '';
    let upgraded = false;
    c.on('data', (d) => {
      if (upgraded) {
        c.write(`echo:${d.toString()}`);
        return;
      }
      head += d.toString();
      if (!head.includes('\r\n\r\n')) return;
      requests.push(head);
      upgraded = true;
      c.write(answer(head));
    });
    c.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(sock, () => r()));
  return {
    sock,
    requests,
    close: () => {
      server.close();
      fs.rmSync(path.dirname(sock), { recursive: true, force: true });
    },
  };
}

function exchange(sock: string, send: string, wantBytes: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    let got = '';
    c.on('data', (d) => {
      got += d.toString();
      if (got.length >= wantBytes) {
        c.destroy();
        resolve(got);
      }
    });
    c.on('close', () => resolve(got));
    c.on('error', () => resolve(got));
    if (send) c.write(send);
  });
}

test('upgrade bridge: sends POST /grpc with Upgrade: h2c and passes on bytes that came with the 101', async () => {
  const d = await fakeDocker(() => 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\nHELLO');
  const bridge = await startGrpcUpgradeBridge({ kind: 'dockerd', net: 'unix', path: d.sock, text: `docker://unix://${d.sock}` });
  try {
    // First what the daemon sent right after its 101, then the echo of our bytes.
    const got = await exchange(bridge.socketPath, 'ping', 'HELLOecho:ping'.length);
    assert.is(got, 'HELLOecho:ping');
    assert.match(d.requests[0], /^POST \/grpc HTTP\/1\.1\r\n/);
    assert.match(d.requests[0], /\r\nConnection: Upgrade\r\n/);
    assert.match(d.requests[0], /\r\nUpgrade: h2c\r\n/);
    assert.is((fs.statSync(bridge.socketPath).mode & 0o777).toString(8), '600');
  } finally {
    await bridge.close();
    d.close();
  }
  assert.not.ok(fs.existsSync(bridge.socketPath), 'socket removed on close');
});

test('upgrade bridge: a refused upgrade closes the connection', async () => {
  const d = await fakeDocker(() => 'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
  const bridge = await startGrpcUpgradeBridge({ kind: 'dockerd', net: 'unix', path: d.sock, text: 'x' });
  try {
    assert.is(await exchange(bridge.socketPath, 'ping', 1), '');
  } finally {
    await bridge.close();
    d.close();
  }
});

test.run();
