/**
 * dockerd's HTTP/1.1 "hijack" of a path into a raw HTTP/2 (h2c) connection, as moby's DialHijack
 * does (buildkit-protocols.md §5.1): `POST <path>` with `Connection: Upgrade`, `Upgrade: h2c` and any
 * extra headers (one header line per value); on `101 Switching Protocols` the socket is the new
 * connection. `/grpc`: we are the HTTP/2 client of the daemon's gRPC server. `/session`: the daemon is
 * the gRPC client and we serve.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { StapelkitError } from '../errors';
import type { DaemonAddress } from './transport';

export type DockerdAddress = DaemonAddress & { kind: 'dockerd' };

function connectDockerd(address: DockerdAddress): net.Socket {
  return address.net === 'unix' ? net.connect(address.path) : net.connect({ host: address.host, port: address.port });
}

/**
 * Upgrades `path` on dockerd. Resolves with the socket once the 101 arrived; bytes read past the
 * response head are pushed back so the HTTP/2 layer sees them first. The socket is paused.
 */
export function dialHijack(address: DockerdAddress, urlPath: '/grpc' | '/session', headers: Record<string, string[]> = {}, timeoutMs = 10_000): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = connectDockerd(address);
    let settled = false;
    const fail = (why: string, cause?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(new StapelkitError('DAEMON_UPGRADE', `cannot open ${urlPath} on dockerd at ${address.text}: ${why}`, { cause }));
    };
    const timer = setTimeout(() => fail(`no answer to the ${urlPath} upgrade within ${timeoutMs / 1000}s`), timeoutMs);
    sock.once('error', (e) => fail(e.message, e));
    sock.once('connect', () => {
      const lines = [`POST ${urlPath} HTTP/1.1`, 'Host: docker', 'Connection: Upgrade', 'Upgrade: h2c'];
      for (const [k, values] of Object.entries(headers)) for (const v of values) lines.push(`${k}: ${v}`);
      sock.write(lines.join('\r\n') + '\r\n\r\n');
    });
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > 65536) fail('oversized response head');
        return;
      }
      sock.off('data', onData);
      sock.pause();
      const status = head.subarray(0, head.indexOf('\r\n')).toString();
      if (!/^HTTP\/1\.[01] 101\b/.test(status)) {
        fail(`unexpected response "${status}": ${head.subarray(end + 4).toString().slice(0, 300)}`);
        return;
      }
      const rest = head.subarray(end + 4);
      if (rest.length) sock.unshift(rest);
      settled = true;
      clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    };
    sock.on('data', onData);
  });
}

/** Agent option (not in @types/node's RequestOptions) that skips its TLS server-name check. */
export const PLAIN_HTTP = { servername: '' } as http.RequestOptions;

/** `GET path` on dockerd's API socket: status and body (rejects when the socket does not answer in time). */
export function dockerGet(socketPath: string, urlPath: string, timeoutMs = 2000): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // servername '': no TLS here, and Node's agent would otherwise run isIP (a ~7 ms regex compile on a no-op build's path).
    const req = http.request({ socketPath, path: urlPath, headers: { Host: 'docker' }, ...PLAIN_HTTP }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`docker API ${urlPath}: no answer within ${timeoutMs} ms`)));
    req.end();
  });
}

/** true when dockerd's `GET /_ping` on `socketPath` answers `OK` within timeoutMs. */
export async function dockerPing(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await dockerGet(socketPath, '/_ping', timeoutMs);
    return res.status === 200 && res.body.toString() === 'OK';
  } catch {
    return false;
  }
}
