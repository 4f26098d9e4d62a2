/**
 * The Dockerfile image conveyor over a real git repository (no daemon): one `dockerfile` stage whose
 * digest follows the files COPY reads in HEAD, an `imageSpec` stage chained on it, werf's labels,
 * dependency build args in the digest, and the positioned refusals (staged, missing Dockerfile,
 * context that is no directory, uncommitted COPY source).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dockerfileConveyor } from '../../../src/build/dockerfile-image';
import { StapelBuildContext } from '../../../src/build/stapel';
import type { ImageOutcome } from '../../../src/build/driver';
import type { UsedStage } from '../../../src/build/conveyor';
import { CliGitRepo } from '../../../src/git/cli-repo';
import { defaultGiterminism } from '../../../src/config/giterminism';
import type { DockerfileImage, ImageSpec } from '../../../src/config';
import { StapelkitError } from '../../../src/errors';

const t = suite('build/dockerfile conveyor');
const pos = { file: 'werf.yaml', line: 4, column: 1 };

function repo(files: Record<string, string>): { dir: string; write(f: Record<string, string>): void; commit(): string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-dfconv-'));
  const git = (...a: string[]) => {
    const r = spawnSync('git', a, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1', HOME: dir } });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  git('init', '-q', '-b', 'main');
  const r = {
    dir,
    write(f: Record<string, string>) {
      for (const [k, v] of Object.entries(f)) {
        fs.mkdirSync(path.dirname(path.join(dir, k)), { recursive: true });
        fs.writeFileSync(path.join(dir, k), v);
      }
    },
    commit() {
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', 'c');
      return git('rev-parse', 'HEAD');
    },
  };
  r.write(files);
  r.commit();
  return r;
}

function image(extra: Partial<DockerfileImage> = {}): DockerfileImage {
  return { kind: 'dockerfile', name: 'app', isArtifact: false, final: true, platform: [], secrets: [], dependencies: [], pos, dockerfile: 'Dockerfile', context: 'app', args: {}, addHost: [], contextAddFiles: [], staged: false, ...extra };
}

async function stages(dir: string, head: string, img: DockerfileImage, built: ReadonlyMap<string, ImageOutcome> = new Map()) {
  const git = new CliGitRepo(dir);
  const model = { project: 'p', commit: { hash: head, date: '' }, env: '', meta: { pos, build: { platform: [], staged: false } }, giterminism: { present: false, config: defaultGiterminism() }, images: [img], warnings: [] };
  const ctx = new StapelBuildContext({ model: model as never, project: { projectDir: dir, repoRoot: dir } as never, git, flags: {}, env: {}, dryRun: true });
  try {
    const conv = await dockerfileConveyor(ctx, img, 'linux/amd64', built, { dev: false });
    const out: { name: string; digest: string; labels: Record<string, string>; configOnly: boolean }[] = [];
    let prev: UsedStage | undefined;
    for (let s = await conv.next(undefined); s; s = await conv.next(prev)) {
      out.push({ name: s.name, digest: s.digest, labels: s.labels, configOnly: s.configOnly });
      prev = { name: s.name, digest: s.digest, labels: s.labels, createdMs: 1, imageName: `p:${s.digest}-1`, state: undefined as never, imageConfig: {} };
    }
    return out;
  } finally {
    ctx.close();
    git.close();
  }
}

const files = { 'app/Dockerfile': 'FROM busybox\nARG DEP\nCOPY src/ /out/\nRUN echo $DEP\n', 'app/src/a.txt': 'a\n', 'app/other.txt': 'o\n', 'outside.txt': 'x\n' };
const spec: ImageSpec = { clearHistory: false, pos, config: { env: { A: '1' }, expose: [], volumes: [], labels: {}, removeLabels: [], removeVolumes: [], removeEnv: [], keepEssentialWerfLabels: false, clearWerfLabels: false, clearCmd: false, clearEntrypoint: false, clearUser: false, clearWorkingDir: false } } as ImageSpec;

t('one dockerfile stage; its digest follows the COPYed files only; werf labels', async () => {
  const r = repo(files);
  const h0 = r.commit();
  const s0 = await stages(r.dir, h0, image());
  assert.equal(s0.map((s) => s.name), ['dockerfile']);
  assert.match(s0[0].digest, /^[0-9a-f]{56}$/);
  assert.is(s0[0].labels.werf, 'p');
  assert.match(s0[0].labels['werf-stage-content-digest'], /^[0-9a-f]{56}$/);
  r.write({ 'app/other.txt': 'o2\n', 'outside.txt': 'x2\n' });
  assert.is((await stages(r.dir, r.commit(), image()))[0].digest, s0[0].digest, 'files no COPY reads');
  r.write({ 'app/src/a.txt': 'a2\n' });
  assert.is.not((await stages(r.dir, r.commit(), image()))[0].digest, s0[0].digest, 'a COPYed file');
});

t('imageSpec: a config-only stage chained on the dockerfile stage', async () => {
  const r = repo(files);
  const s = await stages(r.dir, r.commit(), image({ imageSpec: spec }));
  assert.equal(s.map((x) => [x.name, x.configOnly]), [['dockerfile', false], ['imageSpec', true]]);
  assert.is(s[1].labels['werf.io/parent-stage-id'], `${s[0].digest}-1`);
  assert.is.not(s[1].labels['werf-stage-content-digest'], s[0].labels['werf-stage-content-digest']);
});

t('dependency build args are digest inputs', async () => {
  const r = repo(files);
  const head = r.commit();
  const img = image({ dependencies: [{ image: 'base', pos, imports: [{ type: 'ImageName', targetBuildArg: 'DEP', pos }] }] });
  const dep = (name: string) => new Map([['base', { last: { imageName: name, labels: {}, digest: 'd' } } as unknown as ImageOutcome]]);
  const a = await stages(r.dir, head, img, dep('p:aaa-1'));
  const b = await stages(r.dir, head, img, dep('p:bbb-2'));
  assert.is.not(a[0].digest, b[0].digest);
  assert.is((await stages(r.dir, head, img, dep('p:aaa-1')))[0].digest, a[0].digest);
});

t('refusals: staged, missing Dockerfile, context not a directory, uncommitted COPY source — positioned', async () => {
  const r = repo(files);
  const head = r.commit();
  const fails = async (img: DockerfileImage, re: RegExp, line = 4) => {
    try {
      await stages(r.dir, head, img);
    } catch (e) {
      assert.ok(e instanceof StapelkitError, String(e));
      assert.match((e as Error).message, re);
      assert.is((e as StapelkitError).pos?.line, line);
      return;
    }
    assert.unreachable(`no error for ${re}`);
  };
  await fails(image({ staged: true }), /staged/);
  await fails(image({ dockerfile: 'Nope' }), /the Dockerfile "app\/Nope" was not found/);
  await fails(image({ context: 'outside.txt' }), /context "outside\.txt" is not a directory/);
  r.write({ 'app/src/a.txt': 'dirty\n' });
  await fails(image(), /COPY src\/ \/out\/: the build context files "app\/src\/a\.txt" must be committed/, 3);
});

t.run();
