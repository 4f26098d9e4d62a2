/**
 * Stapel images on the driver: gathers each image's facts (git, base, imports, dependencies) with
 * I/O, then hands them to the pure conveyor of src/stages stage by stage. Also the build-wide
 * context: HEAD, the session's sources and secrets, the commit env, the daemon caps.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { image as imageSource, local, marshal, type Definition, type State } from '../llb';
import { parsePlatform } from '../llb/platform';
import { imageLabel, type Image, type Model, type Pos, type StapelImage } from '../config';
import { SourceMap, type SourceLocation } from '../llb/sourcemap';
import type { LoadedProject } from '../project';
import type { Session, SyncedDir } from '../session';
import type { SecretsProvider } from '../session/secrets';
import type { CliGitRepo } from '../git/cli-repo';
import {
  COMMIT_ENV_SECRET_ID,
  STAGES,
  commitEnvFile,
  evaluateStage,
  gitMappings,
  goTimeString,
  patchBases,
  planStages,
  LABEL,
  sha256Hash,
  type BaseFacts,
  type EvaluatedStage,
  type GitMappingFacts,
  type ImageFacts,
  type ImportFacts,
  type CommitEnvDelivery,
  type LlbInputs,
  type PatchFacts,
  type PrevStage,
} from '../stages';
import { ensureConfig, type ImageOutcome } from './driver';
import type { ImageConveyor, UsedStage } from './conveyor';
import type { Gateway, OciImageConfig } from './gateway';
import { scanImport } from './imports';
import { MappingGit, importMatcher, type MappingFactsSource } from './mapping-git';
import { tzOffsetMinutes } from '../git/reader';
import { userStateDir } from '../daemon/dockerd';

export const TOOL_VERSION = 'stapelkit-0.1.0';

export interface StapelContextOptions {
  model: Model;
  project: LoadedProject;
  git: CliGitRepo;
  flags: { secret?: string[]; ssh?: string[] };
  env: NodeJS.ProcessEnv;
  dryRun: boolean;
  /** Git facts from elsewhere than `git` (the frontend's build context); default MappingGit over `git`. */
  mappingFacts?: MappingFactsSource;
  /** How WERF_COMMIT_* reach user commands; default the session secret. */
  commitEnv?: CommitEnvDelivery;
  /** image-resolve-mode of base and import images (default: `default`). */
  resolveMode?: 'default' | 'pull' | 'local';
  /** Fixed `local.unique` for local sources (default: random per marshal, as Go's client/llb). */
  localUniqueId?: string;
}

/** Where a secret's value comes from (werf.yaml `secrets:` or `--secret`). */
export type SecretSpec = { env?: string; src?: string; value?: string };

/** `--secret id=X,env=Y|src=Z` (docker buildx syntax). */
function parseSecretFlag(spec: string): { id: string; env?: string; src?: string } {
  const kv = Object.fromEntries(spec.split(',').map((p) => { const i = p.indexOf('='); return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]; }));
  const id = kv.id;
  if (!id || (!kv.env && !kv.src)) throw new StapelkitError('BAD_FLAG', `--secret ${spec}: expected id=ID,env=VAR or id=ID,src=FILE`);
  return { id, env: kv.env, src: kv.src };
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  return p === '~' || p.startsWith('~/') ? path.join(env.HOME ?? os.homedir(), p.slice(1)) : p;
}

export class StapelBuildContext {
  readonly model: Model;
  readonly project: LoadedProject;
  readonly git: CliGitRepo;
  private readonly env: NodeJS.ProcessEnv;
  private readonly flags: StapelContextOptions['flags'];
  private session?: Session;
  private caps?: Set<string>;
  private gatewayF?: () => Promise<Gateway>;
  /** Source name → how to make its directory (git content is written only when a stage needs it). */
  private readonly sources = new Map<string, () => Promise<SyncedDir>>();
  private readonly served = new Map<string, Promise<void>>();
  readonly mappingGit: MappingFactsSource;
  readonly commitEnv: CommitEnvDelivery;
  readonly resolveMode: 'default' | 'pull' | 'local';
  /** Sources that are LLB States (defineStateSource): nothing to serve. */
  private readonly stateSources = new Map<string, State>();
  private readonly specs = new Map<string, Promise<SyncedDir>>();
  private readonly localUniqueId?: string;
  private readonly sourceMaps = new Map<string, SourceMap>();
  private headP?: Promise<{ hash: string; authorTime: number; tzOffset: string }>;

  constructor(o: StapelContextOptions) {
    this.model = o.model;
    this.project = o.project;
    this.git = o.git;
    this.env = o.env;
    this.flags = o.flags;
    this.mappingGit = o.mappingFacts ?? new MappingGit(o.git, path.join(userCacheDir(o.env), 'git'));
    this.commitEnv = o.commitEnv ?? { mode: 'secret' };
    this.resolveMode = o.resolveMode ?? 'default';
    this.localUniqueId = o.localUniqueId;
  }

  head() {
    return (this.headP ??= this.git.resolve(this.model.commit.hash));
  }

  /** The session that serves sources from now on; sources served before (compile) are added to it. */
  attachSession(s: Session): void {
    this.session = s;
    for (const n of this.served.keys()) void this.sourceSpec(n).then((d) => s.addSyncedDir(n, d));
  }
  setCaps(c: Set<string>): void {
    this.caps = c;
  }
  setGateway(f: () => Promise<Gateway>): void {
    this.gatewayF = f;
  }
  gateway(): Promise<Gateway> {
    if (!this.gatewayF) throw new StapelkitError('INTERNAL', 'no gateway');
    return this.gatewayF();
  }

  /** werf.yaml secrets of every image, `--secret` flags, and the commit env file. Values are read when the daemon asks. */
  /** Where each secret comes from (werf.yaml of every image, then `--secret` flags). */
  secretSpecs(): Map<string, SecretSpec> {
    const byId = new Map<string, SecretSpec>();
    for (const img of this.model.images) {
      for (const s of img.secrets) {
        const v = s.type === 'env' ? { env: s.value } : s.type === 'src' ? { src: expandHome(s.value, this.env) } : { value: s.value };
        byId.set(s.id, v);
      }
    }
    for (const f of this.flags.secret ?? []) {
      const s = parseSecretFlag(f);
      byId.set(s.id, s.env ? { env: s.env } : { src: expandHome(s.src!, this.env) });
    }
    return byId;
  }

  /** werf.yaml secrets of every image, `--secret` flags, and the commit env file. Values are read when the daemon asks. */
  secrets(): SecretsProvider {
    const byId = this.secretSpecs();
    return {
      get: async (id: string) => {
        if (id === COMMIT_ENV_SECRET_ID) {
          const h = await this.head();
          return Buffer.from(commitEnvFile({ hash: h.hash, timeHuman: goTimeString(h.authorTime, tzOffsetMinutes(h.tzOffset)), timeUnix: String(h.authorTime) }));
        }
        const s = byId.get(id);
        if (!s) return undefined;
        if (s.env !== undefined) {
          const v = this.env[s.env];
          return v === undefined ? undefined : Buffer.from(v);
        }
        if (s.src !== undefined) return fs.promises.readFile(s.src).catch(() => undefined);
        return Buffer.from(s.value ?? '');
      },
    };
  }

  /** Checks before building that every secret the selected images use can be served (werf's messages). */
  checkSecrets(images: Image[]): void {
    for (const img of images) {
      for (const s of img.secrets) {
        if (s.type === 'env' && this.env[s.value] === undefined) throw new StapelkitError('SECRET_MISSING', `specified env variable \`${s.value}\` is not set`, { pos: s.pos });
        if (s.type === 'src' && !fs.existsSync(expandHome(s.value, this.env))) throw new StapelkitError('SECRET_MISSING', `secret file ${s.value} does not exist`, { pos: s.pos });
      }
    }
  }

  /** werf forwards the user's ssh agent when there is one; `--ssh default=/path` picks another socket. */
  sshAgents(): { id: string; socket: string }[] {
    const out: { id: string; socket: string }[] = [];
    for (const spec of this.flags.ssh ?? []) {
      const [id, sock] = spec.includes('=') ? spec.split('=', 2) : [spec, this.env.SSH_AUTH_SOCK ?? ''];
      if (!sock) throw new StapelkitError('BAD_FLAG', `--ssh ${spec}: SSH_AUTH_SOCK is not set`);
      out.push({ id: id || 'default', socket: sock });
    }
    if (out.length === 0 && this.env.SSH_AUTH_SOCK && fs.existsSync(this.env.SSH_AUTH_SOCK)) out.push({ id: 'default', socket: this.env.SSH_AUTH_SOCK });
    return out;
  }

  hasSsh(): boolean {
    return this.sshAgents().length > 0;
  }

  /**
   * Git questions of the stage selection, each asked once per build: every stage of every image asks
   * the same ones (a 10-image no-op rebuild asked ~100 times, one git process each).
   */
  selectionGit() {
    const memo = new Map<string, Promise<boolean>>();
    const once = (key: string, ask: () => Promise<boolean>) => {
      let p = memo.get(key);
      if (!p) memo.set(key, (p = ask()));
      return p;
    };
    const current = this.model.commit.hash;
    return {
      currentCommit: current,
      // A commit is its own ancestor, and the current commit exists.
      isAncestor: (a: string, b: string) => (a === b ? Promise.resolve(true) : once(`a ${a} ${b}`, () => this.git.isAncestor(a, b))),
      hasObject: (oid: string) => (oid === current ? Promise.resolve(true) : once(`o ${oid}`, () => this.git.hasCommit(oid))),
      // Asked after the conveyor computed the facts, so every remote mapping is resolved by then.
      forMapping: (ph: string) => {
        const r = this.mappingGit.foreign?.(ph);
        if (!r) return undefined;
        return {
          currentCommit: r.commit,
          isAncestor: (a: string, b: string) => (a === b ? Promise.resolve(true) : once(`a ${ph} ${a} ${b}`, () => r.repo.isAncestor(a, b))),
          hasObject: (oid: string) => (oid === r.commit ? Promise.resolve(true) : once(`o ${ph} ${oid}`, () => r.repo.hasCommit(oid))),
        };
      },
    };
  }

  marshal(state: State, platform: string): Definition {
    return marshal(state, { platform: parsePlatform(platform), caps: this.caps, localUniqueId: this.localUniqueId });
  }

  /** Registers a session source made on demand. */
  defineSource(name: string, make: () => Promise<SyncedDir>): string {
    if (!this.sources.has(name)) this.sources.set(name, make);
    return name;
  }

  defineStateSource(name: string, state: State): string {
    if (!this.stateSources.has(name)) this.stateSources.set(name, state);
    return name;
  }

  /** What a defined source serves (a dir, or a tree of git objects), made once. */
  sourceSpec(name: string): Promise<SyncedDir> {
    let p = this.specs.get(name);
    if (!p) {
      const make = this.sources.get(name);
      if (!make) throw new StapelkitError('INTERNAL', `unknown session source ${name}`);
      p = make();
      this.specs.set(name, p);
    }
    return p;
  }

  /** Serves the named sources (writing their content first) before a graph that reads them is solved. */
  async serveSources(names: string[]): Promise<void> {
    await Promise.all(
      names.filter((n) => !this.stateSources.has(n)).map((n) => {
        let p = this.served.get(n);
        if (!p) {
          // Without a session yet (compile before it needs a daemon) nothing is served: the sources are known.
          p = this.sourceSpec(n).then((d) => this.session?.addSyncedDir(n, d));
          this.served.set(n, p);
        }
        return p;
      }),
    );
  }

  /** LLB source location of a werf.yaml (or partial) position; the file's text goes into the Definition's source info. */
  location(pos: Pos): SourceLocation | undefined {
    if (!pos?.file || !pos.line) return undefined;
    let sm = this.sourceMaps.get(pos.file);
    if (!sm) {
      let data: Buffer | undefined;
      try {
        data = fs.readFileSync(path.resolve(this.project.projectDir, pos.file));
      } catch {
        data = undefined;
      }
      // The file's text goes to the daemon in the Definition: `value` secrets written in it must not.
      if (data) data = redactSecretValues(data, this.model);
      sm = new SourceMap(pos.file, data, undefined, 'yaml');
      this.sourceMaps.set(pos.file, sm);
    }
    return sm.at(pos.line, pos.column);
  }

  localSource(name: string): State {
    const st = this.stateSources.get(name);
    if (st) return st;
    return local(name, { sharedKeyHint: name, customName: `[internal] ${name}` });
  }

  private importMetaDir(): string {
    return path.join(userStateDir(this.env), 'import-metadata', this.model.project);
  }

  /** A cached import checksum (werf's import-metadata), or undefined. */
  importMetadata(sourceId: string): { checksum: string; paths: string[] } | undefined {
    try {
      const v = JSON.parse(fs.readFileSync(path.join(this.importMetaDir(), sourceId), 'utf8'));
      return typeof v.checksum === 'string' && Array.isArray(v.paths) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  saveImportMetadata(sourceId: string, v: { checksum: string; paths: string[] }): void {
    const dir = this.importMetaDir();
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${sourceId}.${process.pid}`);
    fs.writeFileSync(tmp, JSON.stringify(v));
    fs.renameSync(tmp, path.join(dir, sourceId));
  }

  close(): void {
    /* git content is served from git objects: nothing on disk to remove */
  }
}

/** `data` with every `value` secret of the model replaced by `*`s of the same byte length (positions stay). */
export function redactSecretValues(data: Buffer, model: Pick<Model, 'images'>): Buffer {
  const values = [...new Set(model.images.flatMap((i) => i.secrets.filter((s) => s.type === 'value' && s.value.length > 0).map((s) => s.value)))];
  if (values.length === 0) return data;
  const out = Buffer.from(data);
  for (const v of values) {
    const needle = Buffer.from(v);
    for (let i = out.indexOf(needle); i >= 0; i = out.indexOf(needle, i + needle.length)) out.fill(0x2a, i, i + needle.length);
  }
  return out;
}

function userCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CACHE_HOME ?? path.join(env.HOME ?? os.homedir(), '.cache'), 'stapelkit');
}

/** The conveyor of one Stapel image for one platform. */
export async function stapelConveyor(ctx: StapelBuildContext, img: Image, platform: string, built: ReadonlyMap<string, ImageOutcome>): Promise<ImageConveyor> {
  if (img.kind !== 'stapel') throw new StapelkitError('NOT_SUPPORTED', `${imageLabel(img)}: Dockerfile images are not built by stapelkit build yet`, { pos: img.pos });
  const image = img;
  const facts = await imageFacts(ctx, image, platform, built);
  const names = planStages(image, ctx.model);
  let i = 0;
  let prevRec: PrevStage | undefined;
  let last: EvaluatedStage | undefined;
  return {
    async next(prevUsed: UsedStage | undefined) {
      if (prevUsed && last) prevRec = last.chosen({ labels: prevUsed.labels, stageId: stageIdOf(prevUsed) });
      for (; i < names.length; i++) {
        const name = names[i];
        const bases = patchBases(image, facts, prevRec);
        // Most stages of most builds start no patch: no promise round per candidate stage then.
        const patches = bases.some((b) => b) ? await Promise.all(bases.map((b, k) => (b ? patchFacts(ctx, image, k, facts.git[k], b) : Promise.resolve(undefined)))) : bases.map(() => undefined);
        const ev = evaluateStage(name, { model: ctx.model, image, facts, prev: prevRec, patches });
        if (ev.empty) continue;
        i++;
        last = ev;
        const parentId = prevRec?.stageId;
        return {
          name,
          digest: ev.digest,
          inputs: ev.dependencies.parts.map((p) => ({ name: p.name, value: p.value.length > 200 ? `${p.value.length} bytes` : p.value })),
          pos: ev.pos,
          gitParamshashes: STAGES[name].gitBearing ? facts.git.map((g) => g.paramshash) : [],
          configOnly: ev.configOnly,
          // A copy on each read; the driver reads it only when it builds nothing (dry run).
          get labels() {
            return ev.labels(parentId);
          },
          build: async (prev: UsedStage | undefined) => {
            const used: string[] = [];
            const inputs = await llbInputs(ctx, image, platform, built, name === 'from', used);
            const prevState = prev?.state ?? inputs.base!;
            const prevConfig = prev?.imageConfig ?? inputs.baseConfig!;
            const state = ev.llb(prevState, prevConfig, inputs);
            // Only the sources this stage's graph reads get written and served.
            if (used.length) await ctx.serveSources(used);
            return { state, imageConfig: ev.imageConfig(prevConfig, parentId), labels: ev.labels(parentId) };
          },
        };
      }
      return undefined;
    },
  };
}

function stageIdOf(u: UsedStage): string {
  const tag = u.imageName.slice(u.imageName.lastIndexOf(':') + 1);
  return u.imageName ? tag : `${u.digest}-${u.createdMs}`;
}

async function imageFacts(ctx: StapelBuildContext, image: StapelImage, platform: string, built: ReadonlyMap<string, ImageOutcome>): Promise<ImageFacts> {
  const head = await ctx.head();
  let base: BaseFacts = {};
  let baseLabels: Record<string, string> | undefined;
  if (image.base.type === 'image') {
    const dep = built.get(image.base.image);
    if (!dep) throw new StapelkitError('INTERNAL', `${imageLabel(image)}: base image ${image.base.image} was not built first`);
    base = { contentDigest: dep.last.labels[LABEL.stageContentDigest] ?? '' };
    baseLabels = dep.last.labels;
  } else if (image.base.type === 'external' && image.fromLatest) {
    // werf hashes the registry's image id (config digest); the manifest digest changes exactly when it does.
    const r = await (await ctx.gateway()).resolveImageConfig(image.base.ref, { platform: parsePlatform(platform), resolveMode: 'pull' });
    base = { repoId: r.digest };
  }
  const git: GitMappingFacts[] = [];
  for (const m of gitMappings(image)) git.push(await ctx.mappingGit.facts(ctx, m, head.hash).catch((e) => { throw atMapping(e, image, m); }));
  const imports: ImportFacts[] = [];
  for (const imp of image.imports) imports.push(await importFacts(ctx, image, imp, platform, built));
  const dependencies = image.dependencies.map((d) => {
    const dep = built.get(d.image);
    if (!dep) throw new StapelkitError('INTERNAL', `${imageLabel(image)}: dependency ${d.image} was not built first`);
    return { imageName: dep.last.imageName, imageId: dep.last.imageId ?? '', imageDigest: dep.last.manifestDigest ?? '' };
  });
  return { platform, headCommit: head.hash, toolVersion: TOOL_VERSION, base, ...(baseLabels ? { baseLabels } : {}), git, imports, dependencies };
}

/** A mapping's error (clone, fetch, missing ref, bad add) positioned at its werf.yaml item and key. */
function atMapping(e: unknown, image: StapelImage, m: StapelImage['git'][number]): unknown {
  if (!(e instanceof StapelkitError) || e.pos?.keyPath) return e;
  const key = e.code === 'GIT_REMOTE' ? '.url' : e.code === 'GIT_REF_NOT_FOUND' || e.code === 'GIT_COMMIT_NOT_FOUND' ? (m.commit ? '.commit' : m.tag ? '.tag' : m.branch ? '.branch' : '.url') : '';
  const pos = { ...(e.pos ?? m.pos), keyPath: `${imageLabel(image)} → git[${image.git.indexOf(m)}]${key}` };
  return new StapelkitError(e.code, e.message, { pos, hint: e.hint, cause: e });
}

/** werf's import checksum of what an import brings (cached per source stage + filters in the state dir). */
async function importFacts(ctx: StapelBuildContext, image: StapelImage, imp: StapelImage['imports'][number], platform: string, built: ReadonlyMap<string, ImageOutcome>): Promise<ImportFacts> {
  if (imp.source.type === 'external') {
    // werf: the importSourceID of an external image is keyed by its reference.
    const sourceId = sha256Hash('SourceImageContentDigest', `external-image:${imp.source.ref}`, 'Add', imp.add, 'IncludePaths', imp.includePaths.join('///'), 'ExcludePaths', imp.excludePaths.join('///'));
    const cached = ctx.importMetadata(sourceId);
    if (cached) return { checksum: cached.checksum, paths: cached.paths };
    const gw = await ctx.gateway();
    const ref = await gw.solve(ctx.marshal(externalImport(imp.source.ref, platform, ctx.resolveMode), platform));
    const scan = await scanImport(gw, ref, imp.add, importMatcher(imp));
    ctx.saveImportMetadata(sourceId, { checksum: scan.checksum, paths: scan.paths });
    return { checksum: scan.checksum, paths: scan.paths };
  }
  const src = built.get(imp.source.image);
  if (!src) throw new StapelkitError('INTERNAL', `${imageLabel(image)}: import source ${imp.source.image} was not built first`);
  const used = imp.stage ? src.used.find((u) => u.name === imp.stage) ?? src.last : src.last;
  // werf keeps import checksums as `import-metadata-<importSourceID>`; we keep them in the state dir.
  const sourceId = sha256Hash('SourceImageContentDigest', used.labels[LABEL.stageContentDigest] ?? used.digest, 'Add', imp.add, 'IncludePaths', imp.includePaths.join('///'), 'ExcludePaths', imp.excludePaths.join('///'));
  const cached = ctx.importMetadata(sourceId);
  if (cached) return { checksum: cached.checksum, sourceStageId: used.imageName || undefined, paths: cached.paths };
  const gw = await ctx.gateway();
  await ensureConfig(used, () => ctx.gateway());
  const ref = await gw.solve(ctx.marshal(used.state, platform));
  const scan = await scanImport(gw, ref, imp.add, importMatcher(imp));
  if (scan.paths.length === 0) process.stderr.write(`warning: This import config does nothing: import[image=${imp.source.image} add=${imp.add} to=${imp.to}]\n`);
  ctx.saveImportMetadata(sourceId, { checksum: scan.checksum, paths: scan.paths });
  return { checksum: scan.checksum, sourceStageId: used.imageName || undefined, paths: scan.paths };
}

async function llbInputs(ctx: StapelBuildContext, image: StapelImage, platform: string, built: ReadonlyMap<string, ImageOutcome>, needBase: boolean, usedSources: string[]): Promise<LlbInputs & { baseConfig?: OciImageConfig }> {
  const gw = await ctx.gateway();
  let base: State | undefined;
  let baseConfig: OciImageConfig | undefined;
  if (needBase) {
    if (image.base.type === 'external') {
      const r = await gw.resolveImageConfig(image.base.ref, { platform: parsePlatform(platform), ...(ctx.resolveMode !== 'default' ? { resolveMode: ctx.resolveMode } : {}) });
      baseConfig = r.config;
      base = imageSource(image.base.ref, { platform: parsePlatform(platform), resolveMode: ctx.resolveMode, customName: `${imageLabel(image)}, stage from: ${image.base.ref}` }).withImageConfig(r.config as never);
    } else if (image.base.type === 'image') {
      const dep = built.get(image.base.image)!;
      await ensureConfig(dep.last, () => ctx.gateway());
      base = dep.last.state;
      baseConfig = dep.last.imageConfig;
    } else {
      baseConfig = { architecture: parsePlatform(platform).architecture, os: 'linux', config: {} };
    }
  }
  const importSources: State[] = [];
  // Parallel to image.imports.
  for (const imp of image.imports) {
    if (imp.source.type === 'external') {
      importSources.push(externalImport(imp.source.ref, platform, ctx.resolveMode));
      continue;
    }
    const src = built.get(imp.source.image)!;
    importSources.push((imp.stage ? src.used.find((u) => u.name === imp.stage) ?? src.last : src.last).state);
  }
  return {
    base,
    baseConfig,
    importSources,
    local: (name) => {
      usedSources.push(name);
      return ctx.localSource(name);
    },
    caps: (await gw.caps()).llb,
    location: (pos) => ctx.location(pos),
    commitEnv: ctx.commitEnv,
    ssh: ctx.hasSsh() ? {} : undefined,
    // werf: fromPath is a host path (`~` expanded), created when missing; writes stay in that dir, never in the image.
    mountSourceName: (fromPath) =>
      ctx.defineSource(`mount-${Buffer.from(fromPath).toString('hex').slice(0, 40)}`, async () => {
        const p = fromPath === '~' || fromPath.startsWith('~/') ? path.join(os.homedir(), fromPath.slice(1)) : path.resolve(ctx.project.projectDir, fromPath);
        fs.mkdirSync(p, { recursive: true });
        return { dir: p };
      }),
  };
}

function externalImport(ref: string, platform: string, resolveMode: 'default' | 'pull' | 'local'): State {
  return imageSource(ref, { platform: parsePlatform(platform), resolveMode, customName: `import from ${ref}` });
}

async function patchFacts(ctx: StapelBuildContext, image: StapelImage, index: number, g: GitMappingFacts, from: string): Promise<PatchFacts> {
  const m = gitMappings(image)[index];
  return ctx.mappingGit.patch(ctx, m, g, from);
}
