/** DaemonImageStorage.list() takes a listing begun before the storage opened, only when it is this repo's. */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { DaemonImageStorage } from '../../../src/storage';
import type { ImageSummary } from '../../../src/daemon/docker-api';
import type { BuildkitClient } from '../../../src/buildkit/client';

const t = suite('storage/daemon prelisted');
const DIGEST = 'a'.repeat(56);

function image(repo: string, ms: number): ImageSummary {
  return { Id: `sha256:${ms}`, RepoTags: [`${repo}:${DIGEST}-${ms}`], Labels: { 'werf-stage-digest': DIGEST } } as unknown as ImageSummary;
}

function storage(repo: string, listed: ImageSummary[], prelisted?: { repo: string; address: string; images: Promise<ImageSummary[] | undefined> }) {
  const calls: string[] = [];
  const docker = { listImages: async (ref: string) => (calls.push(ref), listed) };
  const client = { daemonKind: 'dockerd', address: { text: 'docker://test' } } as unknown as BuildkitClient;
  const s = new DaemonImageStorage({ client, docker: docker as never, repo, lockDir: '/nonexistent', prelisted });
  return { s, calls };
}

t('the early listing of this repo is used, once; later lists ask the daemon', async () => {
  const { s, calls } = storage('proj', [image('proj', 2000)], { repo: 'proj', address: 'docker://test', images: Promise.resolve([image('proj', 1000)]) });
  assert.equal([...(await s.list()).get(DIGEST)!].map((x) => x.createdMs), [1000]);
  assert.equal(calls, []);
  assert.equal([...(await s.list()).get(DIGEST)!].map((x) => x.createdMs), [2000]);
  assert.equal(calls, ['proj']);
});

t('another repo (a wrong guess), another daemon, a failed or an empty early listing: the storage lists itself', async () => {
  for (const prelisted of [
    { repo: 'other', address: 'docker://test', images: Promise.resolve([image('other', 1000)]) },
    { repo: 'proj', address: 'docker://other', images: Promise.resolve([image('proj', 1000)]) },
    { repo: 'proj', address: 'docker://test', images: Promise.reject(new Error('daemon gone')) },
    { repo: 'proj', address: 'docker://test', images: Promise.resolve(undefined) },
  ]) {
    prelisted.images.catch(() => undefined);
    const { s, calls } = storage('proj', [image('proj', 2000)], prelisted);
    assert.equal([...(await s.list()).get(DIGEST)!].map((x) => x.createdMs), [2000]);
    assert.equal(calls, ['proj']);
  }
});

t.run();
