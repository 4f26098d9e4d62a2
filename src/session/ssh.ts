/**
 * SSH agent forwarding (moby.sshforward.v1.SSH). Each agent connection made inside a build container
 * becomes one ForwardAgent call whose BytesMessages carry the raw agent protocol; we splice them to a
 * new connection to the local agent socket.
 */
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeBytesMessage } from './packet';
import { pipeBytesMessages } from './stream';

/**
 * Pipes a ForwardAgent call to the unix socket `socketPath`, with backpressure both ways. Resolves
 * when both directions are finished; rejects if the agent cannot be reached.
 */
export function forwardToAgent(call: Duplex, socketPath: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let connected = false;
    let settled = false;
    const settle = (err?: Error) => {
      if (settled) return;
      settled = true;
      if (err) reject(err);
      else resolve();
    };
    sock.on('connect', () => { connected = true; });
    sock.on('error', (e) => {
      if (!connected) return settle(e);
      call.destroy(e);
      settle(e);
    });
    pipeBytesMessages(call, sock);
    call.on('end', () => sock.end());
    call.on('error', () => sock.destroy());
    sock.on('data', (d: Buffer) => {
      if (!call.write(encodeBytesMessage(d))) {
        sock.pause();
        call.once('drain', () => sock.resume());
      }
    });
    sock.on('end', () => call.end());
    sock.on('close', () => settle());
  });
}
