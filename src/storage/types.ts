/**
 * Stages storage: where built stages live between builds (werf's stages storage). A stage is an
 * image `<repo>:<digest>-<unix-ms>` with werf's labels. Implementations: the daemon's image store
 * (dockerd; default repo `<project>`), a registry (`--repo`), and "none" (standalone buildkitd
 * without `--repo`: BuildKit's cache alone).
 */
import type { Definition } from '../llb';
import type { OciImageConfig } from '../build/gateway';

export interface StoredStage {
  digest: string;
  /** Creation time in unix milliseconds (the tag suffix). */
  createdMs: number;
  /** `<repo>:<digest>-<createdMs>` */
  imageName: string;
  /** Image config digest (`sha256:…`) when known. */
  imageId?: string;
  /** Manifest digest when the storage is a registry. */
  manifestDigest?: string;
  labels: Record<string, string>;
}

export interface StoreRequest {
  digest: string;
  /** The stage's whole graph (from its base up). */
  definition: Definition;
  imageConfig: OciImageConfig;
  /**
   * Image names of this digest's stages the build saw and did not select (werf's rules rejected them,
   * e.g. their git commit is no ancestor of HEAD): they never count as "stored meanwhile", so the new
   * stage is stored beside them under a new timestamp, as werf does.
   */
  rejected?: readonly string[];
}

/** One platform's final stage of an image, for a manifest list. */
export interface PlatformStage {
  /** `linux/arm64`, normalized. */
  platform: string;
  stage: Pick<StoredStage, 'digest' | 'createdMs' | 'imageName'>;
}

/** A published manifest list: `<repo>:<tag>` and the list's own digest. */
export interface PublishedList {
  imageName: string;
  tag: string;
  digest: string;
}

export interface StagesStorage {
  /** Human name for stage lines: `stapelkit-example` (daemon store), `127.0.0.1:5000/app` (registry). */
  readonly repo: string;
  /** `false` for the "none" storage: nothing is ever stored or found. */
  readonly persistent: boolean;
  /** Every stored stage, in one listing (one round trip per repo), grouped by digest, oldest first. */
  list(): Promise<Map<string, StoredStage[]>>;
  /**
   * Builds `req.definition` and stores it under `<repo>:<digest>-<now>`; the tag appears only after
   * the stage is complete. If the digest got stored meanwhile by someone else (werf's discard rule;
   * `req.rejected` stages do not count),
   * returns that stage instead and stores nothing.
   */
  store(req: StoreRequest): Promise<StoredStage>;
  /** The reference an LLB `image` source uses to start from a stored stage. */
  sourceRef(stage: StoredStage): string;
  /**
   * The stage with its labels filled in, for storages whose listing has none (a registry's tags
   * list: labels live in the image config blob). Absent: list() already returned the labels.
   * Cached per stage.
   */
  loadLabels?(stage: StoredStage): Promise<StoredStage>;
  /**
   * A multi-platform image's manifest list over its platforms' final stages (registries only; werf
   * writes one only when the repo is a registry). Idempotent: the same stages give the same list.
   */
  publishManifestList?(stages: PlatformStage[]): Promise<PublishedList>;
  /**
   * Names `imageName` (a stage, or a published list, of this repo) `<repo>:<tag>` too (`--add-custom-tag`);
   * moves the tag if it exists. Returns the new name.
   */
  addTag?(imageName: string, tag: string): Promise<string>;
}
