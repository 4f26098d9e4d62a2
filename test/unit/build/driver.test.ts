/**
 * The driver with fakes: a conveyor whose digests chain like werf's, a stages storage in memory and
 * a gateway that counts calls. Checks reuse from storage, the chain after a rebuilt stage, the lazy
 * gateway, --explain, dry runs, and dependency order with parallel images.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import * as crypto from 'node:crypto';
import { scratch, type Definition } from '../../../src/llb';
import { runDriver, explainRebuild, LABEL_IMAGE, LABEL_STAGE, LABEL_INPUTS, type StageOutcome } from '../../../src/build/driver';
import type { ImageConveyor, PlannedStage, UsedStage } from '../../../src/build/conveyor';
import type { Gateway } from '../../../src/build/gateway';
import type { StagesStorage, StoredStage, StoreRequest } from '../../../src/storage/types';
import type { Image } from '../../../src/config';

const t = suite('build/driver');

const h = (...s: string[]) => crypto.createHash('sha256').update(s.join(':::')).digest('hex').slice(0, 56);

function img(name: string, extra: Partial<Image> = {}): Image {
  return {
    kind: 'stapel',
    name,
    isArtifact: false,
    final: true,
    platform: [],
    secrets: [],
    dependencies: [],
    pos: { file: 'werf.yaml', line: 1, column: 1 },
    base: { type: 'external', ref: 'busybox', pos: { file: 'werf.yaml', line: 1, column: 1 } },
    fromLatest: false,
    disableGitAfterPatch: false,
    shell: { beforeInstall: [], install: [], beforeSetup: [], setup: [] },
    git: [],
    imports: [],
    mounts: [],
    ...extra,
  } as Image;
}

/** Stages with fixed inputs; each digest chains the previous used stage's digest. */
function conveyorOf(image: string, inputs: Record<string, string>, log: string[]): ImageConveyor {
  const names = Object.keys(inputs);
  return {
    async next(prev: UsedStage | undefined) {
      const i = prev ? names.indexOf(prev.name) + 1 : 0;
      if (i >= names.length) return undefined;
      const name = names[i];
      const planned: PlannedStage = {
        name,
        digest: h(name, inputs[name], prev?.digest ?? ''),
        inputs: [{ name: 'commands', value: inputs[name] }],
        gitParamshashes: [],
        configOnly: false,
        labels: { stage: name },
        build: (p) => {
          log.push(`${image}/${name}`);
          void p;
          return { state: scratch(), imageConfig: { config: { Env: [`S=${name}`] } }, labels: { stage: name } };
        },
      };
      return planned;
    },
  };
}

class MemStorage implements StagesStorage {
  readonly persistent = true;
  readonly repo = 'mem';
  stored = new Map<string, StoredStage[]>();
  stores = 0;
  async list() {
    return new Map([...this.stored].map(([k, v]) => [k, [...v]]));
  }
  async store(req: StoreRequest): Promise<StoredStage> {
    // The discard rule of the real storages: a stage of this digest that the build did not reject wins.
    const usable = (this.stored.get(req.digest) ?? []).filter((s) => !req.rejected?.includes(s.imageName));
    if (usable.length) return usable[0];
    this.stores++;
    const s: StoredStage = { digest: req.digest, createdMs: Date.now() + this.stores, imageName: `mem:${req.digest}-${this.stores}`, labels: (req.imageConfig.config?.Labels ?? {}) as Record<string, string> };
    this.stored.set(req.digest, [...(this.stored.get(req.digest) ?? []), s]);
    return s;
  }
  sourceRef(s: StoredStage) {
    return `docker.io/library/${s.imageName}`;
  }
}

function fakeGateway(counter: { opened: number; resolved: string[] }): () => Promise<Gateway> {
  return async () => {
    counter.opened++;
    return {
      caps: async () => ({ llb: new Set(), frontend: new Set(), platforms: [], daemon: 'unknown' }),
      resolveImageConfig: async (ref: string) => {
        counter.resolved.push(ref);
        return { ref, digest: 'sha256:0', config: { config: { Env: ['FROM_STORED=1'] } } };
      },
      solve: async () => ({ id: 'r' }),
      readFile: async () => Buffer.alloc(0),
      readDir: async () => [],
      stat: async () => ({ path: '', mode: 0, uid: 0, gid: 0, size: 0, modTime: 0 }),
      finish: async () => undefined,
    } as Gateway;
  };
}

const fakeMarshal = () => ({ toBytes: () => new Uint8Array() }) as unknown as Definition;

async function run(storage: MemStorage, stages: Record<string, Record<string, string>>, images: Image[], extra: { explain?: boolean; dryRun?: boolean; parallel?: number } = {}) {
  const built: string[] = [];
  const lines: StageOutcome[] = [];
  const gw = { opened: 0, resolved: [] as string[] };
  let gateway: Promise<Gateway> | undefined;
  const gwf = fakeGateway(gw);
  const res = await runDriver({
    gateway: () => (gateway ??= gwf()),
    storage,
    images,
    platforms: () => ['linux/amd64'],
    parallel: extra.parallel ?? 2,
    explain: extra.explain,
    dryRun: extra.dryRun,
    marshal: fakeMarshal,
    hooks: { conveyor: async (i) => conveyorOf(i.name, stages[i.name], built), stageLine: (o) => lines.push(o) },
  });
  return { res, built, lines, gw };
}

t('first build builds and stores every stage; a second build takes all from storage and opens no gateway', async () => {
  const storage = new MemStorage();
  const stages = { app: { from: 'busybox', install: 'make', setup: 'make install' } };
  const a = await run(storage, stages, [img('app')]);
  assert.equal(a.built, ['app/from', 'app/install', 'app/setup']);
  assert.equal(storage.stores, 3);
  const b = await run(storage, stages, [img('app')]);
  assert.equal(b.built, []);
  assert.equal(b.lines.map((l) => l.how), ['storage', 'storage', 'storage']);
  assert.is(b.gw.opened, 0, 'a no-op build needs no gateway');
  assert.equal(b.res.images[0].last.imageName, a.res.images[0].last.imageName);
});

t('a changed stage rebuilds it and everything after it, and reads the config of the stored stage below it once', async () => {
  const storage = new MemStorage();
  await run(storage, { app: { from: 'busybox', install: 'make', setup: 'make install' } }, [img('app')]);
  const b = await run(storage, { app: { from: 'busybox', install: 'make all', setup: 'make install' } }, [img('app')]);
  assert.equal(b.built, ['app/install', 'app/setup']);
  assert.equal(b.lines.map((l) => l.how), ['storage', 'built', 'built']);
  assert.is(b.gw.resolved.length, 1);
  assert.ok(b.gw.resolved[0].includes('mem:'), b.gw.resolved[0]);
});

t('a stored stage the selection rejects is rebuilt and stored beside it (not discarded as "stored meanwhile")', async () => {
  const storage = new MemStorage();
  const stages = { app: { from: 'busybox', install: 'make' } };
  await run(storage, stages, [img('app')]);
  // Drop the stored from stage: it is rebuilt newer than the stored install, which werf then rejects.
  const fromDigest = [...storage.stored].find(([, v]) => v[0].labels[LABEL_STAGE] === 'from')![0];
  storage.stored.delete(fromDigest);
  const b = await run(storage, stages, [img('app')]);
  assert.equal(b.built, ['app/from', 'app/install']);
  assert.equal(b.lines.map((l) => l.how), ['built', 'built']);
  const installs = [...storage.stored.values()].flat().filter((s) => s.labels[LABEL_STAGE] === 'install');
  assert.is(installs.length, 2, 'the new install stage is stored beside the rejected one');
  assert.is(b.res.images[0].last.imageName, installs[1].imageName);
});

t('built stages carry the input breakdown; --explain names the changed input', async () => {
  const storage = new MemStorage();
  await run(storage, { app: { from: 'busybox', install: 'make' } }, [img('app')]);
  const stored = [...storage.stored.values()].flat();
  const install = stored.find((s) => s.labels[LABEL_STAGE] === 'install')!;
  assert.is(install.labels[LABEL_IMAGE], 'app');
  assert.equal(JSON.parse(install.labels[LABEL_INPUTS]), [{ name: 'commands', value: 'make' }]);
  const b = await run(storage, { app: { from: 'busybox', install: 'make test' } }, [img('app')], { explain: true });
  const line = b.lines.find((l) => l.stage === 'install')!;
  assert.equal(line.explain, ['commands: "make" → "make test"']);
});

t('explainRebuild: first build and unchanged inputs', () => {
  const planned = { name: 'install', inputs: [{ name: 'x', value: '1' }] } as PlannedStage;
  assert.equal(explainRebuild(planned, 'app', new Map()), ['no stored install stage of this image: first build']);
  const s: StoredStage = { digest: 'd', createdMs: 1, imageName: 'r:d-1', labels: { [LABEL_IMAGE]: 'app', [LABEL_STAGE]: 'install', [LABEL_INPUTS]: '[{"name":"x","value":"1"}]' } };
  assert.match(explainRebuild(planned, 'app', new Map([['d', [s]]]))[0], /inputs unchanged since r:d-1/);
});

t('dry run lists digests without building or storing', async () => {
  const storage = new MemStorage();
  await run(storage, { app: { from: 'busybox' } }, [img('app')]);
  const d = await run(storage, { app: { from: 'busybox', install: 'make' } }, [img('app')], { dryRun: true });
  assert.equal(d.built, []);
  assert.equal(d.lines.map((l) => l.how), ['storage', 'missing']);
  assert.is(storage.stores, 1);
  assert.is(d.gw.opened, 0);
});

t('an image waits for the images it depends on; independent ones run side by side', async () => {
  const storage = new MemStorage();
  const order: string[] = [];
  const stages = { base: { from: 'b' }, app: { from: 'a' }, other: { from: 'o' } };
  const images = [img('base'), img('other'), img('app', { base: { type: 'image', image: 'base', directive: 'fromImage', pos: { file: 'werf.yaml', line: 1, column: 1 } } } as Partial<Image>)];
  const r = await run(storage, stages, images, { parallel: 3 });
  for (const o of r.res.images) order.push(o.image.name);
  assert.ok(r.built.indexOf('base/from') < r.built.indexOf('app/from'));
  assert.is(r.res.images.length, 3);
});

t('a failing stage fails the build and stores nothing for it', async () => {
  const storage = new MemStorage();
  let err: unknown;
  await runDriver({
      gateway: fakeGateway({ opened: 0, resolved: [] }),
      storage,
      images: [img('app')],
      platforms: () => ['linux/amd64'],
      parallel: 1,
      marshal: fakeMarshal,
      hooks: {
        conveyor: async () => ({
          next: async (prev) =>
            prev
              ? undefined
              : ({ name: 'from', digest: 'f'.repeat(56), inputs: [], gitParamshashes: [], configOnly: false, labels: {}, build: () => { throw new Error('boom'); } }) as PlannedStage,
        }),
      },
    }).catch((e) => (err = e));
  assert.match(String(err), /boom/);
  assert.is(storage.stores, 0);
});

t.run();
