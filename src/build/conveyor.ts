/**
 * What the driver needs from an image's stage conveyor (src/stages builds it): the next non-empty
 * stage given the stage actually used before it. Incremental because werf's chain is: a stage's
 * digest includes the previous stage's digest and the git commits recorded in the SELECTED previous
 * stage (stored or just built), and patch stages are empty or not depending on that commit.
 */
import type { State } from '../llb';
import type { OciImageConfig } from './gateway';
import type { Pos } from '../config';

/** A stage the driver used: found in the stages storage, or built now. */
export interface UsedStage {
  name: string;
  digest: string;
  /** Labels of the stage image (stored ones: as stored; built ones: as written). */
  labels: Record<string, string>;
  /** unix ms of the stage image (the tag suffix); for a stage only in BuildKit's cache: when it was built. */
  createdMs: number;
  /** `<repo>:<digest>-<ms>`, or '' when there is no persistent storage. */
  imageName: string;
  /** Image (config) id and manifest digest, when the storage knows them. */
  imageId?: string;
  manifestDigest?: string;
  /** LLB of the stage's result: an image source of the stored stage, or the built graph. */
  state: State;
  imageConfig: OciImageConfig;
}

export interface PlannedStage {
  /** werf's stage name (`from`, `install`, `gitLatestPatch`, …). */
  name: string;
  digest: string;
  /** Named digest inputs for --explain / --log-debug and the stage's breakdown label. */
  inputs: { name: string; value: string }[];
  pos?: Pos;
  /**
   * Set for stages whose reuse depends on git ancestry (gitArchive, gitCache, gitLatestPatch, user
   * stages of images with git mappings): the paramshash of every mapping.
   */
  gitParamshashes: string[];
  /** The stage's graph and config on top of the previous used stage (undefined for `from`). */
  build(prev: UsedStage | undefined): Promise<BuiltStage> | BuiltStage;
  /** Whether the stage only changes the config (docker, imageSpec): no layer, no RUN. */
  configOnly: boolean;
  /** The labels the stage image gets (commits of its git mappings, mounts, imports, werf's labels). */
  labels: Record<string, string>;
}

export interface BuiltStage {
  state: State;
  imageConfig: OciImageConfig;
  labels: Record<string, string>;
}

export interface ImageConveyor {
  /** The next non-empty stage after `prev` (undefined: start), or undefined when the image is complete. */
  next(prev: UsedStage | undefined): Promise<PlannedStage | undefined>;
}
