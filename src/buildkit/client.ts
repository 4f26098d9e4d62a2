/**
 * Client of BuildKit's Control API (`moby.buildkit.v1.Control`) for dockerd's embedded BuildKit
 * (v0.8) and standalone buildkitd: the control calls (ListWorkers, DiskUsage, Prune, cap discovery)
 * live here; Solve is in solve.ts, the session tunnel in session-tunnel.ts, the client-side
 * gateway in gateway-client.ts, request bytes in solve-request.ts. Finding (or starting) a daemon
 * is src/daemon's job (connect()); connectTo() opens a client for a known address.
 */
import * as crypto from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { grpcJs } from './grpc-js';
import { StapelkitError } from '../errors';
import { serviceDefinition } from '../proto';
import { ControlGateway, toWorker } from './gateway-client';
import { buildIdMetadata, grpcFailure, MAX_MESSAGE_SIZE, unary, type AnyClient } from './grpc-util';
import { protoDate, toStatusUpdate, type ProgressSink } from './progress';
import { openSessionTunnel, type AttachedSession, type SessionLike, type TunnelKind } from './session-tunnel';
import { EXPORTERS, runSolve, type SolveOptions, type SolveResult } from './solve';
import { dockerGet } from './hijack';
import { openTransport, type DaemonAddress, type ResolvedAddress, type Transport } from './transport';
import { toBuildkitVersion, type BuildkitVersion, type DaemonVersion } from './version';

// The API callers have always imported from here.
export { MAX_MESSAGE_SIZE, waitAtMost, grpcFailure } from './grpc-util';
export { encodeSolveRequest, definitionSourceDigests, definitionSourceMap, definitionCaps, definitionOpDigests, lenField, type DefinitionLike } from './solve-request';
export type { SessionLike, AttachedSession, TunnelKind } from './session-tunnel';
export type { SolveOptions, SolveResult, ExporterSpec, CacheEntry } from './solve';
export { platformString, toWorker } from './gateway-client';

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

export class BuildkitClient {
  private clients: { control: AnyClient; bridge: AnyClient } | undefined;
  private capsPromise: Promise<DaemonCaps> | undefined;
  /** Open tunnels by session id, with how many leases (attachSession calls not yet closed) hold each. */
  private readonly tunnels = new Map<string, { tunnel: Promise<AttachedSession>; refs: number }>();
  private closed = false;

  constructor(
    readonly transport: Transport,
    readonly source: ResolvedAddress['source'] = 'flag',
  ) {}

  /**
   * The Control and LLBBridge stubs, made on the first gRPC call: a build whose stages are all
   * stored talks to the daemon's HTTP API only and never loads grpc-js or the .proto files.
   */
  private stubs(): { control: AnyClient; bridge: AnyClient } {
    if (this.clients) return this.clients;
    const g = grpcJs();
    const transport = this.transport;
    const options: grpc.ChannelOptions = {
      'grpc.max_send_message_length': MAX_MESSAGE_SIZE,
      'grpc.max_receive_message_length': MAX_MESSAGE_SIZE,
      ...transport.channelOptions,
    };
    const Control = g.makeGenericClientConstructor(serviceDefinition('moby.buildkit.v1.Control'), 'Control');
    const Bridge = g.makeGenericClientConstructor(serviceDefinition('moby.buildkit.v1.frontend.LLBBridge'), 'LLBBridge');
    const control = new Control(transport.target, transport.credentials, options) as AnyClient;
    // LLBBridge calls of a client-side build must reach the same daemon: share the channel.
    const bridge = new Bridge(transport.target, transport.credentials, { ...options, channelOverride: control.getChannel() }) as AnyClient;
    return (this.clients = { control, bridge });
  }

  private get control(): AnyClient {
    return this.stubs().control;
  }

  private get bridge(): AnyClient {
    return this.stubs().bridge;
  }

  get address(): DaemonAddress {
    return this.transport.address;
  }

  /** 'dockerd' (BuildKit embedded in dockerd 20.10) or 'buildkitd'. */
  get daemonKind(): DaemonAddress['kind'] {
    return this.transport.address.kind;
  }

  /** How messages name the daemon. */
  get daemonLabel(): string {
    return this.daemonKind === 'dockerd' ? 'BuildKit in dockerd' : 'BuildKit daemon';
  }

  /** Exporter types this daemon has. */
  exporters(): string[] {
    return [...EXPORTERS[this.daemonKind]];
  }

  private unary<T>(client: AnyClient, method: string, req: unknown, md?: grpc.Metadata, deadlineMs?: number): Promise<T> {
    return unary<T>(client, method, req, md, deadlineMs);
  }

  /**
   * LLBBridge call `method` of the client-side gateway build `buildId` (for src/buildkit/gateway-client.ts).
   * @internal
   */
  bridgeCall<T>(method: string, req: unknown, buildId: string, deadlineMs?: number): Promise<T> {
    return this.unary<T>(this.bridge, method, req, buildIdMetadata(buildId), deadlineMs);
  }

  /**
   * Starts Control.Solve with already-encoded SolveRequest bytes; `done` settles with the raw
   * response or the gRPC error. @internal
   */
  startControlSolve(bytes: Buffer): { done: Promise<any>; cancel(): void } {
    let call: grpc.ClientUnaryCall | undefined;
    const done = new Promise<any>((resolve, reject) => {
      call = this.control.Solve(bytes, (err: grpc.ServiceError | null, r: any) => (err ? reject(err) : resolve(r)));
    });
    return { done, cancel: () => call?.cancel() };
  }

  /** The Status stream of build `ref` into `sink`. @internal */
  openStatus(ref: string, sink: ProgressSink): { ended: Promise<void>; cancel(): void } {
    return this.statusStream(ref, sink);
  }

  /** Whether a session with this id is attached (some lease of attachSession() is open). */
  isAttached(sessionId: string): boolean {
    return this.tunnels.has(sessionId);
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
      if ((e as grpc.ServiceError).code !== grpcJs().status.UNIMPLEMENTED) throw grpcFailure('Info', e);
    }
    if (!out.buildkit) {
      const v = (await this.listWorkers()).find((w) => w.buildkitVersion)?.buildkitVersion;
      if (v) Object.assign(out, { buildkit: v, source: 'workers' });
    }
    const a = this.address;
    if (a.kind === 'dockerd' && a.net === 'unix') {
      const res = await dockerGet(a.path, '/version', 5000).catch(() => undefined);
      try {
        const ver = res?.status === 200 ? (JSON.parse(res.body.toString()) as { Version?: string }) : undefined;
        if (ver?.Version) out.dockerd = ver.Version;
      } catch {
        /* not JSON: no engine version */
      }
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
   * A lease on the tunnel of `session` (see session-tunnel.ts): the first lease opens it, every
   * lease's close() releases it, and the tunnel closes when the last lease is released (or the
   * daemon ends it). So a solve, an export and the build's gateway can each attach the same
   * session without one closing it under the others.
   */
  async attachSession(session: SessionLike, opts: { tunnel?: TunnelKind } = {}): Promise<AttachedSession> {
    let entry = this.tunnels.get(session.id);
    if (!entry) {
      const e = { tunnel: openSessionTunnel(this.control, this.address, session, opts.tunnel ?? 'auto', () => undefined), refs: 0 };
      const forget = () => {
        if (this.tunnels.get(session.id) === e) this.tunnels.delete(session.id);
      };
      e.tunnel.then((t) => t.done.finally(forget), forget);
      this.tunnels.set(session.id, e);
      entry = e;
    }
    const e = entry;
    e.refs++;
    let t: AttachedSession;
    try {
      t = await e.tunnel;
    } catch (err) {
      e.refs--;
      throw err;
    }
    let released = false;
    return {
      id: session.id,
      done: t.done,
      close: async () => {
        if (released) return;
        released = true;
        if (--e.refs > 0) return;
        if (this.tunnels.get(session.id) === e) this.tunnels.delete(session.id);
        await t.close();
      },
    };
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

  /**
   * Runs one build (solve.ts). Progress goes to `progress` (and is always collected into the
   * result); a failure becomes a StapelkitError (BuildError for a failing step, with its command,
   * exit status and last log lines).
   */
  solve(opts: SolveOptions, progress?: ProgressSink): Promise<SolveResult> {
    return runSolve(this, opts, progress);
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

  /**
   * Takes the caps from a gateway this client already opened (its Ping says the same as
   * discoverCaps' would), so a build opens one gateway build, not two, before its first solve.
   */
  adoptCaps(gw: ControlGateway): Promise<DaemonCaps> {
    if (!this.capsPromise) {
      this.capsPromise = gw.caps().then((caps) => ({ llb: caps.llb, frontend: caps.frontend, workers: gw.workers }));
      this.capsPromise.catch(() => (this.capsPromise = undefined));
    }
    return this.capsPromise;
  }

  private async discoverCaps(): Promise<DaemonCaps> {
    const gw = await ControlGateway.open(this, { ref: `stapelkit-caps-${crypto.randomBytes(8).toString('hex')}` });
    try {
      const caps = await gw.caps();
      return { llb: caps.llb, frontend: caps.frontend, workers: gw.workers };
    } finally {
      await gw.finish().catch(() => undefined);
    }
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
    const open = [...this.tunnels.values()];
    this.tunnels.clear();
    for (const e of open) await (await e.tunnel.catch(() => undefined))?.close().catch(() => undefined);
    this.clients?.bridge.close();
    this.clients?.control.close();
    await this.transport.close();
  }
}

/** A client for the daemon at `address` (no discovery; see src/daemon/connect.ts for that). */
export async function connectTo(address: DaemonAddress, source: ResolvedAddress['source'] = 'flag'): Promise<BuildkitClient> {
  const transport = await openTransport(address);
  return new BuildkitClient(transport, source);
}
