/**
 * The pure parts of Dockerfile images on the driver: dependency build args (ImageName, ImageRepo,
 * ImageTag, ImageID, ImageDigest), the context checksum of ADD/COPY sources with .dockerignore,
 * addHost / network / ssh parsing, .dockerignore candidates, and that the checksum feeds werf's
 * digest so that only files a COPY reads change it.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { contextChecksum, dependencyBuildArgs, dependencyValue, dockerfileSshAgents, dockerfileSshSpecs, dockerignoreCandidates, networkMode, parseAddHost, splitImageName, type ContextFile } from '../../../src/build/dockerfile-image';
import { dockerfileStageDigest, readDockerignore } from '../../../src/dockerfile';
import { PatternMatcher } from '../../../src/session/patterns';
import type { DockerfileImage, Image } from '../../../src/config';
import { StapelkitError } from '../../../src/errors';

const t = suite('build/dockerfile-image');
const pos = { file: 'werf.yaml', line: 3, column: 1 };

function dfImage(extra: Partial<DockerfileImage> = {}): DockerfileImage {
  return {
    kind: 'dockerfile',
    name: 'app',
    isArtifact: false,
    final: true,
    platform: [],
    secrets: [],
    dependencies: [],
    pos,
    dockerfile: 'Dockerfile',
    context: '',
    args: {},
    addHost: [],
    contextAddFiles: [],
    staged: false,
    ...extra,
  };
}

t('splitImageName: repo and tag at the last colon after the last slash', () => {
  assert.equal(splitImageName('proj:abc-123'), { repo: 'proj', tag: 'abc-123' });
  assert.equal(splitImageName('127.0.0.1:5000/proj:abc-1'), { repo: '127.0.0.1:5000/proj', tag: 'abc-1' });
  assert.equal(splitImageName('127.0.0.1:5000/proj'), { repo: '127.0.0.1:5000/proj', tag: '' });
  assert.equal(splitImageName(''), { repo: '', tag: '' });
});

t('dependency build args: every import type into its targetBuildArg', () => {
  const v = { imageName: 'reg:5000/p:d1-17', imageId: 'sha256:aa', imageDigest: 'sha256:bb' };
  const img = dfImage({
    dependencies: [
      {
        image: 'base',
        pos,
        imports: [
          { type: 'ImageName', targetBuildArg: 'N', pos },
          { type: 'ImageRepo', targetBuildArg: 'R', pos },
          { type: 'ImageTag', targetBuildArg: 'T', pos },
          { type: 'ImageID', targetBuildArg: 'I', pos },
          { type: 'ImageDigest', targetBuildArg: 'D', pos },
        ],
      },
    ],
  });
  const seen: string[] = [];
  assert.equal(dependencyBuildArgs(img, (n) => (seen.push(n), v)), { N: 'reg:5000/p:d1-17', R: 'reg:5000/p', T: 'd1-17', I: 'sha256:aa', D: 'sha256:bb' });
  assert.equal(seen, ['base']);
  assert.is(dependencyValue('ImageTag', { imageName: '', imageId: '', imageDigest: '' }), '');
});

const files: ContextFile[] = [
  { path: 'src/a.txt', mode: '100644', id: 'oid-a' },
  { path: 'src/sub/b.txt', mode: '100644', id: 'oid-b' },
  { path: 'src/ignored.txt', mode: '100644', id: 'oid-i' },
  { path: 'extra.txt', mode: '100755', id: 'oid-e' },
  { path: 'unrelated.txt', mode: '100644', id: 'oid-u' },
];
const edit = (p: string, id: string) => files.map((f) => (f.path === p ? { ...f, id } : f));

t('context checksum: a directory source covers files below it; other files do not count', () => {
  const c = contextChecksum(files, ['src/']);
  assert.is.not(contextChecksum(edit('src/sub/b.txt', 'x'), ['src/']), c, 'a file below the source');
  assert.is(contextChecksum(edit('unrelated.txt', 'x'), ['src/']), c, 'a file no source matches');
  assert.is(contextChecksum(files, ['./src']), c, 'the same source spelled differently');
  assert.is.not(contextChecksum(files, ['extra.txt']), c);
});

t('context checksum: globs, the whole context, modes, URLs and file order', () => {
  assert.is.not(contextChecksum(edit('src/a.txt', 'x'), ['src/*.txt']), contextChecksum(files, ['src/*.txt']));
  assert.is(contextChecksum(edit('extra.txt', 'x'), ['src/*.txt']), contextChecksum(files, ['src/*.txt']));
  assert.is.not(contextChecksum(edit('unrelated.txt', 'x'), ['.']), contextChecksum(files, ['.']), '`.` is the whole context');
  const chmod = files.map((f) => (f.path === 'extra.txt' ? { ...f, mode: '100644' } : f));
  assert.is.not(contextChecksum(chmod, ['extra.txt']), contextChecksum(files, ['extra.txt']), 'the mode counts');
  assert.is(contextChecksum(files, ['https://example.com/x.tar']), contextChecksum([], []), 'a URL reads no context file');
  assert.is(contextChecksum([...files].reverse(), ['src']), contextChecksum(files, ['src']));
});

t('context checksum: .dockerignore drops files, `!` brings them back', () => {
  const ignore = new PatternMatcher(readDockerignore('src/ignored.txt\n'));
  assert.is(contextChecksum(edit('src/ignored.txt', 'x'), ['src'], ignore), contextChecksum(files, ['src'], ignore));
  const back = new PatternMatcher(readDockerignore('src/*\n!src/ignored.txt\n'));
  assert.is.not(contextChecksum(edit('src/ignored.txt', 'x'), ['src'], back), contextChecksum(files, ['src'], back));
  assert.is(contextChecksum(edit('src/a.txt', 'x'), ['src'], back), contextChecksum(files, ['src'], back));
});

t("werf's digest with the context checksum: only files a COPY reads change it", async () => {
  const text = 'FROM busybox\nCOPY src/ /out/\nRUN echo hi\n';
  const digest = (fs: ContextFile[]) => dockerfileStageDigest(text, { platform: 'linux/amd64', checksum: (sources) => contextChecksum(fs, sources) });
  const d0 = await digest(files);
  assert.match(d0, /^[0-9a-f]{56}$/);
  assert.is(await digest(edit('unrelated.txt', 'x')), d0);
  assert.is.not(await digest(edit('src/a.txt', 'x')), d0);
});

t('addHost, network and .dockerignore candidates', () => {
  assert.equal(parseAddHost(dfImage({ addHost: ['db:10.0.0.2', 'v6:::1'] })), [{ host: 'db', ip: '10.0.0.2' }, { host: 'v6', ip: '::1' }]);
  assert.throws(() => parseAddHost(dfImage({ addHost: ['nocolon'] })), (e: unknown) => e instanceof StapelkitError && e.pos?.line === 3);
  assert.is(networkMode(dfImage({})), undefined);
  assert.is(networkMode(dfImage({ network: 'default' })), undefined);
  assert.is(networkMode(dfImage({ network: 'host' })), 'host');
  assert.is(networkMode(dfImage({ network: 'none' })), 'none');
  assert.throws(() => networkMode(dfImage({ network: 'container:x' })), /only default, host and none/);
  assert.equal(dockerignoreCandidates('docker/app.Dockerfile'), ['docker/app.Dockerfile.dockerignore', '.dockerignore']);
});

t('ssh of Dockerfile images: default agent from SSH_AUTH_SOCK, explicit sockets, positioned error without an agent', () => {
  const images: Image[] = [dfImage({ ssh: 'default' }), dfImage({ name: 'b', ssh: 'other=/tmp/agent.sock' }), dfImage({ name: 'c' })];
  assert.equal(dockerfileSshAgents(images, { SSH_AUTH_SOCK: '/run/a.sock' }), [
    { id: 'default', socket: '/run/a.sock' },
    { id: 'other', socket: '/tmp/agent.sock' },
  ]);
  assert.throws(() => dockerfileSshAgents([dfImage({ ssh: 'default' })], {}), (e: unknown) => e instanceof StapelkitError && e.pos?.line === 3);
  assert.throws(() => dockerfileSshAgents([dfImage({ ssh: 'default=' })], { SSH_AUTH_SOCK: '/run/a.sock' }), /ssh "default=": SSH_AUTH_SOCK is not set/);
  assert.equal(dockerfileSshSpecs(dfImage({ ssh: ' default , gh=/run/gh.sock,=/x' })), [
    { spec: 'default', id: 'default' },
    { spec: 'gh=/run/gh.sock', id: 'gh', socket: '/run/gh.sock' },
    { spec: '=/x', id: 'default', socket: '/x' },
  ]);
  assert.equal(dockerfileSshSpecs(dfImage({})), []);
});

t.run();
