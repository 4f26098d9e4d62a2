/**
 * Stages in a registry (`--repo host[:port]/name`): what two daemons sharing only a registry use.
 *
 * - list(): the registry's tags list (one call; pages followed), parsed as `<digest>-<ms>`. Labels
 *   are not in the tags list: loadLabels() reads them from the stage's image config blob when the
 *   driver needs them (git-bearing stages), once per stage.
 * - store(): under the (repo, digest) lock, re-list; if the digest is there, return that stage
 *   (werf's discard rule); else build and push. dockerd: `moby` export to the local tag
 *   `<repo>:<digest>-<ms>`, then Docker API push (X-Registry-Auth from the Docker config); the
 *   registry has the tag only once the push's manifest PUT succeeded. buildkitd: the `image`
 *   exporter with `push=true` (`registry.insecure=true` for plain-http registries).
 * - sourceRef(): `<repo>:<digest>-<ms>`; dockerd resolves it locally when it stored it, else pulls.
 */
import { StapelkitError } from '../errors';
import type { OciImageConfig } from '../build/gateway';
import type { BuildkitClient, SessionLike } from '../buildkit/client';
import { exportImage } from '../buildkit/export';
import type { ProgressSink } from '../buildkit/progress';
import type { DockerApi } from '../daemon/docker-api';
import { parseImageReference } from '../llb/reference';
import { RegistryClient } from '../registry';
import { MediaType, type Descriptor, type ImageIndex } from '../registry/media-types';
import { digestOf } from '../registry/client';
import { parsePlatform } from '../llb/platform';
import { sha3_224Hash } from '../stages/hash';
import { lookupCredentials } from '../session/auth';
import { checkRepoName } from './daemon-store';
import { withStageLock } from './lock';
import { groupStages, newStageMs, parseStageTag, stageTag } from './tags';
import type { PlatformStage, PublishedList, StagesStorage, StoredStage, StoreRequest } from './types';

export interface RegistryStorageOptions {
  client: BuildkitClient;
  /** `127.0.0.1:5000/app`, `registry.example.com/team/app`. */
  repo: string;
  lockDir: string;
  /** dockerd's Docker API (pushes); required when the daemon is a dockerd. */
  docker?: DockerApi;
  session?: SessionLike;
  progress?: ProgressSink;
  /** Plain http (BuildKit's `registry.insecure`). Default: true for localhost / 127.0.0.0/8 / ::1. */
  insecure?: boolean;
  /** Docker CLI config to read credentials from (default `$DOCKER_CONFIG/config.json`). */
  dockerConfigPath?: string;
  /** A registry client to use (tests); default one for the repo's host. */
  registry?: RegistryClient;
  now?: () => number;
}

const LOCAL_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

export class RegistryStorage implements StagesStorage {
  readonly persistent = true;
  readonly repo: string;
  /** Registry host (`127.0.0.1:5000`). */
  readonly host: string;
  /** Repository path inside the registry (`app`). */
  readonly path: string;
  readonly insecure: boolean;
  private readonly registry: RegistryClient;
  private readonly labelCache = new Map<string, Promise<StoredStage>>();

  constructor(private readonly opts: RegistryStorageOptions) {
    checkRepoName(opts.repo, '--repo');
    const ref = parseImageReference(`${opts.repo}:x`);
    this.host = ref.domain;
    this.path = ref.path;
    this.repo = opts.repo;
    this.insecure = opts.insecure ?? LOCAL_HOST.test(this.host);
    this.registry = opts.registry ?? new RegistryClient(this.host, { insecure: this.insecure, dockerConfigPath: opts.dockerConfigPath });
    if (opts.client.daemonKind === 'dockerd' && !opts.docker) throw new StapelkitError('INTERNAL', 'RegistryStorage on dockerd needs its Docker API (pushes)');
  }

  private stageOf(tag: string): StoredStage | undefined {
    const p = parseStageTag(tag);
    return p ? { digest: p.digest, createdMs: p.createdMs, imageName: `${this.repo}:${tag}`, labels: {} } : undefined;
  }

  private async listAll(): Promise<StoredStage[]> {
    const tags = await this.registry.listTags(this.path);
    return tags.map((t) => this.stageOf(t)).filter((s): s is StoredStage => !!s);
  }

  async list(): Promise<Map<string, StoredStage[]>> {
    return groupStages(await this.listAll());
  }

  /** The stage with its labels (and manifest/config digests) from the registry; cached per stage. */
  loadLabels(stage: StoredStage): Promise<StoredStage> {
    let p = this.labelCache.get(stage.imageName);
    if (!p) {
      const tag = stage.imageName.slice(this.repo.length + 1);
      p = this.registry.getImageConfig(this.path, tag).then((r) => ({ ...stage, manifestDigest: r.manifestDigest, imageId: r.configDigest, labels: { ...(r.config.config?.Labels ?? {}) } }));
      p.catch(() => this.labelCache.delete(stage.imageName));
      this.labelCache.set(stage.imageName, p);
    }
    return p;
  }

  async store(req: StoreRequest): Promise<StoredStage> {
    return withStageLock(this.opts.lockDir, this.repo, req.digest, async () => {
      const existing = groupStages((await this.listAll()).filter((s) => s.digest === req.digest)).get(req.digest);
      const usable = existing?.filter((s) => !req.rejected?.includes(s.imageName));
      if (usable?.length) return usable[0];
      const createdMs = newStageMs((this.opts.now ?? Date.now)());
      const tag = stageTag(req.digest, createdMs);
      const imageName = `${this.repo}:${tag}`;
      const labels = { ...(req.imageConfig.config?.Labels ?? {}) };
      if (this.opts.client.daemonKind === 'dockerd') {
        const manifestDigest = await this.storeViaDocker(req, imageName, tag);
        return { digest: req.digest, createdMs, imageName, manifestDigest, labels };
      }
      const attrs: Record<string, string> = { name: imageName, push: 'true' };
      if (this.insecure) attrs['registry.insecure'] = 'true';
      const res = await this.export(req.definition, req.imageConfig, { type: 'image', attrs });
      return { digest: req.digest, createdMs, imageName, manifestDigest: res['containerimage.digest'], labels };
    });
  }

  /**
   * werf's multi-platform image: a list tagged `<repo>:<H3(stageID per platform…)>` (no timestamp;
   * stageID = `<digest>-<ms>` of each platform's last stage, in the platforms' order), whose entries
   * are the stages' own manifests. Docker schema 2 stages (a dockerd push) get a Docker manifest
   * list, OCI ones an OCI index; the bytes are a pure function of the entries, so a rebuild that
   * changes nothing finds the tag already at the same digest and writes nothing.
   */
  async publishManifestList(stages: PlatformStage[]): Promise<PublishedList> {
    if (stages.length < 2) throw new StapelkitError('INTERNAL', 'a manifest list needs at least two platforms');
    const tag = sha3_224Hash(...stages.map((s) => stageTag(s.stage.digest, s.stage.createdMs)));
    const entries: Descriptor[] = [];
    for (const s of stages) {
      const ref = stageTag(s.stage.digest, s.stage.createdMs);
      const head = await this.registry.headManifest(this.path, ref);
      if (!head) throw new StapelkitError('REGISTRY_ERROR', `${this.repo}:${ref} (${s.platform}) is not in the registry: cannot list it in a manifest list`);
      const p = parsePlatform(s.platform);
      entries.push({ mediaType: head.mediaType, digest: head.digest, size: head.size, platform: { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) } });
    }
    const oci = entries.every((e) => e.mediaType === MediaType.ociManifest);
    const index: ImageIndex = { schemaVersion: 2, mediaType: oci ? MediaType.ociIndex : MediaType.dockerManifestList, manifests: entries };
    const bytes = Buffer.from(JSON.stringify(index));
    const digest = digestOf(bytes);
    const existing = await this.registry.headManifest(this.path, tag);
    if (existing?.digest !== digest) await this.registry.putManifest(this.path, tag, bytes, index.mediaType);
    return { imageName: `${this.repo}:${tag}`, tag, digest };
  }

  /** The registry copy of a tag: the same manifest bytes PUT under the new tag (no blob moves). */
  async addTag(imageName: string, tag: string): Promise<string> {
    const from = imageName.slice(imageName.lastIndexOf(':') + 1);
    const m = await this.registry.getManifest(this.path, from);
    await this.registry.putManifest(this.path, tag, m.bytes, m.mediaType);
    return `${this.repo}:${tag}`;
  }

  private async export(definition: StoreRequest['definition'], imageConfig: OciImageConfig, exporter: { type: string; attrs: Record<string, string> }): Promise<Record<string, string>> {
    const res = await exportImage(this.opts.client, { session: this.opts.session, definition, imageConfig, exporter, progress: this.opts.progress });
    return res.exporterResponse;
  }

  private async storeViaDocker(req: StoreRequest, imageName: string, tag: string): Promise<string | undefined> {
    const docker = this.opts.docker!;
    await this.export(req.definition, req.imageConfig, { type: 'moby', attrs: { name: imageName } });
    try {
      const cred = await lookupCredentials(this.host, this.opts.dockerConfigPath);
      const auth = cred.Username || cred.Secret ? { username: cred.Username, password: cred.Secret, serveraddress: this.host } : {};
      const pushed = await docker.pushImage(this.repo, tag, auth);
      return pushed.digest;
    } catch (e) {
      // Not in the registry: do not leave a local tag that looks stored.
      await docker.untagImage(imageName).catch(() => undefined);
      throw new StapelkitError('STORAGE_PUSH', `cannot store stage ${tag} in ${this.repo}: ${(e as Error).message}`, { cause: e, hint: this.insecure ? undefined : 'is the registry reachable, and are you logged in (docker login)?' });
    }
  }

  sourceRef(stage: StoredStage): string {
    return stage.imageName;
  }
}
