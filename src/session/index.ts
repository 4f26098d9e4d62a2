/**
 * The client side of a BuildKit session: a gRPC server we run over a byte tunnel to the daemon
 * (`Control.Session` or dockerd's `/session` upgrade). Over the tunnel we are the HTTP/2 server and the
 * daemon is the gRPC client calling our attachables: Health, FileSync (local contexts), FileSend
 * (exporter output), Secrets, SSH agent forwarding, registry Auth and containerd's Content service
 * (local cache import/export, oci/docker exports with tar=false).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import type * as http2 from 'node:http2';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from '../buildkit/grpc-js';
import { serviceDefinition } from '../proto';
import { StapelkitError } from '../errors';
import { sendDiffCopy, receiveDiffCopy, type ReceiveResult } from './diffcopy';
import type { TreeSource } from './tree-source';
import { CoalescingDuplex, pipeBytesMessages } from './stream';
import { secretsFromSources, type SecretSource, type SecretsProvider } from './secrets';
import { forwardToAgent } from './ssh';
import { lookupCredentials } from './auth';
import { RawGrpcCall, rawHeaderKeys, rawHeaderValues } from './rawcall';
import { LocalContentStore } from './content-store';
import { CONTENT_SERVICE, contentServiceHandlers } from './content-service';

export { secretsFromSources, type SecretSource, type SecretsProvider } from './secrets';
export { LocalContentStore, ContentError, type BlobInfo, type IngestStatus } from './content-store';
export { STORE_ID_HEADER, CONTENT_SERVICE } from './content-service';
export type { ReceiveResult } from './diffcopy';
export type { TreeSource, TreeSourceEntry } from './tree-source';

export interface SyncedDir {
  /** Host directory to serve (ignored when `source` is set). */
  dir: string;
  /** A virtual tree served instead of `dir` (e.g. files from git objects). */
  source?: TreeSource;
  /** Client-side excludes (.dockerignore); they win over daemon-sent excludes unless it sends override-excludes=true. */
  excludes?: string[];
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
  /** Serve bulk streams on the raw HTTP/2 fast path (default true); false keeps every call on grpc-js. */
  rawStreams?: boolean;
  /** Content stores over local OCI layout dirs, by BuildKit's store id (`local:<dir>`, `export`). */
  contentStores?: Record<string, string>;
}

export interface SessionStats {
  /** Per FileSync call: dir name, entries and bytes sent, duration. */
  syncs: { dirName: string; entries: number; files: number; bytes: number; ms: number; walkMs?: number; drainMs?: number; idleMs?: number; error?: string }[];
  exports: { kind: ExportTarget['kind']; bytes: number; ms: number }[];
  /** Content-store calls from the daemon: `<store id> <Method>` → count. */
  content: Record<string, number>;
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

/** The content methods BuildKit's session content proxy may call (containerd's proxy store). */
const CONTENT_METHODS = ['Info', 'Update', 'List', 'Delete', 'Read', 'Status', 'ListStatuses', 'Write', 'Abort'].map((m) => `/${CONTENT_SERVICE}/${m}`);

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

/** Values of a metadata key, unescaped when its `<key>-encoded` companion says "1". */
function decodeMd(values: string[], encoded: string[]): string[] {
  return encoded[0] === '1' ? values.map(queryUnescape) : values;
}

/** Headers whose repeated values must stay separate values (Node joins duplicates with ", "). */
const MULTI_VALUE_HEADERS = new Set(['include-patterns', 'exclude-patterns', 'followpaths', 'x-docker-expose-session-grpc-method']);

/** Metadata of a call: values by lower-case key, and the keys present. */
interface MdGet { (key: string): string[]; keys(): string[] }
/** Ends a call with a gRPC status. */
type FailFn = (code: grpc.status, message: string) => void;
type StreamHandler = (conn: Duplex, md: MdGet, fail: FailFn) => void;

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new (grpcJs().Metadata)() }) as grpc.ServiceError;
}

export class Session {
  readonly id: string;
  readonly name: string;
  readonly sharedKey: string;
  readonly stats: SessionStats = { syncs: [], exports: [], content: {} };
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
  /** The gRPC server and its connection injector, made on the first serve() (see wire()). */
  private wired: { server: grpc.Server; injector: ReturnType<grpc.Server['createConnectionInjector']> } | undefined;
  private readonly rawStreams: boolean;
  private readonly conns = new Set<Duplex>();
  private readonly contentStores = new Map<string, LocalContentStore>();
  private closed = false;

  constructor(opts: SessionOptions = {}) {
    this.id = newSessionId();
    this.name = opts.name ?? `stapelkit:${path.basename(process.cwd())}`;
    this.syncedDirs = {};
    for (const [name, d] of Object.entries(opts.syncedDirs ?? {})) {
      if (d && d.source) {
        this.syncedDirs[name] = { ...d, dir: `tree:${d.source.id}` };
        continue;
      }
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
    for (const [id, dir] of Object.entries(opts.contentStores ?? {})) this.addContentStore(id, dir);

    this.rawStreams = opts.rawStreams !== false;
  }

  /**
   * The gRPC server, made when the session is first served: what it registers is fixed at
   * construction (addSyncedDir needs FileSync already served; content stores are read per call),
   * and a build whose stages are all stored never serves a session, nor loads grpc-js.
   */
  private wire(): { server: grpc.Server; injector: ReturnType<grpc.Server['createConnectionInjector']> } {
    if (this.wired) return this.wired;
    const g = grpcJs();
    const server = new g.Server({
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
    this.register(server);
    const injector = server.createConnectionInjector(g.ServerCredentials.createInsecure());
    if (this.rawStreams) this.installRawDispatch(server);
    return (this.wired = { server, injector });
  }

  /**
   * Serves one more synced dir from now on (a build adds git content and mount sources as it goes).
   * FileSync must already be served: construct the session with at least one synced dir.
   */
  addSyncedDir(name: string, d: SyncedDir): void {
    if (Object.keys(this.syncedDirs).length === 0) throw new StapelkitError('E_SESSION_CONFIG', `addSyncedDir(${JSON.stringify(name)}): the session serves no FileSync (give it a synced dir at construction)`);
    const prev = this.syncedDirs[name];
    const next = d.source ? { ...d, dir: `tree:${d.source.id}` } : { ...d, dir: path.resolve(d.dir) };
    const same = (a: SyncedDir, b: SyncedDir) => a.dir === b.dir && JSON.stringify(a.excludes ?? []) === JSON.stringify(b.excludes ?? []);
    if (prev && !same(prev, next)) throw new StapelkitError('E_SESSION_CONFIG', `synced dir ${JSON.stringify(name)} is already served from ${prev.dir}`);
    this.syncedDirs[name] = next;
  }

  /**
   * Serves `dir` (an OCI image layout, created if missing) as the content store `id`. Call before
   * the session is attached so the daemon is told about the content methods.
   */
  addContentStore(id: string, dir: string): void {
    this.contentStores.set(id, new LocalContentStore(path.resolve(dir)));
  }

  /** Methods listed in X-Docker-Expose-Session-Grpc-Method: exactly those we serve. */
  exposedMethods(): string[] {
    const m = [M.health];
    if (Object.keys(this.syncedDirs).length) m.push(M.fileSync);
    if (this.exportTarget) m.push(M.fileSend);
    if (this.secrets) m.push(M.secrets);
    if (this.agents.size) m.push(M.sshCheck, M.sshForward);
    if (this.auth) m.push(M.auth);
    if (this.contentStores.size) m.push(...CONTENT_METHODS);
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
    // A real socket gets the native write path; anything else (the Control.Session wrapper) gets
    // its writes batched.
    const wire = conn instanceof net.Socket ? conn : new CoalescingDuplex(conn);
    return new Promise<void>((resolve) => {
      const done = () => {
        this.conns.delete(conn);
        resolve();
      };
      conn.once('close', done);
      // Errors end the connection; the build that depended on it reports the failure.
      conn.on('error', () => { /* surfaced through 'close' */ });
      wire.on('error', () => { /* same */ });
      this.wire().injector.injectConnection(wire);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const w = this.wired;
    w?.injector.destroy();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    if (w) await new Promise<void>((resolve) => w.server.tryShutdown(() => resolve()));
  }

  // ------------------------------------------------------------------------------------------

  /**
   * Streams that carry bulk data are served on the raw HTTP/2 stream (RawGrpcCall) instead of grpc-js,
   * whose one-message-in-flight writes are far too slow through the tunnel; their metadata is read from
   * the raw header list, so repeated values (include/exclude patterns) stay separate — Node's http2
   * would otherwise join them with ", ". Everything else goes to grpc-js unchanged. If grpc-js's
   * internals are not as expected, all calls stay on grpc-js (correct, slower).
   */
  private installRawDispatch(server: grpc.Server): void {
    const servers = (server as unknown as { http2Servers?: Map<http2.Http2Server, unknown> }).http2Servers;
    const h2 = servers ? [...servers.keys()].pop() : undefined;
    if (!h2 || h2.listenerCount('stream') === 0) return;
    const grpcListeners = h2.listeners('stream') as ((...a: unknown[]) => void)[];
    h2.removeAllListeners('stream');
    h2.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders?: string[]) => {
      const handler = this.rawHandlers.get(String(headers[':path']));
      if (handler && String(headers['content-type'] ?? '').startsWith('application/grpc')) {
        const call = new RawGrpcCall(stream);
        const md: MdGet = Object.assign(
          (key: string) => decodeMd(rawHeaderValues(rawHeaders, headers, key), rawHeaderValues(rawHeaders, headers, `${key}-encoded`)),
          { keys: () => rawHeaderKeys(rawHeaders, headers) },
        );
        handler(call as unknown as Duplex, md, (code, message) => call.fail(code, message));
        return;
      }
      for (const l of grpcListeners) l.call(h2, stream, headers, flags, rawHeaders);
    });
  }
  private readonly rawHandlers = new Map<string, StreamHandler>();

  /** Metadata of a grpc-js call (fallback path): repeated headers arrive joined by ", ". */
  private grpcMd(call: { metadata: grpc.Metadata }): MdGet {
    const get = (k: string) => call.metadata.get(k).map((v) => (Buffer.isBuffer(v) ? v.toString() : String(v)));
    return Object.assign(
      (key: string) => {
        let vals = get(key);
        if (MULTI_VALUE_HEADERS.has(key)) vals = vals.flatMap((v) => v.split(', '));
        return decodeMd(vals, get(`${key}-encoded`));
      },
      { keys: () => Object.keys(call.metadata.getMap()) },
    );
  }

  private register(server: grpc.Server): void {
    server.addService(serviceDefinition('grpc.health.v1.Health'), {
      Check: (_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { status: 1 }),
    });
    // Always registered: stores may be added until the session is attached (the map is read per call).
    server.addService(
      serviceDefinition(CONTENT_SERVICE),
      contentServiceHandlers(this.contentStores, (method, id) => {
        const k = `${id} ${method}`;
        this.stats.content[k] = (this.stats.content[k] ?? 0) + 1;
      }),
    );

    // Bidi streams: the same handler on grpc-js (fallback) and on the raw HTTP/2 fast path.
    const streams: Record<string, Record<string, StreamHandler>> = {};
    const stream = (service: string, method: string, handler: StreamHandler) => {
      (streams[service] ??= {})[method] = handler;
      this.rawHandlers.set(`/${service}/${method}`, handler);
    };
    if (Object.keys(this.syncedDirs).length) stream('moby.filesync.v1.FileSync', 'DiffCopy', (c, md, fail) => this.fileSync(c, md, fail));
    if (this.exportTarget) stream('moby.filesync.v1.FileSend', 'DiffCopy', (c, md, fail) => this.fileSend(c, md, fail));
    if (this.agents.size) stream('moby.sshforward.v1.SSH', 'ForwardAgent', (c, md, fail) => this.forwardAgent(c, md, fail));
    const unary: Record<string, Record<string, grpc.UntypedHandleCall>> = {};

    if (this.secrets) {
      const provider = this.secrets;
      unary['moby.buildkit.secrets.v1.Secrets'] = {
        GetSecret: (call: grpc.ServerUnaryCall<{ ID?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const id = call.request.ID ?? '';
          provider.get(id).then(
            (data) => (data === undefined ? cb(statusError(grpcJs().status.NOT_FOUND, `secret ${id} not found`)) : cb(null, { data })),
            (e: Error) => cb(statusError(grpcJs().status.INTERNAL, e.message)),
          );
        },
      };
    }
    if (this.agents.size) {
      unary['moby.sshforward.v1.SSH'] = {
        CheckAgent: (call: grpc.ServerUnaryCall<{ ID?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          const id = call.request.ID || 'default';
          const socket = this.agents.get(id);
          if (!socket) return cb(statusError(grpcJs().status.NOT_FOUND, `unset ssh forward key ${id}`));
          fs.stat(socket, (err) => (err ? cb(statusError(grpcJs().status.UNAVAILABLE, `ssh agent ${id}: ${err.message}`)) : cb(null, {})));
        },
      };
    }
    if (this.auth) {
      unary['moby.filesync.v1.Auth'] = {
        Credentials: (call: grpc.ServerUnaryCall<{ Host?: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          lookupCredentials(call.request.Host ?? '').then((c) => cb(null, c), () => cb(null, { Username: '', Secret: '' }));
        },
      };
    }

    for (const service of new Set([...Object.keys(streams), ...Object.keys(unary)])) {
      const typed = serviceDefinition(service) as Record<string, grpc.MethodDefinition<any, any>>;
      const raw = rawServiceDefinition(service) as Record<string, grpc.MethodDefinition<any, any>>;
      const def: Record<string, grpc.MethodDefinition<any, any>> = {};
      const impl: Record<string, grpc.UntypedHandleCall> = {};
      for (const [name, h] of Object.entries(streams[service] ?? {})) {
        def[name] = raw[name];
        impl[name] = (call: grpc.ServerDuplexStream<Buffer, Buffer>) =>
          h(call as unknown as Duplex, this.grpcMd(call), (code, message) => call.emit('error', statusError(code, message)));
      }
      for (const [name, h] of Object.entries(unary[service] ?? {})) {
        def[name] = typed[name];
        impl[name] = h;
      }
      // Methods we do not implement (Auth.FetchToken, FileSync.TarStream…) answer Unimplemented.
      for (const [name, m] of Object.entries(typed)) if (!def[name]) def[name] = m;
      server.addService(def as grpc.ServiceDefinition, impl);
    }
  }

  private fileSync(conn: Duplex, md: MdGet, fail: FailFn): void {
    const dirName = md('dir-name')[0] ?? '';
    const dir = Object.prototype.hasOwnProperty.call(this.syncedDirs, dirName) ? this.syncedDirs[dirName] : undefined;
    if (!dir) return fail(grpcJs().status.NOT_FOUND, `no access allowed to dir "${dirName}"`);
    let excludes = md('exclude-patterns');
    const override = md('override-excludes')[0] === 'true';
    if (dir.excludes && dir.excludes.length && !override) excludes = dir.excludes;
    const started = Date.now();
    sendDiffCopy(conn, dir.source ?? dir.dir, {
      excludePatterns: excludes,
      includePatterns: md('include-patterns'),
      followPaths: md('followpaths'),
      chunkSize: this.chunkSize,
    }).then(
      (r) => this.stats.syncs.push({ dirName, entries: r.entries, files: r.filesSent, bytes: r.bytesSent, ms: Date.now() - started, walkMs: r.walkMs, drainMs: r.drainMs, idleMs: r.idleMs }),
      (e: Error) => {
        this.stats.syncs.push({ dirName, entries: 0, files: 0, bytes: 0, ms: Date.now() - started, error: e.message });
        fail(grpcJs().status.UNKNOWN, e.message);
      },
    );
  }

  private forwardAgent(conn: Duplex, md: MdGet, fail: FailFn): void {
    const id = md('buildkit.ssh.id')[0] || 'default';
    const socket = this.agents.get(id);
    if (!socket) return fail(grpcJs().status.NOT_FOUND, `unset ssh forward key ${id}`);
    forwardToAgent(conn, socket).catch((e: Error) => fail(grpcJs().status.UNAVAILABLE, `ssh agent ${id}: ${e.message}`));
  }

  private fileSend(call: Duplex, mdGet: MdGet, fail0: FailFn): void {
    const target = this.exportTarget!;
    const md: Record<string, string> = {};
    for (const k of mdGet.keys()) if (k.startsWith('exporter-md-')) md[k.slice('exporter-md-'.length)] = mdGet(k)[0] ?? '';
    this.exporterMetadata = md;
    const started = Date.now();
    const fail = (e: Error) => fail0(grpcJs().status.UNKNOWN, e.message);
    if (target.kind === 'local') {
      receiveDiffCopy(call, target.dir).then((r) => {
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
    out.on('error', (e) => { failed = true; fail(e); });
    pipeBytesMessages(call, out, (n) => { bytes += n; });
    call.on('error', () => { /* the daemon gave up; nothing to answer */ });
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
