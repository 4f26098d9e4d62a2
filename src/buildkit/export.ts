/**
 * Exporting one image from a Definition inside the build's session: the driver's and the stages
 * storage's way to tag (`moby` on dockerd) or push (`image` on buildkitd) a stage. Each export is
 * its own Control.Solve (BuildKit takes one exporter per solve); they may run concurrently, and
 * all share the session attached by the caller, so local sources in the graph carry no session id.
 * What the gateway already built is cached, so an export re-solves nothing.
 */
import type { OciImageConfig } from '../build/gateway';
import type { BuildkitClient, DefinitionLike, ExporterSpec, SessionLike, SolveResult } from './client';
import type { ProgressSink } from './progress';

export interface ExportRequest {
  /** The session of the build (attached already, or attached for just this export). */
  session?: SessionLike;
  definition: DefinitionLike;
  /** `containerimage.config` of the exported image. */
  imageConfig: OciImageConfig | string;
  /** `{type: 'moby', attrs: {name}}` on dockerd; `{type: 'image', attrs: {name, push: 'true'}}` on buildkitd. */
  exporter: ExporterSpec;
  /**
   * Status of this export's solve. Its done() is not called: an export is one part of a build,
   * so a printer shared by the whole build stays open. (The graph was built by the gateway
   * already, so this mostly repeats its vertices as cached; pass nothing to stay quiet.)
   */
  progress?: ProgressSink;
  signal?: AbortSignal;
}

export interface ExportResult {
  /** Exporter response: `containerimage.digest` (config digest on moby, manifest digest on `image`), `image.name`, … */
  exporterResponse: Record<string, string>;
  solve: SolveResult;
}

export async function exportImage(client: BuildkitClient, req: ExportRequest): Promise<ExportResult> {
  const solve = await client.solve(
    { definition: req.definition, imageConfig: req.imageConfig, exporter: req.exporter, session: req.session, signal: req.signal },
    req.progress ? { update: (u) => req.progress!.update(u) } : undefined,
  );
  return { exporterResponse: solve.exporterResponse, solve };
}
