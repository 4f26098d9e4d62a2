/**
 * Stages in dockerd's own image store (werf's `:local` storage), default repo `<project>`.
 *
 * - list(): one Docker API call, `GET /images/json?filters={"reference":["<repo>"]}` — every tag of
 *   the repo with its image's labels.
 * - store(): under the (repo, digest) lock, re-list that digest; if a stage exists (another build
 *   stored it meanwhile: werf's discard rule) return it; else one Control.Solve with the `moby`
 *   exporter `name=<repo>:<digest>-<ms>`. dockerd names the image only once the solve completed, so
 *   an interrupted build leaves no tag. Holding the lock during the solve means a concurrent
 *   build of the same digest waits and then reuses the stage instead of building it again.
 * - sourceRef(): the tag itself; the daemon resolves it from its store.
 */
import { StapelkitError } from '../errors';
import type { OciImageConfig } from '../build/gateway';
import type { BuildkitClient, SessionLike } from '../buildkit/client';
import { exportImage } from '../buildkit/export';
import type { ProgressSink } from '../buildkit/progress';
import type { DockerApi, ImageSummary } from '../daemon/docker-api';
import { parseImageReference } from '../llb/reference';
import { withStageLock } from './lock';
import { groupStages, newStageMs, parseStageTag, splitRepoTag, stageTag } from './tags';
import type { StagesStorage, StoredStage, StoreRequest } from './types';

export interface DaemonStorageOptions {
  /** The BuildKit client of the dockerd (stores are Control.Solves with the `moby` exporter). */
  client: BuildkitClient;
  /** The same dockerd's Docker API (listing). */
  docker: DockerApi;
  /** Image repository of the stages, e.g. the project name `stapelkit-example`. */
  repo: string;
  /** Where the per-(repo, digest) lock files live (e.g. `<state dir>/locks`). */
  lockDir: string;
  /** The build's session (local sources, secrets, ssh of the stage graphs). */
  session?: SessionLike;
  /** Status stream of each store's solve. */
  progress?: ProgressSink;
  /** Clock (tests). */
  now?: () => number;
  /** A listing of some repo started earlier (the build's start); list() takes it when it is this repo's. */
  prelisted?: PrelistedImages;
}

/** `listImages(repo)` begun before the storage was opened; undefined or failed: list() lists itself. */
export interface PrelistedImages {
  repo: string;
  /** The daemon address (its text) that was asked: another daemon's listing is not used. */
  address: string;
  images: Promise<ImageSummary[] | undefined>;
}

/** Checks a stages repo name (`name`, `host:port/path`): a valid reference without tag or digest. */
export function checkRepoName(repo: string, what = 'stages repo'): void {
  let ok = false;
  try {
    const r = parseImageReference(`${repo}:x`);
    ok = r.tag === 'x' && !r.digest;
  } catch {
    ok = false;
  }
  if (!ok || /[:@]/.test(repo.slice(repo.lastIndexOf('/') + 1))) {
    throw new StapelkitError('BAD_REPO', `invalid ${what} "${repo}": expected a repository name such as "app" or "127.0.0.1:5000/app" (no tag)`);
  }
}

function labelsOf(cfg: OciImageConfig): Record<string, string> {
  return { ...(cfg.config?.Labels ?? {}) };
}

export class DaemonImageStorage implements StagesStorage {
  readonly persistent = true;
  readonly repo: string;

  constructor(private readonly opts: DaemonStorageOptions) {
    this.opts = { ...opts };
    checkRepoName(opts.repo);
    if (opts.client.daemonKind !== 'dockerd') {
      throw new StapelkitError('STORAGE_UNSUPPORTED', `the daemon image store needs dockerd; ${opts.client.address.text} is a standalone buildkitd`, { hint: 'pass --repo <registry>/<name> to keep stages in a registry' });
    }
    this.repo = opts.repo;
  }

  private async listMatching(pattern: string, early?: Promise<ImageSummary[] | undefined>): Promise<StoredStage[]> {
    const out: StoredStage[] = [];
    const images = (await early?.catch(() => undefined)) ?? (await this.opts.docker.listImages(pattern));
    for (const img of images) {
      for (const rt of img.RepoTags ?? []) {
        const sp = splitRepoTag(rt);
        if (!sp || sp.repo !== this.repo) continue;
        const parsed = parseStageTag(sp.tag);
        if (!parsed) continue;
        out.push({ digest: parsed.digest, createdMs: parsed.createdMs, imageName: rt, imageId: img.Id, labels: { ...(img.Labels ?? {}) } });
      }
    }
    return out;
  }

  async list(): Promise<Map<string, StoredStage[]>> {
    const pre = this.opts.prelisted;
    this.opts.prelisted = undefined;
    return groupStages(await this.listMatching(this.repo, pre?.repo === this.repo && pre.address === this.opts.client.address.text ? pre.images : undefined));
  }

  async store(req: StoreRequest): Promise<StoredStage> {
    return withStageLock(this.opts.lockDir, this.repo, req.digest, async () => {
      const existing = groupStages(await this.listMatching(`${this.repo}:${req.digest}-*`)).get(req.digest);
      const usable = existing?.filter((s) => !req.rejected?.includes(s.imageName));
      if (usable?.length) return usable[0];
      const createdMs = newStageMs((this.opts.now ?? Date.now)());
      const imageName = `${this.repo}:${stageTag(req.digest, createdMs)}`;
      const res = await exportImage(this.opts.client, {
        session: this.opts.session,
        definition: req.definition,
        imageConfig: req.imageConfig,
        exporter: { type: 'moby', attrs: { name: imageName } },
        progress: this.opts.progress,
      });
      return { digest: req.digest, createdMs, imageName, imageId: res.exporterResponse['containerimage.digest'], labels: labelsOf(req.imageConfig) };
    });
  }

  sourceRef(stage: StoredStage): string {
    return stage.imageName;
  }

  async addTag(imageName: string, tag: string): Promise<string> {
    await this.opts.docker.tagImage(imageName, this.repo, tag);
    return `${this.repo}:${tag}`;
  }
}
