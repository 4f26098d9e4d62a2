/**
 * The build driver: walks every selected image's stage conveyor, reuses what the stages storage has
 * (werf's selection rules, select.ts), builds the rest on the daemon and stores each stage as soon as
 * it is complete. The same code runs under `stapelkit build` (Control-API gateway + a real stages
 * storage) and inside the frontend image (stdio gateway, no persistent storage: BuildKit's cache
 * does the reuse). Independent images run in parallel, bounded by `parallel`.
 *
 * The gateway is opened lazily: a no-op rebuild (every stage stored) needs no BuildKit call at all.
 */
import { StapelkitError } from '../errors';
import { image as imageSource, marshal, type Definition } from '../llb';
import { parsePlatform } from '../llb/platform';
import { imageLabel, type Image } from '../config';
import type { StagesStorage, StoredStage } from '../storage/types';
import type { ImageConveyor, PlannedStage, UsedStage } from './conveyor';
import type { Gateway, GatewayRef, OciImageConfig } from './gateway';
import { selectStoredStage, type GitSelectContext, type Selection } from './select';

export type StageHow = 'built' | 'storage' | 'cached' | 'missing';

export interface StageOutcome {
  image: string;
  platform: string;
  stage: string;
  digest: string;
  how: StageHow;
  ms: number;
  imageName: string;
  createdMs: number;
  /** Why the stage was built (set with `explain`). */
  explain?: string[];
  selection?: Selection['how'];
}

export interface ImageOutcome {
  image: Image;
  platform: string;
  stages: StageOutcome[];
  /** Every stage used, in order (imports of `stage: install` take theirs from here). */
  used: UsedStage[];
  last: UsedStage;
  ms: number;
}

export interface DriverHooks {
  /** The image's conveyor for one platform; `built` has every image this one depends on. */
  conveyor(image: Image, platform: string, built: ReadonlyMap<string, ImageOutcome>): Promise<ImageConveyor>;
  /** Git questions for the selection of git-bearing stages (absent: no git, e.g. in the frontend). */
  git?: Omit<GitSelectContext, 'paramshashes'>;
  /** One line per stage, like werf. */
  stageLine?(o: StageOutcome): void;
}

export interface DriverOptions {
  gateway: () => Promise<Gateway>;
  storage: StagesStorage;
  /** storage.list(), when the caller started it early (it overlaps the base-image checks). */
  stored?: Promise<Map<string, StoredStage[]>>;
  images: Image[];
  /** Platforms per image name. */
  platforms: (image: Image) => string[];
  /** Images built at the same time (>= 1). */
  parallel: number;
  hooks: DriverHooks;
  /** `Definition` for a stage's state (the caller adds caps, source maps and platform). */
  marshal?: (state: UsedStage['state'], platform: string) => Definition;
  signal?: AbortSignal;
  /** Say why each built stage was built (its inputs against the stored stage of the previous build). */
  explain?: boolean;
  /** `stapelkit stages`: compute digests and look them up, build nothing (a missing stage counts as built now). */
  dryRun?: boolean;
}

export interface DriverResult {
  images: ImageOutcome[];
}

function keyOf(name: string, platform: string): string {
  return `${name}\u0000${platform}`;
}

export async function runDriver(opts: DriverOptions): Promise<DriverResult> {
  if (opts.parallel < 1) throw new StapelkitError('BAD_FLAG', '--parallel-tasks-limit must be at least 1');
  const stored = await (opts.stored ?? opts.storage.list());
  const done = new Map<string, ImageOutcome>();
  const byName = new Map<string, ImageOutcome>();
  const pending = new Map<string, Promise<ImageOutcome>>();
  const marshalFor = opts.marshal ?? ((state, platform) => marshal(state, { platform: parsePlatform(platform) }));
  const limiter = new Limiter(opts.parallel);

  const buildOne = async (img: Image, platform: string): Promise<ImageOutcome> => {
    const started = Date.now();
    const conveyor = await opts.hooks.conveyor(img, platform, byName);
    const outcomes: StageOutcome[] = [];
    const usedStages: UsedStage[] = [];
    let prev: UsedStage | undefined;
    for (;;) {
      if (opts.signal?.aborted) throw new StapelkitError('CANCELLED', 'build cancelled');
      const planned = await conveyor.next(prev);
      if (!planned) break;
      const t0 = Date.now();
      let candidates = stored.get(planned.digest);
      // A registry's tag list has no labels: read them for this digest's candidates only.
      if (candidates?.length && opts.storage.loadLabels) candidates = await Promise.all(candidates.map((c) => opts.storage.loadLabels!(c)));
      // Nothing stored under this digest (every stage of a compile): nothing to select from.
      const sel = candidates?.length
        ? await selectStoredStage(candidates, {
            parentCreatedMs: prev?.createdMs,
            git: planned.gitParamshashes.length && opts.hooks.git ? { ...opts.hooks.git, paramshashes: planned.gitParamshashes } : undefined,
          })
        : undefined;
      let used: UsedStage;
      let how: StageHow;
      let explain: string[] | undefined;
      if (sel) {
        used = fromStored(planned, sel.stage, opts.storage);
        how = 'storage';
      } else {
        explain = opts.explain ? explainRebuild(planned, img.name, stored) : undefined;
        if (opts.dryRun) {
          const labels = { ...planned.labels, ...breakdownLabels(img.name, planned) };
          used = { name: planned.name, digest: planned.digest, labels, createdMs: Date.now(), imageName: '', state: undefined as never, imageConfig: {} };
          const o: StageOutcome = { image: img.name, platform, stage: planned.name, digest: planned.digest, how: 'missing', ms: 0, imageName: '', createdMs: used.createdMs, explain };
          outcomes.push(o);
          opts.hooks.stageLine?.(o);
          usedStages.push(used);
          prev = used;
          continue;
        }
        // Building: the gateway (and with it the daemon's caps) is needed from here on.
        await opts.gateway();
        if (prev && !prev.imageConfig) await ensureConfig(prev, opts.gateway);
        const built = await planned.build(prev);
        built.labels = { ...built.labels, ...breakdownLabels(img.name, planned) };
        const imageConfig = withLabels(built.imageConfig, built.labels);
        if (opts.storage.persistent) {
          const s = await opts.storage.store({ digest: planned.digest, definition: marshalFor(built.state, platform), imageConfig, rejected: candidates?.map((c) => c.imageName) });
          addStored(stored, s);
          used = fromStored(planned, s, opts.storage);
          // Chain the graph just built: the next stage needs no image resolution and shares its cache.
          used.state = built.state;
          used.imageConfig = imageConfig;
          how = s.createdMs < t0 ? 'storage' : 'built';
        } else {
          // No persistent storage: chain the graph; BuildKit's cache decides what really runs.
          used = { name: planned.name, digest: planned.digest, labels: built.labels, createdMs: Date.now(), imageName: '', state: built.state, imageConfig };
          how = 'built';
        }
      }
      const o: StageOutcome = { image: img.name, platform, stage: planned.name, digest: planned.digest, how, ms: Date.now() - t0, imageName: used.imageName, createdMs: used.createdMs, explain, selection: sel?.how };
      outcomes.push(o);
      opts.hooks.stageLine?.(o);
      usedStages.push(used);
      prev = used;
    }
    if (!prev) throw new StapelkitError('INTERNAL', `${imageLabel(img)} has no stages`);
    return { image: img, platform, stages: outcomes, used: usedStages, last: prev, ms: Date.now() - started };
  };

  const schedule = (img: Image, platform: string): Promise<ImageOutcome> => {
    const key = keyOf(img.name, platform);
    let p = pending.get(key);
    if (!p) {
      // Wait for the images this one needs (same platform), then take a slot.
      const deps = dependencyNames(img).filter((d) => opts.images.some((i) => i.name === d));
      p = (async () => {
        for (const d of deps) {
          const dep = opts.images.find((i) => i.name === d)!;
          await schedule(dep, platform);
        }
        const r = await limiter.run(() => buildOne(img, platform));
        done.set(key, r);
        byName.set(img.name, r);
        return r;
      })();
      pending.set(key, p);
    }
    return p;
  };

  const all: Promise<ImageOutcome>[] = [];
  for (const img of opts.images) for (const platform of opts.platforms(img)) all.push(schedule(img, platform));
  const settled = await Promise.allSettled(all);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return { images: settled.map((s) => (s as PromiseFulfilledResult<ImageOutcome>).value) };
}

/** Stapelkit's labels on every stage it builds: which image/stage it is and its digest inputs. */
export const LABEL_IMAGE = 'dev.stapelkit.image';
export const LABEL_STAGE = 'dev.stapelkit.stage';
export const LABEL_INPUTS = 'dev.stapelkit.inputs';

function breakdownLabels(image: string, planned: PlannedStage): Record<string, string> {
  return { [LABEL_IMAGE]: image, [LABEL_STAGE]: planned.name, [LABEL_INPUTS]: JSON.stringify(planned.inputs) };
}

/**
 * Why `planned` has no stored stage: compare its inputs with those of the newest stored stage of the
 * same image and stage name (the previous build's), input by input.
 */
export function explainRebuild(planned: PlannedStage, image: string, stored: ReadonlyMap<string, StoredStage[]>): string[] {
  let last: StoredStage | undefined;
  for (const list of stored.values()) {
    for (const s of list) {
      if (s.labels[LABEL_IMAGE] !== image || s.labels[LABEL_STAGE] !== planned.name) continue;
      if (!last || s.createdMs > last.createdMs) last = s;
    }
  }
  if (!last) return [`no stored ${planned.name} stage of this image: first build`];
  let before: { name: string; value: string }[];
  try {
    before = JSON.parse(last.labels[LABEL_INPUTS] ?? '[]');
  } catch {
    return [`the stored stage ${last.imageName} has no readable input breakdown`];
  }
  const old = new Map(before.map((i) => [i.name, i.value]));
  const cur = new Map(planned.inputs.map((i) => [i.name, i.value]));
  const out: string[] = [];
  for (const [k, v] of cur) {
    if (!old.has(k)) out.push(`${k}: new input (${short(v)})`);
    else if (old.get(k) !== v) out.push(`${k}: ${short(old.get(k)!)} → ${short(v)}`);
  }
  for (const k of old.keys()) if (!cur.has(k)) out.push(`${k}: input removed`);
  if (out.length === 0) out.push(`inputs unchanged since ${last.imageName}; the stored stage was not usable (its parent stage changed or a git ancestry check failed)`);
  return out;
}

function short(v: string): string {
  return v.length > 60 ? `${v.slice(0, 57)}…` : JSON.stringify(v);
}

function dependencyNames(img: Image): string[] {
  const out = new Set<string>();
  if (img.kind === 'stapel') {
    if (img.base.type === 'image') out.add(img.base.image);
    for (const i of img.imports) if (i.source.type !== 'external') out.add(i.source.image);
  }
  for (const d of img.dependencies) out.add(d.image);
  return [...out];
}

function fromStored(planned: PlannedStage, s: StoredStage, storage: StagesStorage): UsedStage {
  const used: UsedStage = {
    name: planned.name,
    digest: planned.digest,
    labels: s.labels,
    createdMs: s.createdMs,
    imageName: s.imageName,
    imageId: s.imageId,
    manifestDigest: s.manifestDigest,
    state: imageSource(storage.sourceRef(s)),
    // Filled by ensureConfig when a stage is built on top of this one.
    imageConfig: undefined as unknown as OciImageConfig,
  };
  return used;
}

/**
 * A stored stage's config is read only when something needs it — a stage built on top of it, an
 * image based on it, the frontend's result — so a no-op build reads none.
 */
export async function ensureConfig(u: UsedStage, gateway: () => Promise<Gateway>): Promise<void> {
  if (u.imageConfig) return;
  const gw = await gateway();
  const r = await gw.resolveImageConfig(u.imageName, { resolveMode: 'local' });
  u.imageConfig = r.config;
  u.state = u.state.withImageConfig(r.config as never);
}

function withLabels(cfg: OciImageConfig, labels: Record<string, string>): OciImageConfig {
  return { ...cfg, config: { ...(cfg.config ?? {}), Labels: { ...(cfg.config?.Labels ?? {}), ...labels } } };
}

function addStored(map: Map<string, StoredStage[]>, s: StoredStage): void {
  const list = map.get(s.digest) ?? [];
  if (!list.some((x) => x.imageName === s.imageName)) list.push(s);
  list.sort((a, b) => a.createdMs - b.createdMs);
  map.set(s.digest, list);
}

/** At most `n` tasks at once. */
class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];
  constructor(private readonly n: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((r) => this.queue.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }
}

export type { GatewayRef };
