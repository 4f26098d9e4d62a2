/**
 * The client side of a BuildKit session: a gRPC server we run over a byte tunnel to the daemon
 * (`Control.Session` or dockerd's `/session` upgrade). Over the tunnel we are the HTTP/2 server and the
 * daemon is the gRPC client calling our attachables: Health, FileSync (local contexts), FileSend
 * (exporter output), Secrets, SSH agent forwarding and registry Auth.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import type * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../proto';
import { StapelkitError } from '../errors';
import { sendDiffCopy, receiveDiffCopy, type ReceiveResult } from './diffcopy';
import { decodeBytesMessage } from './packet';
import { secretsFromSources, type SecretSource, type SecretsProvider } from './secrets';
import { forwardToAgent } from './ssh';
import { lookupCredentials } from './auth';

export { secretsFromSources, type SecretSource, type SecretsProvider } from './secrets';
export type { ReceiveResult } from './diffcopy';

export interface SyncedDir {
  dir: string;
  /** Client-side excludes (.dockerignore); they win over daemon-sent excludes unless it sends override-excludes=true. */
  excludes?: string[];
  /** Reserved: symlinks are always sent as symlinks, as fsutil does; followpaths come from the daemon. */
  followSymlinks?: boolean;
}

export type ExportTarget =
  | { kind: 'local'; dir: string }
  | { kind: 'tar'; file: string }
  | { kind: 'stream'; stream: Writable; /** end the stream when the export is done (default true) */ end?: boolean };

export interface SshAgentSpec { id?: string; socket?: string }

export interface SessionOptions {
  name?: string;
  sharedKey?: string;
  /** `local://<name>` → host directory. */
  syncedDirs?: Record<string, SyncedDir>;
  secrets?: SecretsProvider | SecretSource[];
  /** Agents to forward; default: one agent `default` from SSH_AUTH_SOCK when that is set. [] disables. */
  ssh?: SshAgentSpec[];
  /** Serve Auth.Credentials from the Docker CLI config (default true). */
  auth?: boolean;
  exportTarget?: ExportTarget;
  /** DATA payload size for FileSync (default 32 KiB like fsutil). */
  chunkSize?: number;
}

export interface SessionStats {
  /** Per FileSync call: dir name, entries and bytes sent, duration. */
  syncs: { dirName: string; entries: number; files: number; bytes: number; ms: number; error?: string }[];
  exports: { kind: ExportTarget['kind']; bytes: number; ms: number }[];
}

const M = {
  health: '/grpc.health.v1.Health/Check',
  fileSync: '/moby.filesync.v1.FileSync/DiffCopy',
  fileSend: '/moby.filesync.v1.FileSend/DiffCopy',
  secrets: '/moby.buildkit.secrets.v1.Secrets/GetSecret',
  sshCheck: '/moby.sshforward.v1.SSH/CheckAgent',
  sshForward: '/moby.sshforward.v1.SSH/ForwardAgent',
  auth: '/moby.filesync.v1.Auth/Credentials',
};

/** The same service with Buffers passed through untouched (the streams carry fsutil Packets or raw bytes). */
function rawServiceDefinition(fullName: string): grpc.ServiceDefinition {
  const def = serviceDefinition(fullName) as Record<string, grpc.MethodDefinition<Buffer, Buffer>>;
  const out: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const id = (b: Buffer) => b;
  for (const [k, m] of Object.entries(def)) {
    out[k] = { ...m, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
  }
  return out as grpc.ServiceDefinition;
}

/** BuildKit's identity.NewID: 25 base-36 characters of randomness. */
function newSessionId(): string {
  const bytes = crypto.randomBytes(16);
  return BigInt('0x' + bytes.toString('hex')).toString(36).padStart(25, '0').slice(-25);
}

/** Go's url.QueryUnescape for the `<key>-encoded` metadata convention (v0.12+ daemons). */
function queryUnescape(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/** Headers whose repeated values must stay separate values (Node joins duplicates with ", "). */
const MULTI_VALUE_HEADERS = new Set(['include-patterns', 'exclude-patterns', 'followpaths', 'x-docker-expose-session-grpc-method']);

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() }) as grpc.ServiceError;
}

export class Session {
  readonly id: string;
  readonly name: string;
  readonly sharedKey: string;
  readonly stats: SessionStats = { syncs: [], exports: [] };
  /** `exporter-md-*` metadata of the last FileSend call (key without the prefix). */
  exporterMetadata: Record<string, string> = {};
  /** Result of the last `local` export. */
  lastExport?: ReceiveResult;

  private readonly syncedDirs: Record<string, SyncedDir>;
  private readonly secrets?: SecretsProvider;
  private readonly agents = new Map<string, string>();
  private readonly auth: boolean;
  private readonly exportTarget?: ExportTarget;
  private readonly chunkSize?: number;
  private readonly server: grpc.Server;
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private readonly conns = new Set<Duplex>();
  private closed = false;

  constructor(opts: SessionOptions = {}) {
    this.id = newSessionId();
    this.name = opts.name ?? `stapelkit:${path.basename(process.cwd())}`;
    this.syncedDirs = {};
    for (const [name, d] of Object.entries(opts.syncedDirs ?? {})) {
      if (!d || typeof d.dir !== 'string' || d.dir === '') throw new StapelkitError('E_SESSION_CONFIG', `synced dir ${JSON.stringify(name)} has no directory`);
      this.syncedDirs[name] = { ...d, dir: path.resolve(d.dir) };
    }
    this.sharedKey = opts.sharedKey ?? crypto.createHash('sha256')
      .update(os.hostname() + '\0' + Object.keys(this.syncedDirs).sort().map((k) => `${k}=${this.syncedDirs[k].dir}`).join('\0'))
      .digest('hex').slice(0, 32);
    if (opts.secrets) this.secrets = Array.isArray(opts.secrets) ? secretsFromSources(opts.secrets) : opts.secrets;
    const agents = opts.ssh ?? (process.env.SSH_AUTH_SOCK ? [{ id: 'default', socket: process.env.SSH_AUTH_SOCK }] : []);
    for (const a of agents) {
      const id = a.id || 'default';
      const socket = a.socket ?? process.env.SSH_AUTH_SOCK;
      if (!socket) throw new StapelkitError('E_SESSION_CONFIG', `ssh agent ${JSON.stringify(id)}: no socket given and SSH_AUTH_SOCK is not set`);
      this.agents.set(id, socket);
    }
    this.auth = opts.auth ?? true;
    this.exportTarget = opts.exportTarget;
    this.chunkSize = opts.chunkSize;

    this.server = new grpc.Server({
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
    this.register();
    this.injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.keepRepeatedHeaders();
  }

  /** Methods listed in X-Docker-Expose-Session-Grpc-Method: exactly those we serve. */
  exposedMethods(): string[] {
    const m = [M.health];
    if (Object.keys(this.syncedDirs).length) m.push(M.fileSync);
    if (this.exportTarget) m.push(M.fileSend);
    if (this.secrets) m.push(M.secrets);
    if (this.agents.size) m.push(M.sshCheck, M.sshForward);
    if (this.auth) m.push(M.auth);
    return m;
  }

  /** Headers/metadata for the tunnel request (one value per exposed method). */
  metadata(): Record<string, string[]> {
    return {
      'X-Docker-Expose-Session-Uuid': [this.id],
      'X-Docker-Expose-Session-Name': [this.name],
      'X-Docker-Expose-Session-Sharedkey': [this.sharedKey],
      'X-Docker-Expose-Session-Grpc-Method': this.exposedMethods(),
    };
  }

  /**
   * Serves the session over `conn` (HTTP/2 server role, prior knowledge). Resolves when the
   * connection closes.
   */
  serve(conn: Duplex): Promise<void> {
    if (this.closed) return Promise.reject(new StapelkitError('E_SESSION_CLOSED', 'session is closed'));
    this.conns.add(conn);
    return new Promise<void>((resolve) => {
      const done = () => {
        this.conns.delete(conn);
        resolve();
      };
      conn.once('close', done);
      // Errors end the connection; the build that depended on it reports the failure.
      conn.on('error', () => { /* surfaced through 'close' */ });
      this.injector.injectConnection(conn);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.injector.destroy();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Node's http2 joins repeated request headers with ", " before grpc-js sees them, which would merge
   * several include/exclude patterns into one. Put the separate raw values back as arrays.
   */
  private keepRepeatedHeaders(): void {
    const servers = (this.server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
    const h2 = servers ? [...servers.keys()].pop() : undefined;
    if (!h2) return; // grpc-js internals changed; metadata falls back to joined values (split below)
    h2.prependListener('stream', (_stream: unknown, headers: Record<string, unknown>, _flags: unknown, rawHeaders?: string[]) => {
      if (!Array.isArray(rawHeaders)) return;
      const seen = new Map<string, string[]>();
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
        const k = rawHeaders[i].toLowerCase();
        if (!MULTI_VALUE_HEADERS.has(k)) continue;
        const list = seen.get(k);
        if (list) list.push(rawHeaders[i + 1]);
        else seen.set(k, [rawHeaders[i + 1]]);
      }
      for (const [k, values] of seen) headers[k] = values;
    });
    this.rawHeadersFixed = true;
  }
  private rawHeadersFixed = false;

  private mdValues(md: grpc.Metadata, key: string): string[] {
    let vals = md.get(key).map((v) => (Buffer.isBuffer(v) ? v.toString() : String(v)));
    if (!this.rawHeadersFixed && MULTI_VALUE_HEADERS.has(key)) vals = vals.flatMap((v) => v.split(', '));
    const enc = md.get(`${key}-encoded`);
    if (enc.length && String(enc[0]) === '1') vals = vals.map(queryUnescape);
    return vals;
  }

  private register(): void {
    this.server.addService(serviceDefinition('grpc.health.v1.Health'), {
      Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: 1 }),
    });

    if (Object.keys(this.syncedDirs).length) {
      this.server.addService(rawServiceDefinition('moby.filesync.v1.FileSync'), {
        DiffCopy: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.fileSync(call),
      });
    }
    if (this.exportTarget) {
      this.server.addService(rawServiceDefinition('moby.filesync.v1.FileSend'), {
        DiffCopy: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => this.fileSend(call),
      });
    }
    if (this.secrets) {
      const provider = this.secrets;
      this.server.addService(serviceDefinition('moby.buildkit.secrets.v1.Secrets'), {
        GetSecret: (call: grpc.ServerUnaryCall<{ ID?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const id = call.request.ID ?? '';
          provider.get(id).then(
            (data) => (data === undefined ? cb(statusError(grpc.status.NOT_FOUND, `secret ${id} not found`)) : cb(null, { data })),
            (e: Error) => cb(statusError(grpc.status.INTERNAL, e.message)),
          );
        },
      });
    }
    if (this.agents.size) {
      const sshDef = serviceDefinition('moby.sshforward.v1.SSH') as Record<string, grpc.MethodDefinition<any, any>>;
      const rawSsh = rawServiceDefinition('moby.sshforward.v1.SSH') as Record<string, grpc.MethodDefinition<any, any>>;
      this.server.addService({ CheckAgent: sshDef.CheckAgent, ForwardAgent: rawSsh.ForwardAgent } as grpc.ServiceDefinition, {
        CheckAgent: (call: grpc.ServerUnaryCall<{ ID?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const id = call.request.ID || 'default';
          const socket = this.agents.get(id);
          if (!socket) return cb(statusError(grpc.status.NOT_FOUND, `unset ssh forward key ${id}`));
          fs.stat(socket, (err) => (err ? cb(statusError(grpc.status.UNAVAILABLE, `ssh agent ${id}: ${err.message}`)) : cb(null, {})));
        },
        ForwardAgent: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
          const id = this.mdValues(call.metadata, 'buildkit.ssh.id')[0] || 'default';
          const socket = this.agents.get(id);
          if (!socket) return call.emit('error', statusError(grpc.status.NOT_FOUND, `unset ssh forward key ${id}`));
          forwardToAgent(call as unknown as Duplex, socket).catch((e: Error) => call.emit('error', statusError(grpc.status.UNAVAILABLE, `ssh agent ${id}: ${e.message}`)));
        },
      });
    }
    if (this.auth) {
      this.server.addService(serviceDefinition('moby.filesync.v1.Auth'), {
        Credentials: (call: grpc.ServerUnaryCall<{ Host?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          lookupCredentials(call.request.Host ?? '').then((c) => cb(null, c), () => cb(null, { Username: '', Secret: '' }));
        },
      });
    }
  }

  private fileSync(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    const dirName = this.mdValues(call.metadata, 'dir-name')[0] ?? '';
    const dir = Object.prototype.hasOwnProperty.call(this.syncedDirs, dirName) ? this.syncedDirs[dirName] : undefined;
    if (!dir) {
      call.emit('error', statusError(grpc.status.NOT_FOUND, `no access allowed to dir "${dirName}"`));
      return;
    }
    let excludes = this.mdValues(call.metadata, 'exclude-patterns');
    const override = this.mdValues(call.metadata, 'override-excludes')[0] === 'true';
    if (dir.excludes && dir.excludes.length && !override) excludes = dir.excludes;
    const started = Date.now();
    sendDiffCopy(call as unknown as Duplex, dir.dir, {
      excludePatterns: excludes,
      includePatterns: this.mdValues(call.metadata, 'include-patterns'),
      followPaths: this.mdValues(call.metadata, 'followpaths'),
      chunkSize: this.chunkSize,
    }).then(
      (r) => this.stats.syncs.push({ dirName, entries: r.entries, files: r.filesSent, bytes: r.bytesSent, ms: Date.now() - started }),
      (e: Error) => {
        this.stats.syncs.push({ dirName, entries: 0, files: 0, bytes: 0, ms: Date.now() - started, error: e.message });
        call.emit('error', statusError(grpc.status.UNKNOWN, e.message));
      },
    );
  }

  private fileSend(call: grpc.ServerDuplexStream<Buffer, Buffer>): void {
    const target = this.exportTarget!;
    const md: Record<string, string> = {};
    for (const [k, v] of Object.entries(call.metadata.getMap())) {
      if (k.startsWith('exporter-md-')) md[k.slice('exporter-md-'.length)] = Buffer.isBuffer(v) ? v.toString() : String(v);
    }
    this.exporterMetadata = md;
    const started = Date.now();
    const fail = (e: Error) => call.emit('error', statusError(grpc.status.UNKNOWN, e.message));
    if (target.kind === 'local') {
      receiveDiffCopy(call as unknown as Duplex, target.dir).then((r) => {
        this.lastExport = r;
        this.stats.exports.push({ kind: 'local', bytes: r.bytes, ms: Date.now() - started });
      }, fail);
      return;
    }
    // tar: raw BytesMessage chunks until the daemon closes its side; ending ours tells it we are done.
    let out: Writable;
    let endOut = true;
    if (target.kind === 'tar') {
      fs.mkdirSync(path.dirname(path.resolve(target.file)), { recursive: true });
      out = fs.createWriteStream(target.file);
    } else {
      out = target.stream;
      endOut = target.end ?? true;
    }
    let bytes = 0;
    let failed = false;
    out.on('error', (e) => { failed = true; call.destroy(); fail(e); });
    call.on('data', (msg: Buffer) => {
      const data = decodeBytesMessage(msg);
      bytes += data.length;
      if (data.length && !out.write(data)) {
        call.pause();
        out.once('drain', () => call.resume());
      }
    });
    call.on('end', () => {
      const finishCall = () => {
        if (failed) return;
        this.stats.exports.push({ kind: target.kind, bytes, ms: Date.now() - started });
        call.end();
      };
      if (endOut) out.end(finishCall);
      else finishCall();
    });
  }
}
