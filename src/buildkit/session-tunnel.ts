/**
 * The session tunnel: how a client's session (src/session) is served to the daemon. On dockerd the
 * tunnel is the `/session` upgrade (as the docker CLI): the hijacked socket is the HTTP/2 connection
 * itself, which is much faster for large contexts than wrapping every chunk in a `Control.Session`
 * BytesMessage. buildkitd (or `tunnel: 'control'`) uses `Control.Session`.
 */
import { Duplex } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './grpc-js';
import { StapelkitError } from '../errors';
import { waitAtMost, type AnyClient } from './grpc-util';
import { dialHijack, type DockerdAddress } from './hijack';
import type { DaemonAddress } from './transport';

/** What src/session's Session offers (kept structural so this layer does not import it). */
export interface SessionLike {
  readonly id: string;
  /** X-Docker-Expose-Session-* headers; repeated values are sent as separate header fields. */
  metadata(): Record<string, string[]>;
  /** Serves the session's gRPC services (HTTP/2 server role) over `conn` until it closes. */
  serve(conn: Duplex): Promise<void>;
  /** Serves a local OCI layout as the content store `id` (local cache, tar=false exports). */
  addContentStore?(id: string, dir: string): void;
}

export interface AttachedSession {
  readonly id: string;
  /** Ends the tunnel; resolves when session.serve() returned. */
  close(): Promise<void>;
  /** Resolves when the tunnel ended (daemon closed it, or close() was called). */
  readonly done: Promise<void>;
}

/**
 * Serves `session` over `tunnel`. Like Go's client, close() half-closes (`halfClose`, CloseSend)
 * and lets the daemon end the session so in-flight callbacks finish, and cuts the tunnel only if
 * that takes longer than 2 s.
 */
function serveOver(session: SessionLike, tunnel: Duplex, halfClose: () => void, onClose: () => void): AttachedSession {
  const served = session.serve(tunnel).catch(() => undefined);
  return {
    id: session.id,
    done: served,
    close: async () => {
      onClose();
      halfClose();
      await waitAtMost(served, 2000);
      tunnel.destroy();
      await served;
    },
  };
}

async function sessionOverUpgrade(session: SessionLike, address: DockerdAddress, onClose: () => void): Promise<AttachedSession> {
  const sock = await dialHijack(address, '/session', session.metadata());
  return serveOver(session, sock, () => sock.end(), onClose);
}

function sessionOverControl(control: AnyClient, session: SessionLike, onClose: () => void): AttachedSession {
  const md = new (grpcJs().Metadata)();
  for (const [k, values] of Object.entries(session.metadata())) for (const v of values) md.add(k, v);
  const call = control.Session(md) as grpc.ClientDuplexStream<any, any>;
  let ended = false; // the call is finished (either side)
  let sendClosed = false; // we half-closed (CloseSend)
  // Set at once (not after pending writes, as end() would), so later writes are dropped.
  const closeSend = () => {
    if (!ended && !sendClosed) {
      sendClosed = true;
      call.end();
    }
  };
  const duplex = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      if (ended || sendClosed) return cb();
      call.write({ data: chunk }, cb);
    },
    final(cb) {
      closeSend();
      cb();
    },
    read() {
      /* data is pushed as it arrives */
    },
    destroy(err, cb) {
      if (!ended) {
        ended = true;
        call.cancel();
      }
      cb(err);
    },
  });
  call.on('data', (m: { data?: Buffer }) => {
    if (m.data && m.data.length) duplex.push(Buffer.from(m.data));
  });
  call.on('end', () => {
    ended = true;
    duplex.push(null);
  });
  call.on('error', (e: grpc.ServiceError) => {
    ended = true;
    // CANCELLED is our own close(); anything else ends the tunnel the same way.
    if (e.code !== grpcJs().status.CANCELLED) duplex.destroy(e);
    else duplex.push(null);
  });
  // Destroying the duplex cancels the call (see destroy above).
  return serveOver(session, duplex, closeSend, onClose);
}

export type TunnelKind = 'auto' | 'control' | 'upgrade';

/**
 * Opens a tunnel for `session` and lets session.serve() speak HTTP/2 (server role) over it.
 * `onClose` runs when close() is called (the caller forgets the session).
 */
export async function openSessionTunnel(control: AnyClient, address: DaemonAddress, session: SessionLike, tunnel: TunnelKind, onClose: () => void): Promise<AttachedSession> {
  if (tunnel === 'upgrade' && address.kind !== 'dockerd') {
    throw new StapelkitError('SESSION_TUNNEL', `the /session upgrade exists only on dockerd, not on ${address.text}`);
  }
  return address.kind === 'dockerd' && tunnel !== 'control' ? sessionOverUpgrade(session, address as DockerdAddress, onClose) : sessionOverControl(control, session, onClose);
}
