/**
 * The `Gateway` of the frontend image: BuildKit's LLBBridge, served by the daemon on the frontend
 * container's stdin/stdout (`frontend/gateway/gateway.go`), reached with our own HTTP/2 gRPC
 * client (grpc-h2.ts). The same calls as Go's `frontend/gateway/grpcclient`: Ping for caps, then
 * Solve/ReadFile/ReadDir/StatFile/ResolveImageConfig, and one Return at the end.
 *
 * What BuildKit tells a frontend outside the bridge comes from the environment (frontendEnv()).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import type { Gateway, GatewayCaps, GatewayRef, GatewayResult, GatewayStat, OciImageConfig, ResolvedImage, ResolveImageOptions, SolveRefOptions } from '../build/gateway';
import { buildErrorFrom } from '../buildkit/build-error';
import { definitionCaps, definitionSourceMap, definitionVertexNames, lenField } from '../buildkit/solve-request';
import { StapelkitError, isStapelkitError } from '../errors';
import { formatPlatform, normalizePlatform, parsePlatform, type Platform } from '../llb/platform';
import { normalizeImageRef } from '../llb/reference';
import { decodeMessage, encodeMessage, messageType } from '../proto';
import { GrpcCallError, GrpcH2Client } from './grpc-h2';

const SERVICE = '/moby.buildkit.v1.frontend.LLBBridge';
const PKG = 'moby.buildkit.v1.frontend';

/** What BuildKit passes to a frontend process besides the bridge (v0.8 and later alike). */
export interface FrontendEnv {
  /** Frontend options (`filename`, `target`, `build-arg:X`, `source`, `cmdline`, …). */
  opts: Record<string, string>;
  /** The client's session: local sources, secrets and ssh of generated LLB must name it. */
  sessionId: string;
  /** BUILDKIT_WORKERS: the workers and their platforms. */
  workers: { id: string; labels: Record<string, string>; platforms: Platform[] }[];
  /** BUILDKIT_EXPORTEDPRODUCT: `buildkit` for buildkitd; the embedding product otherwise. */
  product: string;
}

const OPT_PREFIX = 'BUILDKIT_FRONTEND_OPT_';

/**
 * Reads the frontend environment. Options are `BUILDKIT_FRONTEND_OPT_<i>=<key>=<value>`, split at
 * the first `=` of the value (no `=`: the value is empty), as grpcclient's opts() does.
 */
export function frontendEnv(env: NodeJS.ProcessEnv = process.env): FrontendEnv {
  const opts: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith(OPT_PREFIX) || v === undefined) continue;
    const eq = v.indexOf('=');
    if (eq < 0) opts[v] = '';
    else opts[v.slice(0, eq)] = v.slice(eq + 1);
  }
  let workers: FrontendEnv['workers'] = [];
  if (env.BUILDKIT_WORKERS) {
    try {
      const raw = JSON.parse(env.BUILDKIT_WORKERS) as { ID?: string; Labels?: Record<string, string>; Platforms?: { os?: string; architecture?: string; variant?: string }[] }[];
      workers = (raw ?? []).map((w) => ({
        id: w.ID ?? '',
        labels: w.Labels ?? {},
        platforms: (w.Platforms ?? []).filter((p) => p.architecture).map((p) => normalizePlatform({ os: p.os || 'linux', architecture: p.architecture!, ...(p.variant ? { variant: p.variant } : {}) })),
      }));
    } catch {
      /* unreadable worker list: the Ping answer has them too */
    }
  }
  return { opts, sessionId: env.BUILDKIT_SESSION_ID ?? '', workers, product: env.BUILDKIT_EXPORTEDPRODUCT ?? '' };
}

/**
 * The frontend's end of the bridge: reads stdin, writes stdout. Anything else that would write to
 * stdout (console.log, a stray process.stdout.write) is sent to stderr from here on, because one
 * foreign byte breaks the HTTP/2 connection.
 */
export function stdioConnection(): Duplex {
  // Pipes (what BuildKit gives) as non-blocking sockets; anything else (a file, a tty) through fs.
  const pipe = (fd: number) => {
    try {
      return fs.fstatSync(fd).isFIFO() || fs.fstatSync(fd).isSocket();
    } catch {
      return false;
    }
  };
  const readable = pipe(0) ? new net.Socket({ fd: 0, readable: true, writable: false }) : fs.createReadStream('', { fd: 0, autoClose: false });
  const writable = pipe(1) ? new net.Socket({ fd: 1, readable: false, writable: true }) : fs.createWriteStream('', { fd: 1, autoClose: false });
  const toStderr = (...args: unknown[]) => process.stderr.write(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ') + '\n');
  console.log = console.info = console.debug = toStderr;
  Object.defineProperty(process, 'stdout', { configurable: true, get: () => process.stderr });
  return Duplex.from({ readable, writable });
}

/** BuildKit's pb.Platform from ours. */
function pbPlatform(p: Platform): Record<string, unknown> {
  return { OS: p.os, Architecture: p.architecture, ...(p.variant ? { Variant: p.variant } : {}) };
}

function fromPbPlatform(p: { OS?: string; Architecture?: string; Variant?: string }): Platform {
  return normalizePlatform({ os: p.OS || 'linux', architecture: p.Architecture ?? '', ...(p.Variant ? { variant: p.Variant } : {}) });
}

function toStat(s: any): GatewayStat {
  const out: GatewayStat = { path: s.path ?? '', mode: s.mode ?? 0, uid: s.uid ?? 0, gid: s.gid ?? 0, size: Number(s.size ?? 0), modTime: typeof s.modTime === 'string' ? BigInt(s.modTime) : (s.modTime ?? 0) };
  if (s.linkname) out.linkname = s.linkname;
  if (s.devmajor) out.devmajor = Number(s.devmajor);
  if (s.devminor) out.devminor = Number(s.devminor);
  return out;
}

export interface BridgeGatewayOptions {
  env: FrontendEnv;
  /** Cache sources for every solve (the `cache-imports`/`cache-from` opts: BuildKit does not forward them itself). */
  cacheImports?: { Type: string; Attrs?: Record<string, string> }[];
  /** Ping timeout (Go's grpcclient waits 15 s). */
  pingTimeoutMs?: number;
  /** Called once, right before the first Solve is sent (start-up measurements). */
  onFirstSolve?: () => void;
}

type DefinitionBytes = Uint8Array | { toBytes(): Uint8Array };

export class BridgeGateway implements Gateway {
  private capsP: Promise<GatewayCaps> | undefined;
  private firstSolve = true;
  private finished = false;

  constructor(
    private readonly rpc: GrpcH2Client,
    readonly opts: BridgeGatewayOptions,
  ) {}

  /** The gateway of this frontend process (stdin/stdout). */
  static fromStdio(opts: Omit<BridgeGatewayOptions, 'env'> & { env?: FrontendEnv }): BridgeGateway {
    return new BridgeGateway(new GrpcH2Client(stdioConnection()), { ...opts, env: opts.env ?? frontendEnv() });
  }

  private async call<T = any>(method: string, req: Record<string, unknown> | Buffer, timeoutMs?: number): Promise<T> {
    const bytes = Buffer.isBuffer(req) ? req : encodeMessage(messageType(`${PKG}.${method === 'Return' ? 'ReturnRequest' : `${method}Request`}`), req);
    const res = this.rpc.unary(`${SERVICE}/${method}`, bytes, { timeoutMs });
    if (method === 'Ping') {
      // The first call: the .proto files are parsed (tens of ms) while BuildKit answers, once the
      // request is out (node:http2 writes it in an immediate before ours).
      res.catch(() => undefined);
      await new Promise((resolve) => setImmediate(resolve));
      messageType(`${PKG}.PongResponse`);
    }
    return decodeMessage<T>(messageType(`${PKG}.${method === 'Ping' ? 'PongResponse' : `${method}Response`}`), await res);
  }

  caps(): Promise<GatewayCaps> {
    if (!this.capsP) {
      this.capsP = this.ping();
      this.capsP.catch(() => (this.capsP = undefined));
    }
    return this.capsP;
  }

  private async ping(): Promise<GatewayCaps> {
    let pong: any;
    try {
      // PingRequest has no fields: its encoding is empty, no .proto needed to send it.
      pong = await this.call('Ping', Buffer.alloc(0), this.opts.pingTimeoutMs ?? 15_000);
    } catch (e) {
      throw new StapelkitError('FRONTEND_BRIDGE', `cannot reach BuildKit's LLBBridge on stdin/stdout: ${(e as Error).message}`, { hint: 'the frontend must be run by BuildKit (gateway.v0 / # syntax=), not by hand', cause: e });
    }
    const enabled = (caps: any[] | undefined) => new Set<string>((caps ?? []).filter((c) => c.Enabled).map((c) => c.ID as string));
    const seen = new Set<string>();
    const platforms: Platform[] = [];
    const add = (p: Platform) => {
      const k = formatPlatform(p);
      if (!seen.has(k)) {
        seen.add(k);
        platforms.push(p);
      }
    };
    for (const w of pong.Workers ?? []) for (const p of w.platforms ?? []) add(fromPbPlatform(p));
    for (const w of this.opts.env.workers) for (const p of w.platforms) add(p);
    const version = (pong.Workers ?? []).map((w: any) => w.BuildkitVersion?.version).find(Boolean) as string | undefined;
    const product = this.opts.env.product;
    const labels = (pong.Workers ?? []).flatMap((w: any) => Object.keys(w.Labels ?? {})).concat(this.opts.env.workers.flatMap((w) => Object.keys(w.labels)));
    // buildkitd says `buildkit`; dockerd's workers carry moby labels (and its product name is docker's).
    const daemon: GatewayCaps['daemon'] = product === 'buildkit' ? 'buildkitd' : labels.some((l: string) => l.includes('moby')) || /docker|moby/i.test(product) ? 'dockerd' : 'unknown';
    return { llb: enabled(pong.LLBCaps), frontend: enabled(pong.FrontendAPICaps), platforms, daemon, ...(version ? { version } : {}) };
  }

  private async requireFrontendCap(cap: string, what: string): Promise<void> {
    const caps = await this.caps();
    if (!caps.frontend.has(cap)) throw new StapelkitError('CAP_MISSING', `the daemon's gateway lacks "${cap}" (needed for ${what})`);
  }

  async resolveImageConfig(ref: string, opts: ResolveImageOptions = {}): Promise<ResolvedImage> {
    const caps = await this.caps();
    const full = normalizeImageRef(ref);
    const req: Record<string, unknown> = { Ref: full, LogName: `resolve image config for ${full}` };
    if (opts.platform) req.Platform = pbPlatform(normalizePlatform(opts.platform));
    if (opts.resolveMode && opts.resolveMode !== 'default') {
      if (!caps.frontend.has('resolveimage.resolvemode')) throw new StapelkitError('CAP_MISSING', `the daemon's gateway cannot resolve images in "${opts.resolveMode}" mode`);
      req.ResolveMode = opts.resolveMode;
    }
    let res: { Digest?: string; Config?: Buffer };
    try {
      res = await this.call('ResolveImageConfig', req);
    } catch (e) {
      throw new StapelkitError('IMAGE_RESOLVE', `cannot resolve image ${ref}: ${e instanceof GrpcCallError ? e.details : (e as Error).message}`, { cause: e });
    }
    let config: OciImageConfig;
    try {
      config = JSON.parse(Buffer.from(res.Config ?? []).toString('utf8')) as OciImageConfig;
    } catch (e) {
      throw new StapelkitError('IMAGE_RESOLVE', `image ${ref}: the daemon returned an unreadable image config`, { cause: e });
    }
    // dockerd answers images of its own store without a manifest digest.
    return { ref: full, digest: res.Digest ?? '', config };
  }

  async solve(definition: DefinitionBytes, opts: SolveRefOptions = {}): Promise<GatewayRef> {
    const caps = await this.caps();
    const def = definition instanceof Uint8Array ? definition : definition.toBytes();
    const missing = definitionCaps(def).filter((c) => !caps.llb.has(c));
    if (missing.length) throw new StapelkitError('CAP_MISSING', `the daemon lacks LLB capabilit${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}`, { hint: 'the build uses a feature of a newer BuildKit' });
    const req: Record<string, unknown> = { allowResultReturn: true, allowResultArrayRef: true };
    if (opts.evaluate !== false && caps.frontend.has('gateway.solve.evaluate')) req.Evaluate = true;
    if (this.opts.cacheImports?.length) req.CacheImports = this.opts.cacheImports;
    // Field 1 (Definition) appended verbatim: re-encoding through protobufjs could reorder its maps.
    const bytes = Buffer.concat([encodeMessage(messageType(`${PKG}.SolveRequest`), req), lenField(1, def)]);
    if (this.firstSolve) {
      this.firstSolve = false;
      this.opts.onFirstSolve?.();
    }
    try {
      const res = await this.call('Solve', bytes);
      const id: string = res.result?.ref?.id ?? res.result?.refDeprecated ?? res.ref ?? '';
      return { id };
    } catch (e) {
      if (!(e instanceof GrpcCallError)) throw e;
      throw buildErrorFrom(e as never, undefined, definitionSourceMap(def), undefined, definitionVertexNames(def));
    }
  }

  /** The definitions the caller passed as frontend inputs (cap `frontend.inputs`, v0.7). */
  async inputs(): Promise<Record<string, Buffer>> {
    const caps = await this.caps();
    if (!caps.frontend.has('frontend.inputs')) return {};
    // Decoded structurally, then each Definition re-encoded: its ops stay the same bytes.
    const res = await this.call<{ Definitions?: Record<string, Record<string, unknown>> }>('Inputs', {});
    const out: Record<string, Buffer> = {};
    for (const [k, d] of Object.entries(res.Definitions ?? {})) out[k] = encodeMessage(messageType('pb.Definition'), d);
    return out;
  }

  private fileError(what: string, e: unknown): Error {
    if (e instanceof GrpcCallError) {
      const notFound = /no such file or directory|not found/i.test(e.details);
      return new StapelkitError(notFound ? 'FILE_NOT_FOUND' : 'GATEWAY_READ', `${what}: ${e.details}`, { cause: e });
    }
    return e as Error;
  }

  async readFile(ref: GatewayRef, path: string, range?: { offset: number; length: number }): Promise<Buffer> {
    await this.requireFrontendCap('readfile', 'reading files');
    const req: Record<string, unknown> = { Ref: ref.id, FilePath: path };
    if (range) req.Range = { Offset: range.offset, Length: range.length };
    try {
      const res = await this.call<{ Data?: Buffer }>('ReadFile', req);
      return Buffer.from(res.Data ?? []);
    } catch (e) {
      throw this.fileError(`read ${path}`, e);
    }
  }

  async readDir(ref: GatewayRef, path: string, includePattern?: string): Promise<GatewayStat[]> {
    await this.requireFrontendCap('readdir', 'listing directories');
    const req: Record<string, unknown> = { Ref: ref.id, DirPath: path };
    if (includePattern) req.IncludePattern = includePattern;
    try {
      const res = await this.call<{ entries?: unknown[] }>('ReadDir', req);
      return (res.entries ?? []).map(toStat);
    } catch (e) {
      throw this.fileError(`list ${path}`, e);
    }
  }

  async stat(ref: GatewayRef, path: string): Promise<GatewayStat> {
    await this.requireFrontendCap('statfile', 'stat');
    try {
      const res = await this.call<{ stat?: unknown }>('StatFile', { Ref: ref.id, Path: path });
      return toStat(res.stat ?? {});
    } catch (e) {
      throw this.fileError(`stat ${path}`, e);
    }
  }

  async finish(result?: GatewayResult, error?: Error): Promise<void> {
    if (this.finished) throw new StapelkitError('GATEWAY_FINISHED', 'the gateway result was already returned');
    this.finished = true;
    const req = error ? { error: errorStatus(error) } : { result: encodeResult(result) };
    // The connection is left open: BuildKit v0.8 treats the bridge connection closing before the
    // process exits as a crash ("frontend grpc server closed unexpectedly"). The caller exits.
    await this.call('Return', req, 60_000);
  }
}

/** google.rpc.Status for a frontend failure: the positioned one-line message users see in the build output. */
export function errorStatus(error: Error): { code: number; message: string } {
  if (error instanceof GrpcCallError) return { code: error.code, message: error.details };
  const message = isStapelkitError(error) ? error.format() : error.message || String(error);
  // INVALID_ARGUMENT for bad configuration, UNKNOWN for everything else (as Go's errors do).
  const code = isStapelkitError(error) && /^(CONFIG|YAML|TEMPLATE|GITERMINISM|FRONTEND_OPT)/.test(error.code) ? 3 : 2;
  return { code, message };
}

/** gateway Result for `Return`: one ref, or per-platform refs with `refs.platforms`. */
export function encodeResult(result?: GatewayResult): Record<string, unknown> {
  if (!result) return {};
  const metadata: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(result.metadata ?? {})) metadata[k] = Buffer.from(v);
  const refs = result.refs;
  if ('id' in refs && typeof (refs as GatewayRef).id === 'string') {
    if (result.imageConfig) metadata['containerimage.config'] = Buffer.from(JSON.stringify(result.imageConfig));
    return { ref: { id: (refs as GatewayRef).id }, ...(Object.keys(metadata).length ? { metadata } : {}) };
  }
  const map = refs as Record<string, GatewayRef>;
  const configs = (result.imageConfig ?? {}) as Record<string, OciImageConfig>;
  const ids = Object.keys(map).sort();
  const platforms = ids.map((id) => {
    const p = parsePlatform(id);
    return { ID: id, Platform: { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) } };
  });
  metadata['refs.platforms'] = Buffer.from(JSON.stringify({ Platforms: platforms }));
  for (const id of ids) if (configs[id]) metadata[`containerimage.config/${id}`] = Buffer.from(JSON.stringify(configs[id]));
  return { refs: { refs: Object.fromEntries(ids.map((id) => [id, { id: map[id].id }])) }, metadata };
}
