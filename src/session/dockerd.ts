/**
 * Tunnel option B (dockerd only): `POST /session` with an HTTP/1.1 upgrade to h2c, as the docker CLI
 * does. The hijacked socket is the HTTP/2 connection itself, so session traffic skips the extra gRPC
 * framing of `Control.Session` — much faster for large local contexts. The solve then refers to the
 * session by its id.
 */
import * as net from 'node:net';
import { StapelkitError } from '../errors';
import type { Session } from './index';

export interface DockerSessionTarget {
  /** dockerd's unix socket, e.g. /var/run/docker.sock */
  socketPath?: string;
  host?: string;
  port?: number;
}

export interface AttachedDockerSession {
  readonly id: string;
  /** Resolves when the tunnel closed. */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/** Opens `/session` on dockerd and serves `session` over the upgraded connection. */
export function attachDockerSession(session: Session, target: DockerSessionTarget, timeoutMs = 10000): Promise<AttachedDockerSession> {
  return new Promise((resolve, reject) => {
    const sock = target.socketPath ? net.connect(target.socketPath) : net.connect(target.port ?? 2375, target.host ?? '127.0.0.1');
    const where = target.socketPath ?? `${target.host}:${target.port}`;
    const fail = (msg: string, cause?: unknown) => {
      sock.destroy();
      reject(new StapelkitError('E_SESSION_ATTACH', `cannot open a BuildKit session on dockerd at ${where}: ${msg}`, { cause }));
    };
    const timer = setTimeout(() => fail('no answer to the /session upgrade'), timeoutMs);
    sock.once('error', (e) => { clearTimeout(timer); fail(e.message, e); });
    sock.once('connect', () => {
      const lines = ['POST /session HTTP/1.1', 'Host: docker', 'Connection: Upgrade', 'Upgrade: h2c', 'Content-Length: 0'];
      for (const [k, values] of Object.entries(session.metadata())) for (const v of values) lines.push(`${k}: ${v}`);
      sock.write(lines.join('\r\n') + '\r\n\r\n');
    });
    let head = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65536) { clearTimeout(timer); sock.off('data', onData); fail('oversized response header'); }
        return;
      }
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.[01] 101\b/.test(status)) {
        fail(`unexpected response "${status}": ${head.subarray(end + 4).toString().slice(0, 300)}`);
        return;
      }
      sock.removeAllListeners('error');
      const rest = head.subarray(end + 4);
      if (rest.length) sock.unshift(rest);
      const done = session.serve(sock);
      resolve({ id: session.id, done, close: async () => { sock.destroy(); await done; } });
    };
    sock.on('data', onData);
  });
}
