/** ensureLocalBases: which busybox fixture images a project needs made locally (never pulled). */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureLocalBases } from '../../../src/build/setup';
import type { Image } from '../../../src/config';
import type { DockerApi } from '../../../src/daemon/docker-api';

const t = suite('build/local-bases');
const pos = { file: 'werf.yaml', line: 1, column: 1 };

/** A Docker API that has every image: records which tags were asked for. */
function fakeDocker(asked: string[]): DockerApi {
  return { inspectImage: async (tag: string) => (asked.push(tag), { Id: 'sha256:x' }), loadImage: async () => assert.unreachable('nothing to load') } as unknown as DockerApi;
}

t('a Dockerfile image FROM a fixture (directly or through an ARG default) asks for it; Stapel from too', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sk-bases-'));
  fs.mkdirSync(path.join(dir, 'ctx'));
  fs.writeFileSync(path.join(dir, 'ctx', 'Dockerfile'), 'ARG BASE=stapelkit/busybox:arm64\nFROM ${BASE}\n');
  fs.writeFileSync(path.join(dir, 'Other.Dockerfile'), 'FROM alpine\n');
  const images = [
    { kind: 'dockerfile', name: 'df', dockerfile: 'Dockerfile', context: 'ctx', pos },
    { kind: 'dockerfile', name: 'other', dockerfile: 'Other.Dockerfile', context: '', pos },
    { kind: 'dockerfile', name: 'missing', dockerfile: 'Nope', context: '', pos },
    { kind: 'stapel', name: 's', base: { type: 'external', ref: 'stapelkit/busybox:amd64', pos }, imports: [], pos },
  ] as unknown as Image[];
  const asked: string[] = [];
  await ensureLocalBases(images, fakeDocker(asked), { HOME: dir }, dir);
  assert.equal(asked.sort(), ['stapelkit/busybox:amd64', 'stapelkit/busybox:arm64']);
  const none: string[] = [];
  await ensureLocalBases(images.slice(1, 3), fakeDocker(none), { HOME: dir }, dir);
  assert.equal(none, []);
  fs.rmSync(dir, { recursive: true, force: true });
});

t.run();
