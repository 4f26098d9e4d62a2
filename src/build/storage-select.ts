/** Which stages storage a build uses: `--repo` (registry), the daemon image store, or none. */
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import type { BuildkitClient, SessionLike } from '../buildkit/client';
import type { DockerApi } from '../buildkit/docker-api';
import { userStateDir } from '../buildkit/dockerd';
import type { ProgressSink } from '../buildkit/progress';
import { DockerImageStore, NoStagesStorage } from '../storage/docker-store';
import type { StagesStorage } from '../storage/types';

export interface StorageChoice {
  client: BuildkitClient;
  docker?: DockerApi;
  repo?: string;
  project: string;
  env: NodeJS.ProcessEnv;
  session: () => SessionLike;
  progress?: ProgressSink;
  say(line: string): void;
}

export async function openStagesStorage(c: StorageChoice): Promise<StagesStorage> {
  const lockDir = path.join(userStateDir(c.env), 'locks');
  if (c.repo) {
    throw new StapelkitError('NOT_SUPPORTED', `--repo ${c.repo}: registry stages storage is not available in this build yet`, { hint: 'omit --repo to store stages in the daemon image store' });
  }
  if (c.docker) return new DockerImageStore({ repo: c.project, docker: c.docker, client: c.client, session: c.session, lockDir, progress: c.progress });
  c.say(`stapelkit: ${c.client.address.text} has no image store and no --repo was given: stages are not stored, BuildKit's cache alone decides what is rebuilt`);
  return new NoStagesStorage();
}
