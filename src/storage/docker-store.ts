/**
 * The stages storage in dockerd's own image store (werf's `:local` storage): every stage is the
 * image `<project>:<digest>-<unix-ms>`. One Docker API call lists them all (with their labels);
 * storing is a Control.Solve with the moby exporter, which tags only when the build completed, under
 * a per-digest lock file so concurrent `stapelkit build`s store each digest once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BuildkitClient, SessionLike } from '../buildkit/client';
import type { DockerApi } from '../buildkit/docker-api';
import { lockFile } from '../buildkit/dockerd';
import { exportImage } from '../buildkit/export';
import type { ProgressSink } from '../buildkit/progress';
import type { StagesStorage, StoredStage, StoreRequest } from './types';

const STAGE_TAG = /^([0-9a-f]{56})-(\d+)$/;

/** `<digest>-<ms>` → parts, or undefined for werf's other tags (and `-rejected` ones). */
export function parseStageTag(tag: string): { digest: string; createdMs: number } | undefined {
  const m = STAGE_TAG.exec(tag);
  return m ? { digest: m[1], createdMs: Number(m[2]) } : undefined;
}

export interface DockerStoreOptions {
  repo: string;
  docker: DockerApi;
  client: BuildkitClient;
  session: () => SessionLike;
  /** Where lock files live (one per digest). */
  lockDir: string;
  progress?: ProgressSink;
}

export class DockerImageStore implements StagesStorage {
  readonly persistent = true;
  readonly repo: string;

  constructor(private readonly o: DockerStoreOptions) {
    this.repo = o.repo;
    fs.mkdirSync(o.lockDir, { recursive: true });
  }

  async list(): Promise<Map<string, StoredStage[]>> {
    const filters = encodeURIComponent(JSON.stringify({ reference: [this.repo] }));
    const images = await this.o.docker.json<any[]>(`/images/json?filters=${filters}`);
    const out = new Map<string, StoredStage[]>();
    for (const img of images) {
      for (const rt of img.RepoTags ?? []) {
        const i = rt.lastIndexOf(':');
        if (rt.slice(0, i) !== this.repo) continue;
        const t = parseStageTag(rt.slice(i + 1));
        if (!t) continue;
        const s: StoredStage = { digest: t.digest, createdMs: t.createdMs, imageName: rt, imageId: img.Id, labels: img.Labels ?? {} };
        const list = out.get(t.digest) ?? [];
        list.push(s);
        out.set(t.digest, list);
      }
    }
    for (const l of out.values()) l.sort((a, b) => a.createdMs - b.createdMs);
    return out;
  }

  private async listDigest(digest: string): Promise<StoredStage[]> {
    return (await this.list()).get(digest) ?? [];
  }

  async store(req: StoreRequest): Promise<StoredStage> {
    const release = await lockFile(path.join(this.o.lockDir, `${this.repo.replace(/[^A-Za-z0-9_.-]/g, '_')}-${req.digest}.lock`), 30 * 60_000, 60 * 60_000);
    try {
      // werf's discard rule: whoever stored the digest first wins.
      const existing = await this.listDigest(req.digest);
      if (existing.length) return existing[0];
      const createdMs = Date.now();
      const imageName = `${this.repo}:${req.digest}-${createdMs}`;
      const res = await exportImage(this.o.client, {
        session: this.o.session(),
        definition: req.definition,
        imageConfig: req.imageConfig,
        exporter: { type: 'moby', attrs: { name: imageName } },
        progress: this.o.progress,
      });
      const labels = (req.imageConfig.config?.Labels ?? {}) as Record<string, string>;
      return { digest: req.digest, createdMs, imageName, imageId: res.exporterResponse['containerimage.config.digest'] ?? res.exporterResponse['containerimage.digest'], labels };
    } finally {
      release();
    }
  }

  sourceRef(stage: StoredStage): string {
    return stage.imageName;
  }
}

/** No persistent storage (a standalone buildkitd without --repo): BuildKit's cache alone. */
export class NoStagesStorage implements StagesStorage {
  readonly persistent = false;
  constructor(readonly repo = '(none)') {}
  async list(): Promise<Map<string, StoredStage[]>> {
    return new Map();
  }
  async store(): Promise<StoredStage> {
    throw new Error('NoStagesStorage.store: nothing is stored without a stages storage');
  }
  sourceRef(stage: StoredStage): string {
    return stage.imageName;
  }
}
