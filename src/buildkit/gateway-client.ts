/**
 * The `Gateway` of `stapelkit build`: one long-lived client-side gateway build over the Control API
 * (§3.4 of buildkit-protocols.md). Control.Solve runs with neither Definition nor Frontend, and the
 * LLBBridge calls (Ping, ResolveImageConfig, Solve, ReadFile, ReadDir, StatFile, Return) carry
 * `buildkit-controlapi-buildid: <ref>`. Every solve of the gateway shares the build's session (the
 * SolveRequest's `Session`), so local sources need no session id in the graph: BuildKit v0.8 takes
 * the session from the job's session group.
 *
 *   const gw = await openGateway(client, { session, progress });
 *   const ref = await gw.solve(def);                    // BuildError with command, status, log tail, pos
 *   const text = await gw.readFile(ref, '/etc/os-release');
 *   await gw.finish();
 */
import * as crypto from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { StapelkitError } from '../errors';
import type { Gateway, GatewayCaps, GatewayRef, GatewayResult, GatewayStat, OciImageConfig, ResolveImageOptions, ResolvedImage, SolveRefOptions } from '../build/gateway';
import { normalizeImageRef } from '../llb/reference';
import { formatPlatform, parsePlatform, type Platform } from '../llb/platform';
import { encodeMessage, messageType } from '../proto';
import { buildErrorFrom, decodeGrpcError } from './build-error';
import type { BuildkitClient, WorkerInfo } from './client';
import { grpcFailure, waitAtMost } from './grpc-util';
import type { AttachedSession, SessionLike } from './session-tunnel';
import { defBytes, definitionOpDigests, definitionSourceMap, encodeSolveRequest, lenField, type DefinitionLike } from './solve-request';
import { ProgressCollector, teeProgress, type ProgressSink } from './progress';
import { toBuildkitVersion } from './version';

export interface OpenGatewayOptions {
  /**
   * The session every solve of this gateway uses (local sources, secrets, ssh, registry auth).
   * Leased for the gateway's lifetime (client.attachSession): the tunnel stays while any lease holds it.
   */
  session?: SessionLike;
  /** Where the gateway build's Status stream goes (it is always collected too). */
  progress?: ProgressSink;
  /** Build ID (keys the Status stream); random when omitted. */
  ref?: string;
  /** `network.host`, `security.insecure` for every solve of the build. */
  entitlements?: string[];
}

export { definitionOpDigests };

/** `os/arch[/variant]` of a pb.Platform (protobufjs object). */
export function platformString(p: any): string {
  return [p.OS || 'linux', p.Architecture, p.Variant].filter(Boolean).join('/');
}

export function toWorker(w: any): WorkerInfo {
  const buildkitVersion = toBuildkitVersion(w.BuildkitVersion);
  return { id: w.ID ?? '', labels: w.Labels ?? {}, platforms: (w.platforms ?? []).map(platformString), ...(buildkitVersion ? { buildkitVersion } : {}) };
}

function toStat(s: any): GatewayStat {
  const out: GatewayStat = { path: s?.path ?? '', mode: Number(s?.mode ?? 0), uid: Number(s?.uid ?? 0), gid: Number(s?.gid ?? 0), size: Number(s?.size ?? 0), modTime: typeof s?.modTime === 'string' ? BigInt(s.modTime) : Number(s?.modTime ?? 0) };
  if (s?.linkname) out.linkname = s.linkname;
  if (s?.devmajor) out.devmajor = Number(s.devmajor);
  if (s?.devminor) out.devminor = Number(s.devminor);
  return out;
}

function pbPlatform(p: Platform): Record<string, unknown> {
  return { OS: p.os, Architecture: p.architecture, ...(p.variant ? { Variant: p.variant } : {}) };
}

const GRPC_NOT_FOUND = 5;

export class ControlGateway implements Gateway {
  private finished?: Promise<void>;
  private pingCaps?: GatewayCaps;
  /** The daemon's workers as Ping reported them. */
  workers: WorkerInfo[] = [];

  private constructor(
    private readonly client: BuildkitClient,
    /** The build ID of the gateway build. */
    readonly ref: string,
    private readonly outer: { done: Promise<any>; cancel(): void },
    private readonly status: { ended: Promise<void>; cancel(): void },
    private readonly sink: ProgressSink,
    private readonly attachedHere: AttachedSession | undefined,
    readonly sessionId: string | undefined,
    /** Everything the build's Status stream said (all solves of this gateway). */
    readonly progress: ProgressCollector,
  ) {}

  /** Starts the gateway build and waits until its LLBBridge answers (Ping). */
  static async open(client: BuildkitClient, opts: OpenGatewayOptions = {}): Promise<ControlGateway> {
    const ref = opts.ref ?? `stapelkit-gw-${crypto.randomBytes(12).toString('hex')}`;
    let attachedHere: AttachedSession | undefined;
    if (opts.session) attachedHere = await client.attachSession(opts.session);
    const collector = new ProgressCollector();
    const req: Record<string, unknown> = { Ref: ref };
    if (opts.session) req.Session = opts.session.id;
    if (opts.entitlements?.length) req.Entitlements = opts.entitlements;
    // Status before Solve, so nothing the build says is missed.
    const gwSink = teeProgress(collector, opts.progress);
    const status = client.openStatus(ref, gwSink);
    const outer = client.startControlSolve(encodeSolveRequest(req));
    outer.done.catch(() => undefined);
    const gw = new ControlGateway(client, ref, outer, status, gwSink, attachedHere, opts.session?.id, collector);
    try {
      await gw.ping();
    } catch (e) {
      // The outer Solve usually says why (no session, daemon gone); prefer its error.
      const raced = await Promise.race([outer.done.then(() => undefined, (x) => x), new Promise((r) => setTimeout(r, 200))]);
      status.cancel();
      outer.cancel();
      if (attachedHere) await attachedHere.close().catch(() => undefined);
      throw grpcFailure('gateway (LLBBridge.Ping)', raced ?? e);
    }
    return gw;
  }

  private call<T>(method: string, req: unknown, deadlineMs?: number): Promise<T> {
    if (this.finished) return Promise.reject(new StapelkitError('GATEWAY_CLOSED', `gateway ${this.ref} is finished: ${method} is not possible`));
    return this.client.bridgeCall<T>(method, req, this.ref, deadlineMs);
  }

  private async ping(): Promise<GatewayCaps> {
    const pong = await this.call<any>('Ping', {}, 30_000);
    const enabled = (caps: any[] | undefined) => new Set<string>((caps ?? []).filter((c) => c.Enabled).map((c) => c.ID as string));
    this.workers = (pong.Workers ?? []).map(toWorker);
    const platforms: Platform[] = [];
    const seen = new Set<string>();
    for (const w of pong.Workers ?? []) {
      for (const p of w.platforms ?? []) {
        const norm = parsePlatform(platformString(p));
        const key = platformString({ OS: norm.os, Architecture: norm.architecture, Variant: norm.variant });
        if (!seen.has(key)) {
          seen.add(key);
          platforms.push(norm);
        }
      }
    }
    const version = this.workers.find((w) => w.buildkitVersion?.version)?.buildkitVersion?.version;
    this.pingCaps = { llb: enabled(pong.LLBCaps), frontend: enabled(pong.FrontendAPICaps), platforms, daemon: this.client.daemonKind, ...(version ? { version } : {}) };
    return this.pingCaps;
  }

  async caps(): Promise<GatewayCaps> {
    return this.pingCaps ?? (await this.ping());
  }

  /**
   * The image's config through the worker (`ResolveImageConfig`), so a standalone buildkitd gets it
   * too. On dockerd a locally stored image resolves from the image store with an empty digest (the
   * moby worker returns the local image's config without a manifest).
   */
  resolveImageConfig(ref: string, opts: ResolveImageOptions = {}): Promise<ResolvedImage> {
    // One call per (image, platform, mode) and build, as the Dockerfile frontend resolves each
    // base once: twenty images FROM one base ask the daemon once. A failure is not kept.
    const key = JSON.stringify([ref, opts.platform ? formatPlatform(opts.platform) : '', opts.resolveMode ?? 'default']);
    let r = this.resolved.get(key);
    if (!r) {
      r = this.resolveOnce(ref, opts);
      this.resolved.set(key, r);
      r.catch(() => this.resolved.delete(key));
    }
    // Each caller its own copy of the config (callers build on it).
    return r.then((x) => ({ ...x, config: structuredClone(x.config) }));
  }

  private readonly resolved = new Map<string, Promise<ResolvedImage>>();

  private async resolveOnce(ref: string, opts: ResolveImageOptions): Promise<ResolvedImage> {
    const name = normalizeImageRef(ref);
    const req: Record<string, unknown> = { Ref: name, ResolveMode: opts.resolveMode ?? 'default', LogName: `resolve image config for ${name}` };
    if (opts.platform) req.Platform = pbPlatform(parsePlatform(opts.platform));
    let res: any;
    try {
      res = await this.call<any>('ResolveImageConfig', req);
    } catch (e) {
      const d = decodeGrpcError(e as grpc.ServiceError);
      throw new StapelkitError('IMAGE_RESOLVE', `cannot resolve image ${ref}: ${d.message}`, { cause: e, hint: opts.platform ? `platform ${formatPlatform(opts.platform)}` : undefined });
    }
    let config: OciImageConfig;
    try {
      config = JSON.parse(Buffer.from(res.Config ?? []).toString() || '{}');
    } catch (e) {
      throw new StapelkitError('IMAGE_RESOLVE', `image ${ref}: the daemon sent an image config that is not JSON`, { cause: e });
    }
    return { ref: name, digest: res.Digest ?? '', config };
  }

  /**
   * LLBBridge.Solve of `definition` → a ref. With `evaluate` (default) the graph is built now
   * (`Evaluate`, cap `gateway.solve.evaluate`; older daemons: a StatFile of `/` forces it), so a
   * failing step surfaces here as a BuildError.
   */
  async solve(definition: DefinitionLike, opts: SolveRefOptions = {}): Promise<GatewayRef> {
    const def = defBytes(definition);
    const evaluate = opts.evaluate !== false;
    const caps = await this.caps();
    const nativeEvaluate = evaluate && caps.frontend.has('gateway.solve.evaluate');
    const fields: Record<string, unknown> = { allowResultReturn: true, allowResultArrayRef: true };
    if (nativeEvaluate) fields.Evaluate = true;
    const bytes = Buffer.concat([encodeMessage(messageType('moby.buildkit.v1.frontend.SolveRequest'), fields), lenField(1, def)]);
    let id: string;
    try {
      const res = await this.call<any>('Solve', bytes);
      id = res.result?.ref?.id ?? res.result?.refDeprecated ?? res.ref ?? '';
      if (evaluate && !nativeEvaluate && id) await this.call<any>('StatFile', { Ref: id, Path: '/' });
    } catch (e) {
      if (e instanceof StapelkitError) throw e;
      throw await this.solveError(e as grpc.ServiceError, def);
    }
    return { id };
  }

  /** A failed solve as a BuildError, once the Status stream delivered the failing vertex's logs. */
  private async solveError(e: grpc.ServiceError, def: Uint8Array): Promise<StapelkitError> {
    if (e.code === 14) return grpcFailure('gateway Solve', e);
    const ops = new Set(definitionOpDigests(def));
    const d = decodeGrpcError(e);
    const failedHere = () => this.progress.list().some((v) => v.error && (d.vertex ? v.digest === d.vertex : ops.has(v.digest)));
    // The error reply can overtake the status update that carries the vertex error and last logs.
    const until = Date.now() + 2000;
    while (!failedHere() && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 50)); // trailing log chunks
    return buildErrorFrom(e, this.progress, definitionSourceMap(def), ops);
  }

  private readFailure(what: string, ref: GatewayRef, path: string, e: unknown): StapelkitError {
    if (e instanceof StapelkitError) return e;
    const g = e as grpc.ServiceError;
    if (g?.code === 14) return grpcFailure(`gateway ${what}`, e);
    const d = decodeGrpcError(g);
    const code = g?.code === GRPC_NOT_FOUND || /no such file|not found/i.test(d.message) ? 'GATEWAY_NOT_FOUND' : 'GATEWAY_READ';
    return new StapelkitError(code, `${what} ${path} in result ${ref.id}: ${d.message}`, { cause: e });
  }

  async readFile(ref: GatewayRef, path: string, range?: { offset: number; length: number }): Promise<Buffer> {
    const req: Record<string, unknown> = { Ref: ref.id, FilePath: path };
    if (range) req.Range = { Offset: range.offset, Length: range.length };
    try {
      const res = await this.call<any>('ReadFile', req);
      return Buffer.from(res.Data ?? []);
    } catch (e) {
      throw this.readFailure('readFile', ref, path, e);
    }
  }

  async readDir(ref: GatewayRef, path: string, includePattern?: string): Promise<GatewayStat[]> {
    const req: Record<string, unknown> = { Ref: ref.id, DirPath: path };
    if (includePattern) req.IncludePattern = includePattern;
    try {
      const res = await this.call<any>('ReadDir', req);
      return (res.entries ?? []).map(toStat);
    } catch (e) {
      throw this.readFailure('readDir', ref, path, e);
    }
  }

  async stat(ref: GatewayRef, path: string): Promise<GatewayStat> {
    try {
      const res = await this.call<any>('StatFile', { Ref: ref.id, Path: path });
      return toStat(res.stat);
    } catch (e) {
      throw this.readFailure('stat', ref, path, e);
    }
  }

  /**
   * Ends the gateway build: LLBBridge.Return (the result, if any; else an empty one, or `error`),
   * then waits for the outer Control.Solve and releases its session lease. Images
   * are exported by exportImage()/the stages storage, not here. Safe to call more than once.
   */
  finish(result?: GatewayResult, error?: Error): Promise<void> {
    this.finished ??= this.doFinish(result, error);
    return this.finished;
  }

  private async doFinish(result?: GatewayResult, error?: Error): Promise<void> {
    try {
      const ret = error ? { error: { code: 2, message: error.message } } : { result: result ? toPbResult(result) : {} };
      await this.client.bridgeCall<any>('Return', ret, this.ref, 30_000).catch(() => undefined);
      try {
        await this.outer.done;
      } catch (e) {
        // The build failing with the error we returned is the expected end.
        if (!error) throw grpcFailure('gateway build', e);
      }
      await waitAtMost(this.status.ended, 2000);
      this.sink.done?.(error);
    } finally {
      this.status.cancel();
      this.outer.cancel();
      if (this.attachedHere) await this.attachedHere.close().catch(() => undefined);
    }
  }
}

/** A GatewayResult as the gateway's pb Result (refs by id; `containerimage.config[/<platform>]` metadata). */
function toPbResult(r: GatewayResult): Record<string, unknown> {
  const metadata: Record<string, Buffer> = { ...(r.metadata ?? {}) };
  const single = typeof (r.refs as GatewayRef).id === 'string';
  if (single) {
    if (r.imageConfig) metadata['containerimage.config'] = Buffer.from(JSON.stringify(r.imageConfig));
    return { ref: { id: (r.refs as GatewayRef).id }, metadata };
  }
  const refs: Record<string, unknown> = {};
  const cfgs = (r.imageConfig ?? {}) as Record<string, OciImageConfig>;
  for (const [k, v] of Object.entries(r.refs as Record<string, GatewayRef>)) {
    refs[k] = { id: v.id };
    if (cfgs[k]) metadata[`containerimage.config/${k}`] = Buffer.from(JSON.stringify(cfgs[k]));
  }
  return { refs: { refs }, metadata };
}

/** Opens the Control-API gateway of `stapelkit build` (see ControlGateway). */
export function openGateway(client: BuildkitClient, opts: OpenGatewayOptions = {}): Promise<ControlGateway> {
  return ControlGateway.open(client, opts);
}

/**
 * The client-side half of a one-shot gateway build `ref` (client.solve with an image config):
 * LLBBridge.Solve(definition) → result ref, then LLBBridge.Return with that ref and `metadata`.
 * Errors of the LLB itself surface in the outer Control.Solve (the result is evaluated while
 * exporting).
 */
export async function gatewayReturn(client: BuildkitClient, ref: string, def: Uint8Array, metadata: Record<string, Buffer>, outer: Promise<unknown>): Promise<void> {
  const solveReq = Buffer.concat([encodeMessage(messageType('moby.buildkit.v1.frontend.SolveRequest'), { allowResultReturn: true, allowResultArrayRef: true }), lenField(1, def)]);
  let resultId: string;
  try {
    const res = await client.bridgeCall<any>('Solve', solveReq, ref);
    resultId = res.result?.ref?.id ?? res.result?.refDeprecated ?? res.ref ?? '';
  } catch (e) {
    // Hand the failure to the build so the outer Solve ends; report the bridge error itself.
    const d = decodeGrpcError(e as grpc.ServiceError);
    await client.bridgeCall<any>('Return', { error: { code: d.code, message: d.message } }, ref, 30_000).catch(() => undefined);
    await outer.catch(() => undefined);
    throw e;
  }
  await client.bridgeCall<any>('Return', { result: { ref: { id: resultId }, metadata } }, ref);
}
