/**
 * Stages storages (werf's stages storage) and how `stapelkit build` picks one:
 *   --repo given        → RegistryStorage (dockerd: moby export + docker push; buildkitd: image push)
 *   dockerd, no --repo  → DaemonImageStorage (repo = the project name)
 *   buildkitd, no --repo → NoStagesStorage (BuildKit's cache alone; say so)
 */
import * as path from 'node:path';
import type { BuildkitClient, SessionLike } from '../buildkit/client';
import type { ProgressSink } from '../buildkit/progress';
import { dockerApiFor, type DockerApi } from '../daemon/docker-api';
import { userStateDir } from '../daemon/dockerd';
import { DaemonImageStorage, type PrelistedImages } from './daemon-store';
import { NoStagesStorage } from './none';
import { RegistryStorage } from './registry-store';
import type { StagesStorage } from './types';

export { DaemonImageStorage, checkRepoName, type DaemonStorageOptions, type PrelistedImages } from './daemon-store';
export { RegistryStorage, type RegistryStorageOptions } from './registry-store';
export { NoStagesStorage } from './none';
export { withStageLock, stageLockPath } from './lock';
export { parseStageTag, stageTag, groupStages, splitRepoTag } from './tags';
export type { StagesStorage, StoredStage, StoreRequest } from './types';

export interface OpenStorageOptions {
  client: BuildkitClient;
  /** werf.yaml `project` (the default repo in dockerd's image store). */
  project: string;
  /** `--repo`. */
  repo?: string;
  session?: SessionLike;
  progress?: ProgressSink;
  /** Lock files (default `<user state dir>/locks`). */
  lockDir?: string;
  /** Plain-http registry (default: localhost / 127.0.0.0/8 only). */
  insecureRegistry?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The daemon store's listing of a repo, started before the project loaded (used when `repo` is this project's). */
  prelisted?: PrelistedImages;
}

/** dockerd's API for a client connected to a dockerd (unix socket or tcp), else undefined. */
export function dockerApiOf(client: BuildkitClient): DockerApi | undefined {
  return dockerApiFor(client.address);
}

export function openStagesStorage(opts: OpenStorageOptions): StagesStorage {
  const lockDir = opts.lockDir ?? path.join(userStateDir(opts.env), 'locks');
  const docker = dockerApiOf(opts.client);
  if (opts.repo) {
    return new RegistryStorage({ client: opts.client, repo: opts.repo, lockDir, docker, session: opts.session, progress: opts.progress, insecure: opts.insecureRegistry });
  }
  if (opts.client.daemonKind === 'dockerd' && docker) {
    return new DaemonImageStorage({ client: opts.client, docker, repo: opts.project, lockDir, session: opts.session, progress: opts.progress, prelisted: opts.prelisted });
  }
  return new NoStagesStorage();
}
