/**
 * One Control.Solve with its Status stream: a Definition or a frontend, exporters and cache
 * options checked against the daemon kind, and failures explained as BuildErrors. A Definition
 * with an image config goes through a client-side gateway build (see gatewayReturn).
 */
import * as crypto from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { StapelkitError } from '../errors';
import { buildErrorFrom } from './build-error';
import { prepareSessionStores, type CacheEntry } from './cache-options';
import type { BuildkitClient } from './client';
import { gatewayReturn } from './gateway-client';
import { grpcFailure, waitAtMost } from './grpc-util';
import { ProgressCollector, teeProgress, type ProgressSink } from './progress';
import type { SessionLike, AttachedSession } from './session-tunnel';
import { defBytes, definitionCaps, definitionSourceDigests, definitionSourceMap, encodeSolveRequest, sortedMap, type DefinitionLike } from './solve-request';
import type { DaemonAddress } from './transport';

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
   * SessionLike is leased for the duration of this solve (attachSession(); an already attached
   * session stays attached); a string is the id of a session attached elsewhere.
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

/** Exporters each daemon kind has (dockerd 20.10: BuildKit v0.8 with moby's worker). */
export const EXPORTERS: Record<DaemonAddress['kind'], string[]> = {
  dockerd: ['moby', 'local', 'tar'],
  buildkitd: ['image', 'local', 'tar', 'oci', 'docker'],
};

/** Exporters that stream their output back through the session's FileSend. */
const SESSION_EXPORTERS = new Set(['local', 'tar', 'oci', 'docker']);

function checkExporter(client: BuildkitClient, opts: SolveOptions): void {
  const ex = opts.exporter;
  if (!ex) return;
  const have = client.exporters();
  if (!have.includes(ex.type)) {
    const alt = ex.type === 'image' && have.includes('moby') ? 'use the "moby" exporter (it tags into the docker image store)' : `available: ${have.join(', ')}`;
    throw new StapelkitError('EXPORTER_MISSING', `the ${client.daemonLabel} at ${client.address.text} has no "${ex.type}" exporter`, { hint: alt });
  }
  if (SESSION_EXPORTERS.has(ex.type) && !opts.session) {
    throw new StapelkitError('EXPORTER_NEEDS_SESSION', `the "${ex.type}" exporter sends its output through the session (FileSend): pass a session to solve()`);
  }
}

/** dockerd 20.10 exports cache only `inline` and imports `registry`/`local` (§5.2). */
function checkCache(client: BuildkitClient, opts: SolveOptions): void {
  if (client.daemonKind !== 'dockerd') return;
  for (const e of opts.cacheExports ?? []) {
    if (e.type !== 'inline') throw new StapelkitError('CACHE_UNSUPPORTED', `the BuildKit in dockerd at ${client.address.text} cannot export cache of type "${e.type}"`, { hint: 'only "inline" (cache metadata in the exported image)' });
  }
  for (const e of opts.cacheImports ?? []) {
    if (e.type !== 'registry' && e.type !== 'local') throw new StapelkitError('CACHE_UNSUPPORTED', `the BuildKit in dockerd at ${client.address.text} cannot import cache of type "${e.type}"`, { hint: 'use "registry" (also reads local images) or "local"' });
  }
}

/**
 * Runs one build. Progress goes to `progress` (and is always collected into the result); a
 * failure becomes a StapelkitError (BuildError for a failing step, with its command, exit
 * status and last log lines).
 */
export async function runSolve(client: BuildkitClient, opts: SolveOptions, progress?: ProgressSink): Promise<SolveResult> {
  if (opts.definition && opts.frontend) throw new StapelkitError('BAD_SOLVE', 'solve: give either a definition or a frontend, not both');
  if (opts.frontendInputs && !opts.frontend) throw new StapelkitError('BAD_SOLVE', 'solve: frontendInputs need a frontend');
  if ((opts.imageConfig !== undefined || opts.resultMetadata) && !opts.definition) throw new StapelkitError('BAD_SOLVE', 'solve: imageConfig/resultMetadata need a definition');
  checkExporter(client, opts);
  checkCache(client, opts);
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
  if (def && opts.checkCaps !== false) await client.requireCaps(definitionCaps(def));
  const ref = opts.ref ?? crypto.randomBytes(16).toString('hex');
  const collector = new ProgressCollector();
  if (def) for (const d of definitionSourceDigests(def)) collector.sourceDigests.add(d);
  const sink = teeProgress(collector, progress);

  let attachedHere: AttachedSession | undefined;
  let sessionId: string | undefined;
  if (typeof opts.session === 'string') sessionId = opts.session;
  else if (opts.session) {
    sessionId = opts.session.id;
    // A lease: the tunnel stays open while anyone else (the build's gateway) holds one too.
    attachedHere = await client.attachSession(opts.session);
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

  const status = client.openStatus(ref, sink);
  const call = client.startControlSolve(bytes);
  const outer = call.done;
  const onAbort = () => call.cancel();
  opts.signal?.addEventListener('abort', onAbort);
  try {
    if (viaGateway) {
      outer.catch(() => undefined);
      await gatewayReturn(client, ref, def!, metadata, outer);
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
