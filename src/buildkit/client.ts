/**
 * Client of BuildKit's Control API (`moby.buildkit.v1.Control`) for dockerd's embedded BuildKit
 * (v0.8) and standalone buildkitd: ListWorkers, DiskUsage, Prune, Solve with a concurrent Status
 * stream, the Session tunnel, and LLB cap discovery through a client-side gateway build (§3.4).
 */
import * as crypto from 'node:crypto';
import { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { StapelkitError, type SourcePos } from '../errors';
import { encodeMessage, messageType, serviceDefinition } from '../proto';
import { buildErrorFrom, decodeGrpcError, posFromRangeStart } from './build-error';
import { dialHijack, type DockerdAddress } from './hijack';
import { ProgressCollector, protoDate, teeProgress, toStatusUpdate, type ProgressSink } from './progress';
import { openTransport, resolveAddress, type DaemonAddress, type ResolvedAddress, type TlsFiles, type Transport } from './transport';
import { DockerApi } from './docker-api';
import { prepareSessionStores, type CacheEntry } from './cache-options';
import { toBuildkitVersion, type BuildkitVersion, type DaemonVersion } from './version';

/** 16 MiB, as BuildKit's Go client. */
export const MAX_MESSAGE_SIZE = 16 << 20;

/** A marshalled pb.Definition: raw bytes, or anything with toBytes() (src/llb's Definition). */
export type DefinitionLike = Uint8Array | { toBytes(): Uint8Array };

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

export type { CacheEntry } from './cache-options';

export interface ExporterSpec {
  /** `moby` (dockerd), `image` (buildkitd), `local`, `tar`, `oci`, `docker`. */
  type: string;
  attrs?: Record<string, string>;
  /** The OCI layout directory of the `oci`/`docker` exporters with attrs.tar=false. */
  outputDir?: string;
}

export interface SolveOptions {
  /** Build ID (also keys the Status stream); random when omitted. */
  ref?: string;
  /** LLB to solve. Mutually exclusive with `frontend`. */
  definition?: DefinitionLike;
  frontend?: string;
  frontendAttrs?: Record<string, string>;
  frontendInputs?: Record<string, DefinitionLike>;
  exporter?: ExporterSpec;
  cacheImports?: CacheEntry[];
  cacheExports?: CacheEntry[];
  /** `network.host`, `security.insecure`. */
  entitlements?: string[];
  /**
   * The session the daemon calls back into (local sources, secrets, ssh, exporter output). A
   * SessionLike is attached for the duration of this solve unless it is already attached through
   * attachSession(); a string is the id of a session attached elsewhere.
   */
  session?: SessionLike | string;
  /**
   * Image config (OCI/docker config JSON: architecture, os, config.Env/Cmd/WorkingDir/Labels, …) for
   * the `moby`/`image` exporters. BuildKit v0.8 ignores the `containerimage.config` exporter attr for
   * a plain Definition solve (its empty result metadata wins), so when this (or resultMetadata) is
   * set the Definition is solved as a client-side gateway build whose Return carries the metadata.
   */
  imageConfig?: object | string;
  /** Extra result metadata for the exporter (e.g. `containerimage.config`); implies the gateway path. */
  resultMetadata?: Record<string, Uint8Array | string>;
  /** Refuse the solve before sending it when the Definition lists caps the daemon lacks (default true). */
  checkCaps?: boolean;
  signal?: AbortSignal;
}

export interface SolveResult {
  ref: string;
  exporterResponse: Record<string, string>;
  /** Cache imports skipped because there was nothing to import (BuildKit's client warns the same). */
  warnings: string[];
  /** Everything the Status stream said about this build. */
  progress: ProgressCollector;
}

export interface WorkerInfo {
  id: string;
  labels: Record<string, string>;
  /** `os/arch[/variant]`, e.g. `linux/amd64`. */
  platforms: string[];
  /** The worker's BuildKit (v0.11+ report it; undefined before). */
  buildkitVersion?: BuildkitVersion;
}

export interface UsageRecord {
  id: string;
  mutable: boolean;
  inUse: boolean;
  size: number;
  description: string;
  recordType: string;
  shared: boolean;
  usageCount: number;
  createdAt?: Date;
  lastUsedAt?: Date;
}

export interface PruneOptions {
  all?: boolean;
  /** Keep records used within this many milliseconds. */
  keepDurationMs?: number;
  keepBytes?: number;
  filter?: string[];
}

export interface DaemonCaps {
  /** Enabled LLB caps (e.g. `exec.mount.cache`, `file.base`). */
  llb: Set<string>;
  /** Enabled gateway (frontend API) caps. */
  frontend: Set<string>;
  workers: WorkerInfo[];
}

export interface AttachedSession {
  readonly id: string;
  /** Ends the tunnel; resolves when session.serve() returned. */
  close(): Promise<void>;
  /** Resolves when the tunnel ended (daemon closed it, or close() was called). */
  readonly done: Promise<void>;
}

export interface ConnectOptions {
  tls?: TlsFiles;
  env?: NodeJS.ProcessEnv;
  /** Start/reuse Stapelkit's private dockerd when no daemon is found (default true). */
  embedded?: boolean;
  /** Where the "started a private dockerd" line goes (default stderr). */
  say?: (line: string) => void;
}

/** Exporters each daemon kind has (dockerd 20.10: BuildKit v0.8 with moby's worker). */
const EXPORTERS: Record<DaemonAddress['kind'], string[]> = {
  dockerd: ['moby', 'local', 'tar'],
  buildkitd: ['image', 'local', 'tar', 'oci', 'docker'],
};

/** Exporters that stream their output back through the session's FileSend. */
const SESSION_EXPORTERS = new Set(['local', 'tar', 'oci', 'docker']);

type AnyClient = grpc.Client & Record<string, any>;

function platformString(p: any): string {
  return [p.OS || 'linux', p.Architecture, p.Variant].filter(Boolean).join('/');
}

function toWorker(w: any): WorkerInfo {
  const buildkitVersion = toBuildkitVersion(w.BuildkitVersion);
  return { id: w.ID ?? '', labels: w.Labels ?? {}, platforms: (w.platforms ?? []).map(platformString), ...(buildkitVersion ? { buildkitVersion } : {}) };
}

function toUsage(r: any): UsageRecord {
  return {
    id: r.ID ?? '',
    mutable: !!r.Mutable,
    inUse: !!r.InUse,
    size: Number(r.Size ?? 0),
    description: r.Description ?? '',
    recordType: r.RecordType ?? '',
    shared: !!r.Shared,
    usageCount: Number(r.UsageCount ?? 0),
    createdAt: protoDate(r.CreatedAt),
    lastUsedAt: protoDate(r.LastUsedAt),
  };
}

function defBytes(d: DefinitionLike): Uint8Array {
  return d instanceof Uint8Array ? d : d.toBytes();
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field (wire type 2) written by hand, so Definition bytes pass through untouched. */
function lenField(fieldNo: number, bytes: Uint8Array): Buffer {
  return Buffer.concat([varint((fieldNo << 3) | 2), varint(bytes.length), bytes]);
}

/**
 * SolveRequest bytes: the plain fields through protobufjs, then `Definition` (2) and each
 * `FrontendInputs` (10) map entry appended verbatim (protobuf allows fields in any order).
 */
export function encodeSolveRequest(req: Record<string, unknown>, definition?: Uint8Array, frontendInputs?: Record<string, Uint8Array>): Buffer {
  const parts = [encodeMessage(messageType('moby.buildkit.v1.SolveRequest'), req)];
  if (definition) parts.push(lenField(2, definition));
  for (const key of Object.keys(frontendInputs ?? {}).sort()) {
    const entry = Buffer.concat([lenField(1, Buffer.from(key)), lenField(2, frontendInputs![key])]);
    parts.push(lenField(10, entry));
  }
  return Buffer.concat(parts);
}

/** Digests of the source ops (image, local, git, http) of a marshalled Definition. */
export function definitionSourceDigests(def: Uint8Array): string[] {
  const d = messageType('pb.Definition').decode(def) as unknown as { def?: Uint8Array[] };
  const opType = messageType('pb.Op');
  const out: string[] = [];
  for (const bytes of d.def ?? []) {
    const op = opType.decode(bytes) as unknown as { source?: unknown };
    if (op.source) out.push(`sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`);
  }
  return out;
}

/**
 * The first source location of each op in a Definition's source map (`Definition.Source`, v0.8):
 * op digest → file and 1-based line/column of where the op came from.
 */
export function definitionSourceMap(def: Uint8Array): Map<string, SourcePos> {
  const t = messageType('pb.Definition');
  const d = t.toObject(t.decode(def), { defaults: false, arrays: true, objects: true }) as {
    Source?: { locations?: Record<string, { locations?: { sourceIndex?: number; ranges?: { start?: { line?: number; character?: number } }[] }[] }>; infos?: { filename?: string }[] };
  };
  const out = new Map<string, SourcePos>();
  for (const [digest, locs] of Object.entries(d.Source?.locations ?? {})) {
    const loc = locs.locations?.[0];
    const file = d.Source?.infos?.[loc?.sourceIndex ?? 0]?.filename;
    if (!loc || !file) continue;
    out.set(digest, posFromRangeStart(file, loc.ranges?.[0]?.start));
  }
  return out;
}

/** The caps listed in a Definition's metadata (`metadata[digest].caps`). */
export function definitionCaps(def: Uint8Array): string[] {
  const t = messageType('pb.Definition');
  const d = t.toObject(t.decode(def), { defaults: false, objects: true }) as { metadata?: Record<string, { caps?: Record<string, boolean> }> };
  const caps = new Set<string>();
  for (const m of Object.values(d.metadata ?? {})) for (const [k, v] of Object.entries(m.caps ?? {})) if (v) caps.add(k);
  return [...caps].sort();
}

function sortedMap(m?: Record<string, string>): Record<string, string> | undefined {
  if (!m || Object.keys(m).length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

/** Waits for `p` (settled either way), but at most `ms`; the timer does not keep the process alive. */
function waitAtMost(p: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([p, new Promise((r) => setTimeout(r, ms).unref())]);
}

/** Call metadata naming the build a gateway (LLBBridge) call belongs to. */
function buildIdMetadata(ref: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('buildkit-controlapi-buildid', ref);
  return md;
}

function grpcFailure(what: string, err: unknown): StapelkitError {
  const e = err as grpc.ServiceError;
  const d = decodeGrpcError(e);
  if (e?.code === 14 /* UNAVAILABLE */) return new StapelkitError('DAEMON_UNREACHABLE', `${what}: the daemon is unavailable: ${d.message}`, { cause: err });
  return new StapelkitError('DAEMON_ERROR', `${what}: ${d.message}`, { cause: err });
}

export class BuildkitClient {
  private readonly control: AnyClient;
  private readonly bridge: AnyClient;
  private capsPromise: Promise<DaemonCaps> | undefined;
  private readonly attached = new Map<string, AttachedSession>();
  private closed = false;

  constructor(
    readonly transport: Transport,
    readonly source: ResolvedAddress['source'] = 'flag',
  ) {
    const options: grpc.ChannelOptions = {
      'grpc.max_send_message_length': MAX_MESSAGE_SIZE,
      'grpc.max_receive_message_length': MAX_MESSAGE_SIZE,
      ...transport.channelOptions,
    };
    const Control = grpc.makeGenericClientConstructor(serviceDefinition('moby.buildkit.v1.Control'), 'Control');
    const Bridge = grpc.makeGenericClientConstructor(serviceDefinition('moby.buildkit.v1.frontend.LLBBridge'), 'LLBBridge');
    this.control = new Control(transport.target, transport.credentials, options) as AnyClient;
    // LLBBridge calls of a client-side build must reach the same daemon: share the channel.
    this.bridge = new Bridge(transport.target, transport.credentials, { ...options, channelOverride: this.control.getChannel() }) as AnyClient;
  }

  get address(): DaemonAddress {
    return this.transport.address;
  }

  /** 'dockerd' (BuildKit embedded in dockerd 20.10) or 'buildkitd'. */
  get daemonKind(): DaemonAddress['kind'] {
    return this.transport.address.kind;
  }

  /** How messages name the daemon. */
  private get daemonLabel(): string {
    return this.daemonKind === 'dockerd' ? 'BuildKit in dockerd' : 'BuildKit daemon';
  }

  /** Exporter types this daemon has. */
  exporters(): string[] {
    return [...EXPORTERS[this.daemonKind]];
  }

  private unary<T>(client: AnyClient, method: string, req: unknown, md = new grpc.Metadata(), deadlineMs?: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const opts: grpc.CallOptions = deadlineMs ? { deadline: Date.now() + deadlineMs } : {};
      client[method](req, md, opts, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    try {
      const res = await this.unary<any>(this.control, 'ListWorkers', {}, undefined, 30_000);
      return (res.record ?? []).map(toWorker);
    } catch (e) {
      throw grpcFailure('ListWorkers', e);
    }
  }

  /**
   * The daemon's BuildKit version: Control.Info where the daemon has it (v0.11+; UNIMPLEMENTED
   * before), else the workers' version field; for a dockerd also its engine version.
   */
  async daemonVersion(): Promise<DaemonVersion> {
    const out: DaemonVersion = { source: 'none' };
    try {
      const res = await this.unary<any>(this.control, 'Info', {}, undefined, 15_000);
      const v = toBuildkitVersion(res.buildkitVersion);
      if (v) Object.assign(out, { buildkit: v, source: 'info' });
    } catch (e) {
      if ((e as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw grpcFailure('Info', e);
    }
    if (!out.buildkit) {
      const v = (await this.listWorkers()).find((w) => w.buildkitVersion)?.buildkitVersion;
      if (v) Object.assign(out, { buildkit: v, source: 'workers' });
    }
    const a = this.address;
    if (a.kind === 'dockerd' && a.net === 'unix') {
      const ver = await new DockerApi(a.path).json<{ Version?: string }>('/version').catch(() => undefined);
      if (ver?.Version) out.dockerd = ver.Version;
    }
    return out;
  }

  async diskUsage(filter: string[] = []): Promise<UsageRecord[]> {
    try {
      const res = await this.unary<any>(this.control, 'DiskUsage', filter.length ? { filter } : {}, undefined, 60_000);
      return (res.record ?? []).map(toUsage);
    } catch (e) {
      throw grpcFailure('DiskUsage', e);
    }
  }

  /** Prunes the build cache; returns the records removed. */
  prune(opts: PruneOptions = {}): Promise<UsageRecord[]> {
    const req: Record<string, unknown> = {};
    if (opts.all) req.all = true;
    if (opts.keepDurationMs) req.keepDuration = opts.keepDurationMs * 1e6;
    if (opts.keepBytes) req.keepBytes = opts.keepBytes;
    if (opts.filter?.length) req.filter = opts.filter;
    return new Promise((resolve, reject) => {
      const out: UsageRecord[] = [];
      const call = this.control.Prune(req) as grpc.ClientReadableStream<any>;
      call.on('data', (r: any) => out.push(toUsage(r)));
      call.on('error', (e) => reject(grpcFailure('Prune', e)));
      call.on('end', () => resolve(out));
    });
  }

  /**
   * Opens a tunnel for `session` and lets session.serve() speak HTTP/2 (server role) over it.
   * On dockerd the tunnel is the `/session` upgrade (as the docker CLI): the hijacked socket is the
   * HTTP/2 connection itself, which is much faster for large contexts than wrapping every chunk in a
   * `Control.Session` BytesMessage. buildkitd (or `tunnel: 'control'`) uses `Control.Session`.
   */
  async attachSession(session: SessionLike, opts: { tunnel?: 'auto' | 'control' | 'upgrade' } = {}): Promise<AttachedSession> {
    const existing = this.attached.get(session.id);
    if (existing) return existing;
    const tunnel = opts.tunnel ?? 'auto';
    const address = this.address;
    if (tunnel === 'upgrade' && address.kind !== 'dockerd') {
      throw new StapelkitError('SESSION_TUNNEL', `the /session upgrade exists only on dockerd, not on ${address.text}`);
    }
    const handle = address.kind === 'dockerd' && tunnel !== 'control' ? await this.sessionOverUpgrade(session, address) : this.sessionOverControl(session);
    this.attached.set(session.id, handle);
    handle.done.finally(() => this.attached.delete(session.id));
    return handle;
  }

  /**
   * Serves `session` over `tunnel`. Like Go's client, close() half-closes (`halfClose`, CloseSend)
   * and lets the daemon end the session so in-flight callbacks finish, and cuts the tunnel only if
   * that takes longer than 2 s.
   */
  private serveOver(session: SessionLike, tunnel: Duplex, halfClose: () => void): AttachedSession {
    const served = session.serve(tunnel).catch(() => undefined);
    return {
      id: session.id,
      done: served,
      close: async () => {
        this.attached.delete(session.id);
        halfClose();
        await waitAtMost(served, 2000);
        tunnel.destroy();
        await served;
      },
    };
  }

  private async sessionOverUpgrade(session: SessionLike, address: DockerdAddress): Promise<AttachedSession> {
    const sock = await dialHijack(address, '/session', session.metadata());
    return this.serveOver(session, sock, () => sock.end());
  }

  private sessionOverControl(session: SessionLike): AttachedSession {
    const md = new grpc.Metadata();
    for (const [k, values] of Object.entries(session.metadata())) for (const v of values) md.add(k, v);
    const call = this.control.Session(md) as grpc.ClientDuplexStream<any, any>;
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
      if (e.code !== grpc.status.CANCELLED) duplex.destroy(e);
      else duplex.push(null);
    });
    // Destroying the duplex cancels the call (see destroy above).
    return this.serveOver(session, duplex, closeSend);
  }

  /** Opens the Status stream of build `ref` and feeds `sink`; resolves when the stream ends. */
  private statusStream(ref: string, sink: ProgressSink): { ended: Promise<void>; cancel(): void } {
    const call = this.control.Status({ Ref: ref }) as grpc.ClientReadableStream<any>;
    const ended = new Promise<void>((resolve) => {
      call.on('data', (m: any) => {
        try {
          sink.update(toStatusUpdate(m));
        } catch {
          /* a broken printer must not break the build */
        }
      });
      call.on('end', () => resolve());
      call.on('error', () => resolve());
    });
    return { ended, cancel: () => call.cancel() };
  }

  private checkExporter(opts: SolveOptions): void {
    const ex = opts.exporter;
    if (!ex) return;
    const have = this.exporters();
    if (!have.includes(ex.type)) {
      const alt = ex.type === 'image' && have.includes('moby') ? 'use the "moby" exporter (it tags into the docker image store)' : `available: ${have.join(', ')}`;
      throw new StapelkitError('EXPORTER_MISSING', `the ${this.daemonLabel} at ${this.address.text} has no "${ex.type}" exporter`, { hint: alt });
    }
    if (SESSION_EXPORTERS.has(ex.type) && !opts.session) {
      throw new StapelkitError('EXPORTER_NEEDS_SESSION', `the "${ex.type}" exporter sends its output through the session (FileSend): pass a session to solve()`);
    }
  }

  /** dockerd 20.10 exports cache only `inline` and imports `registry`/`local` (§5.2). */
  private checkCache(opts: SolveOptions): void {
    if (this.daemonKind !== 'dockerd') return;
    for (const e of opts.cacheExports ?? []) {
      if (e.type !== 'inline') throw new StapelkitError('CACHE_UNSUPPORTED', `the BuildKit in dockerd at ${this.address.text} cannot export cache of type "${e.type}"`, { hint: 'only "inline" (cache metadata in the exported image)' });
    }
    for (const e of opts.cacheImports ?? []) {
      if (e.type !== 'registry' && e.type !== 'local') throw new StapelkitError('CACHE_UNSUPPORTED', `the BuildKit in dockerd at ${this.address.text} cannot import cache of type "${e.type}"`, { hint: 'use "registry" (also reads local images) or "local"' });
    }
  }

  /**
   * Runs one build. Progress goes to `progress` (and is always collected into the result); a
   * failure becomes a StapelkitError (BuildError for a failing step, with its command, exit
   * status and last log lines).
   */
  async solve(opts: SolveOptions, progress?: ProgressSink): Promise<SolveResult> {
    if (opts.definition && opts.frontend) throw new StapelkitError('BAD_SOLVE', 'solve: give either a definition or a frontend, not both');
    if (opts.frontendInputs && !opts.frontend) throw new StapelkitError('BAD_SOLVE', 'solve: frontendInputs need a frontend');
    if ((opts.imageConfig !== undefined || opts.resultMetadata) && !opts.definition) throw new StapelkitError('BAD_SOLVE', 'solve: imageConfig/resultMetadata need a definition');
    this.checkExporter(opts);
    this.checkCache(opts);
    // Local cache and tar=false exports read/write a content store the session serves.
    const prepared = prepareSessionStores(opts);
    if (prepared.stores.length) {
      const s = opts.session;
      if (!s || typeof s === 'string' || !s.addContentStore) {
        throw new StapelkitError('SESSION_NEEDED', `${prepared.stores.map((x) => x.id).join(', ')}: a local cache or tar=false export needs a content store in the session: pass a Session to solve()`);
      }
      for (const st of prepared.stores) s.addContentStore(st.id, st.dir);
    }
    const def = opts.definition ? defBytes(opts.definition) : undefined;
    if (def && opts.checkCaps !== false) await this.requireCaps(definitionCaps(def));
    const ref = opts.ref ?? crypto.randomBytes(16).toString('hex');
    const collector = new ProgressCollector();
    if (def) for (const d of definitionSourceDigests(def)) collector.sourceDigests.add(d);
    const sink = teeProgress(collector, progress);

    let attachedHere: AttachedSession | undefined;
    let sessionId: string | undefined;
    if (typeof opts.session === 'string') sessionId = opts.session;
    else if (opts.session) {
      sessionId = opts.session.id;
      if (!this.attached.has(sessionId)) attachedHere = await this.attachSession(opts.session);
    }

    const req: Record<string, unknown> = { Ref: ref };
    if (opts.exporter) {
      req.Exporter = opts.exporter.type;
      const attrs = sortedMap(opts.exporter.attrs);
      if (attrs) req.ExporterAttrs = attrs;
    }
    if (sessionId) req.Session = sessionId;
    if (opts.frontend) req.Frontend = opts.frontend;
    const frontendAttrs = { ...(opts.frontendAttrs ?? {}) };
    // A frontend learns the cache imports from its attrs (BuildKit's client does the same).
    if (opts.frontend && prepared.cacheImports.length && frontendAttrs['cache-imports'] === undefined) {
      frontendAttrs['cache-imports'] = JSON.stringify(prepared.cacheImports.map((c) => ({ Type: c.type, Attrs: c.attrs ?? {} })));
    }
    const fattrs = sortedMap(frontendAttrs);
    if (fattrs) req.FrontendAttrs = fattrs;
    const cache: Record<string, unknown> = {};
    const entry = (c: CacheEntry) => {
      const attrs = sortedMap(c.attrs);
      return { Type: c.type, ...(attrs ? { Attrs: attrs } : {}) };
    };
    if (prepared.cacheExports.length) cache.Exports = prepared.cacheExports.map(entry);
    if (prepared.cacheImports.length) cache.Imports = prepared.cacheImports.map(entry);
    if (Object.keys(cache).length) req.Cache = cache;
    if (opts.entitlements?.length) req.Entitlements = opts.entitlements;
    const inputs = opts.frontendInputs ? Object.fromEntries(Object.entries(opts.frontendInputs).map(([k, v]) => [k, defBytes(v)])) : undefined;
    const metadata: Record<string, Buffer> = {};
    if (opts.imageConfig !== undefined) metadata['containerimage.config'] = Buffer.from(typeof opts.imageConfig === 'string' ? opts.imageConfig : JSON.stringify(opts.imageConfig));
    for (const [k, v] of Object.entries(opts.resultMetadata ?? {})) metadata[k] = Buffer.from(v);
    const viaGateway = !!def && Object.keys(metadata).length > 0;
    const bytes = encodeSolveRequest(req, viaGateway ? undefined : def, inputs);

    const status = this.statusStream(ref, sink);
    let solveCall: grpc.ClientUnaryCall | undefined;
    const onAbort = () => solveCall?.cancel();
    opts.signal?.addEventListener('abort', onAbort);
    try {
      const outer = new Promise<any>((resolve, reject) => {
        solveCall = this.control.Solve(bytes, (err: grpc.ServiceError | null, r: any) => (err ? reject(err) : resolve(r)));
      });
      if (viaGateway) {
        outer.catch(() => undefined);
        await this.gatewayReturn(ref, def!, metadata, outer);
      }
      const res = await outer;
      await waitAtMost(status.ended, 5000);
      sink.done?.();
      prepared.finish(res.ExporterResponse ?? {});
      return { ref, exporterResponse: res.ExporterResponse ?? {}, warnings: prepared.warnings, progress: collector };
    } catch (e) {
      // Let the stream deliver the failing vertex's last logs before explaining the error.
      await waitAtMost(status.ended, 3000);
      const err = opts.signal?.aborted ? new StapelkitError('CANCELLED', 'build cancelled') : (e as grpc.ServiceError).code === 14 ? grpcFailure('Solve', e) : buildErrorFrom(e as grpc.ServiceError, collector, def ? definitionSourceMap(def) : undefined);
      sink.done?.(err);
      throw err;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      status.cancel();
      if (attachedHere) await attachedHere.close();
    }
  }

  /**
   * The client-side half of a gateway build `ref`: LLBBridge.Solve(definition) → result ref, then
   * LLBBridge.Return with that ref and `metadata`. Errors of the LLB itself surface in the outer
   * Control.Solve (the result is evaluated while exporting).
   */
  private async gatewayReturn(ref: string, def: Uint8Array, metadata: Record<string, Buffer>, outer: Promise<unknown>): Promise<void> {
    const md = buildIdMetadata(ref);
    const solveReq = Buffer.concat([encodeMessage(messageType('moby.buildkit.v1.frontend.SolveRequest'), { allowResultReturn: true, allowResultArrayRef: true }), lenField(1, def)]);
    let resultId: string;
    try {
      const res = await this.unary<any>(this.bridge, 'Solve', solveReq, md.clone());
      resultId = res.result?.ref?.id ?? res.result?.refDeprecated ?? res.ref ?? '';
    } catch (e) {
      // Hand the failure to the build so the outer Solve ends; report the bridge error itself.
      const d = decodeGrpcError(e as grpc.ServiceError);
      await this.unary<any>(this.bridge, 'Return', { error: { code: d.code, message: d.message } }, md.clone(), 30_000).catch(() => undefined);
      await outer.catch(() => undefined);
      throw e;
    }
    await this.unary<any>(this.bridge, 'Return', { result: { ref: { id: resultId }, metadata } }, md.clone());
  }

  /**
   * The daemon's LLB and gateway caps plus its workers, through a client-side gateway build:
   * Solve with neither Definition nor Frontend, LLBBridge.Ping with `buildkit-controlapi-buildid`,
   * then Return an empty result. Cached per client.
   */
  llbCaps(): Promise<DaemonCaps> {
    if (!this.capsPromise) {
      this.capsPromise = this.discoverCaps();
      this.capsPromise.catch(() => (this.capsPromise = undefined));
    }
    return this.capsPromise;
  }

  private async discoverCaps(): Promise<DaemonCaps> {
    const ref = `stapelkit-caps-${crypto.randomBytes(8).toString('hex')}`;
    const solved = new Promise<void>((resolve, reject) => {
      this.control.Solve(encodeSolveRequest({ Ref: ref }), (err: grpc.ServiceError | null) => (err ? reject(err) : resolve()));
    });
    solved.catch(() => undefined);
    let pong: any;
    try {
      pong = await this.unary<any>(this.bridge, 'Ping', {}, buildIdMetadata(ref), 30_000);
    } catch (e) {
      const raced = await Promise.race([solved.then(() => undefined, (x) => x), new Promise((r) => setTimeout(r, 100))]);
      throw grpcFailure('cap discovery (LLBBridge.Ping)', raced ?? e);
    }
    try {
      await this.unary<any>(this.bridge, 'Return', { result: {} }, buildIdMetadata(ref), 30_000);
      await solved;
    } catch (e) {
      throw grpcFailure('cap discovery (LLBBridge.Return)', e);
    }
    const enabled = (caps: any[] | undefined) => new Set((caps ?? []).filter((c) => c.Enabled).map((c) => c.ID as string));
    return { llb: enabled(pong.LLBCaps), frontend: enabled(pong.FrontendAPICaps), workers: (pong.Workers ?? []).map(toWorker) };
  }

  /** Throws CAP_MISSING naming every cap in `caps` the daemon does not have. */
  async requireCaps(caps: string[]): Promise<void> {
    if (caps.length === 0) return;
    const have = await this.llbCaps();
    const missing = caps.filter((c) => !have.llb.has(c));
    if (missing.length) {
      throw new StapelkitError('CAP_MISSING', `the ${this.daemonLabel} at ${this.address.text} lacks LLB capabilit${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}`, {
        hint: 'the build uses a feature of a newer BuildKit; use a newer buildkitd or avoid the feature',
      });
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of [...this.attached.values()]) await s.close().catch(() => undefined);
    this.bridge.close();
    this.control.close();
    await this.transport.close();
  }
}

/**
 * Connects to the daemon at `addr` (or the one resolveAddress() finds: BUILDKIT_HOST, DOCKER_HOST,
 * the default sockets, else Stapelkit's own dockerd) and checks that it answers.
 */
export async function connect(addr?: string, opts: ConnectOptions = {}): Promise<BuildkitClient> {
  const resolved = await resolveAddress({ addr, tls: opts.tls, env: opts.env, embedded: opts.embedded, say: opts.say });
  const transport = await openTransport(resolved.address);
  return new BuildkitClient(transport, resolved.source);
}
