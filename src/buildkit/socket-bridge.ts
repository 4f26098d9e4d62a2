/**
 * A private unix socket (mode 0600, in the temp dir) whose connections a handler forwards somewhere
 * grpc-js cannot dial itself (a hijacked dockerd upgrade, a TLS stream we wrap). The handler adds
 * every socket it opens to `open`, so close() can cut them all.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SocketBridge {
  socketPath: string;
  close(): Promise<void>;
}

/**
 * The bridge, listening when this returns: a unix socket is bound and listening synchronously (only
 * the 'listening' event comes later), so a caller that needs a target now (grpc-js stubs) can make
 * one on demand. A late listen error closes the server; the dial then fails with its own error.
 */
export function openPrivateBridge(prefix: string, onConnection: (local: net.Socket, open: Set<net.Socket>) => void): SocketBridge & { listening: Promise<void> } {
  const socketPath = path.join(os.tmpdir(), `${prefix}-${process.pid}-${crypto.randomBytes(4).toString('hex')}.sock`);
  const open = new Set<net.Socket>();
  const server = net.createServer((local) => onConnection(local, open));
  fs.rmSync(socketPath, { force: true });
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve());
  });
  listening.catch(() => undefined);
  server.listen(socketPath);
  if (fs.existsSync(socketPath)) fs.chmodSync(socketPath, 0o600);
  server.unref();
  return {
    socketPath,
    listening,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
        fs.rmSync(socketPath, { force: true });
      }),
  };
}

export async function listenPrivateBridge(prefix: string, onConnection: (local: net.Socket, open: Set<net.Socket>) => void): Promise<SocketBridge> {
  const bridge = openPrivateBridge(prefix, onConnection);
  await bridge.listening;
  return { socketPath: bridge.socketPath, close: bridge.close };
}
