/**
 * The frontend's build: the shared build core (src/build: runDriver + stapelConveyor), run on the
 * LLBBridge gateway with no stages storage (BuildKit's cache does the reuse), then the selected
 * image's last stage solved to a ref for LLBBridge.Return.
 *
 * Git mappings take their facts and files from the build context (context-git.ts: no history,
 * content ids, stageDependencies over the files). WERF_COMMIT_* come as plain env from the
 * context's `.git` HEAD (frontendCommitEnv). Dockerfile images go through the core's Dockerfile
 * conveyor with their context read from the `context` local (context-dockerfile.ts) and the
 * `build-arg:*` options as their build args under werf.yaml's `args`. Refused up front with the
 * werf.yaml position: remote git mappings (no network), `fromPath` mounts and `contextAddFiles`
 * (host paths of the client), `value:` secrets, and git mappings or Dockerfile images without the
 * context local. Secrets and ssh agents are the client's session's (docker build --secret/--ssh).
 */
import type { Gateway, GatewayRef, GatewayResult, OciImageConfig } from '../build/gateway';
import { runDriver } from '../build/driver';
import { dockerfileConveyor, dockerfileSshSpecs } from '../build/dockerfile-image';
import { BuildError } from '../buildkit/build-error';
import { selectImages as withDependencies } from '../build/plan';
import { StapelBuildContext, stapelConveyor, type StapelContextOptions } from '../build/stapel';
import { imageLabel, type Image } from '../config/model';
import { StapelkitError } from '../errors';
import type { CliGitRepo } from '../git/cli-repo';
import { Definition, type State } from '../llb';
import { formatPlatform, normalizePlatform, parsePlatform, type Platform } from '../llb/platform';
import { NoStagesStorage } from '../storage/none';
import { goTimeString, type CommitEnvDelivery } from '../stages';
import { tzOffsetMinutes } from '../git/reader';
import { mappingAdd } from '../git/pathmatch';
import type { ContextProject } from './project';
import { ContextMappingFacts, contentNeeded, readContextSnapshot } from './context-git';
import { frontendDockerfileFacts } from './context-dockerfile';

/**
 * What the frontend's core build context knows: the commit (the context's `.git` HEAD, or none),
 * and whether user stages mount the client's default ssh agent (the `ssh` option).
 */
class FrontendStapelContext extends StapelBuildContext {
  constructor(
    project: ContextProject,
    private readonly commit: { hash: string; authorTime: number; tzOffset: string },
    extra: Pick<StapelContextOptions, 'mappingFacts' | 'commitEnv' | 'resolveMode'>,
    private readonly ssh = false,
  ) {
    // No git repository inside BuildKit: git facts come from `mappingFacts` (the build context).
    super({ model: project.model, project, git: undefined as unknown as CliGitRepo, flags: {}, env: {}, dryRun: false, ...extra });
  }

  override head() {
    return Promise.resolve(this.commit);
  }

  override hasSsh(): boolean {
    return this.ssh;
  }
}

/**
 * WERF_COMMIT_* as plain env with the context's `.git` HEAD (the docker CLI's session has no
 * secret of ours to carry them; the values enter BuildKit's cache key, so user stages run again on
 * a new commit). Without `.git` there is no commit to tell: unset, as nothing fake should look real
 * (and a content id there would re-run every user stage on any file change).
 */
export function frontendCommitEnv(project: Pick<ContextProject, 'fromDotGit' | 'commit'>): CommitEnvDelivery {
  if (!project.fromDotGit) return { mode: 'none' };
  const unix = Math.floor(project.commit.date.getTime() / 1000);
  return { mode: 'env', hash: project.commit.hash, timeHuman: goTimeString(unix, tzOffsetMinutes(project.commit.tzOffset ?? '+0000')), timeUnix: String(unix) };
}

/** Throws, positioned, for what the frontend cannot build (see the file comment). */
export function unsupportedInFrontend(images: Image[], opts: { contextState?: boolean } = { contextState: true }): void {
  for (const img of images) {
    // The client's session serves secrets (docker build --secret); the frontend has no session to
    // serve a literal of werf.yaml, and putting it in the LLB would show it in the graph.
    const literal = img.secrets.find((s) => s.type === 'value');
    if (literal) {
      throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: secret "${literal.id}": a \`value:\` secret cannot be served inside BuildKit (only the client's session serves secrets)`, {
        pos: literal.pos,
        hint: `declare it with \`src:\` (or \`env:\`) and give \`docker build --secret id=${literal.id},src=FILE\``,
      });
    }
    if (img.kind !== 'stapel') {
      if (!opts.contextState) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: Dockerfile images need the build context as a local source (the \`context\` frontend input is not supported for them)`, { pos: img.pos });
      if (img.contextAddFiles.length) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: contextAddFiles are work-tree files of the client; in the frontend the build context already is the work tree: drop them`, { pos: img.pos });
      continue;
    }
    const remote = img.git.find((m) => m.type === 'remote');
    if (remote) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: git mapping url ${remote.url}: remote repositories are not fetched by the frontend (build with \`stapelkit build\`)`, { pos: remote.pos });
    if (img.git.length && !opts.contextState) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: git mappings need the build context as a local source (the \`context\` frontend input is not supported for them)`, { pos: img.git[0].pos });
    const custom = img.mounts.find((m) => m.type === 'custom_dir');
    if (custom) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: mount fromPath ${custom.fromPath} is a host path of the client, which a frontend cannot reach`, { pos: custom.pos });
  }
}

/**
 * BuildKit's "secret X not found" / "no SSH key "X" forwarded from the client" for an id werf.yaml
 * declares, as an error at that declaration naming the docker build flag that serves it (the
 * client's session is the only one; nothing can check it before the mount asks).
 */
export function clientSessionError(e: unknown, images: Image[]): unknown {
  const msg = e instanceof BuildError ? e.grpcMessage : e instanceof Error ? e.message : String(e);
  const step = e instanceof BuildError && e.vertexName ? `, asked by ${e.vertexName}` : '';
  const secret = /\bsecret (\S+) not found/.exec(msg)?.[1];
  if (secret !== undefined) {
    for (const img of images) {
      const s = img.secrets.find((x) => x.id === secret);
      if (s) return new StapelkitError('SECRET_MISSING', `${imageLabel(img)}: secret "${s.id}" was not served by the client${step}`, { pos: s.pos, hint: `give \`docker build --secret id=${s.id},src=FILE\``, cause: e });
    }
  }
  const ssh = /no SSH key "([^"]*)" forwarded from the client/.exec(msg)?.[1];
  if (ssh !== undefined) {
    const id = ssh || 'default';
    for (const img of images) {
      const s = img.kind === 'dockerfile' ? dockerfileSshSpecs(img).find((x) => x.id === id) : undefined;
      if (s) return new StapelkitError('SSH_AGENT', `${imageLabel(img)}: ssh "${s.spec}": the client forwarded no agent "${id}"${step}`, { pos: img.pos, hint: `give \`docker build --ssh ${id}\` (or --ssh ${id}=<agent socket>)`, cause: e });
    }
    const stapel = id === 'default' ? images.find((img) => img.kind === 'stapel') : undefined;
    if (stapel) return new StapelkitError('SSH_AGENT', `${imageLabel(stapel)}: the \`ssh\` option mounts the client's ssh agent, but the client forwarded none${step}`, { pos: stapel.pos, hint: 'give `docker build --ssh default` (or drop the `ssh` option)', cause: e });
  }
  return e;
}

/** The Definition with every op marked ignore-cache (the `no-cache` option): BuildKit re-runs them all. */
export function ignoringCache(def: Definition): Definition {
  const md = new Map([...def.metadata].map(([d, m]) => [d, { ...m, ignoreCache: true }]));
  return new Definition(def.ops, md, def.head);
}

export interface FrontendBuildOptions {
  /** Target platforms; empty: the image's, then build.platform, then the daemon's first. */
  platforms: Platform[];
  /**
   * `no-cache`: true = nothing from the cache; a list of image names = when the target is among them.
   * Applied to the target's whole graph (the images it is built from included).
   */
  noCache?: true | string[];
  /** `label:NAME=VALUE` options: added to the result's image config. */
  labels?: Record<string, string>;
  /**
   * The solved build context and the LLB State it was solved from (absent: a `context` frontend
   * input); `local` makes that local source again with patterns (a Dockerfile image's excludes).
   */
  context?: { ref: GatewayRef; state?: State; local?: (o: { includePatterns?: string[]; excludePatterns: string[] }) => State };
  /** `build-arg:*` options: a Dockerfile image's build args (werf.yaml's `args` win), as `docker build --build-arg`. */
  buildArgs?: Record<string, string>;
  /** `image-resolve-mode` for base and import images. */
  resolveMode?: 'default' | 'pull' | 'local';
  /** The `ssh` option: Stapel user stages mount the client's default ssh agent. */
  ssh?: boolean;
  log(line: string): void;
}

/** Builds `target` (and the images it needs) through the core; the result for LLBBridge.Return. */
export async function buildTarget(gw: Gateway, project: ContextProject, target: Image, opts: FrontendBuildOptions): Promise<GatewayResult> {
  const model = project.model;
  const images = withDependencies(model, [target.name]);
  unsupportedInFrontend(images, { contextState: !!opts.context?.state });
  const caps = await gw.caps();
  const daemonDefault = formatPlatform(caps.platforms[0] ?? { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
  const platformsOf = (img: Image): string[] => {
    const pick = opts.platforms.length ? opts.platforms.map(formatPlatform) : img.platform.length ? img.platform : model.meta.build.platform.length ? model.meta.build.platform : [daemonDefault];
    return [...new Set(pick.map((p) => formatPlatform(normalizePlatform(parsePlatform(p)))))];
  };
  const commit = { hash: project.commit.hash, authorTime: Math.floor(project.commit.date.getTime() / 1000), tzOffset: project.commit.tzOffset ?? '+0000' };
  const mappings = images.flatMap((i) => (i.kind === 'stapel' ? i.git : []));
  const context = opts.context;
  const mappingFacts =
    mappings.length && context?.state
      ? new ContextMappingFacts(
          async () => {
            const t0 = Date.now();
            const snap = await readContextSnapshot(gw, context.ref, [...new Set(mappings.map((m) => mappingAdd(m.add)))], contentNeeded(mappings), project.fromDotGit ? { commit: commit.hash, authorTime: commit.authorTime, tzOffset: commit.tzOffset } : {});
            const all = await snap.repo.lsTree(snap.repo.commit);
            const read = (await snap.repo.readBlobs(all.map((e) => e.oid))).size;
            opts.log(`git mappings: ${all.length} context file(s) listed, ${read} distinct read, in ${Date.now() - t0} ms, commit ${snap.repo.commit}${project.fromDotGit ? ' (.git HEAD)' : ' (content id)'}`);
            return snap;
          },
          context.state,
          opts.log,
        )
      : undefined;
  const ctx = new FrontendStapelContext(project, commit, { mappingFacts, commitEnv: frontendCommitEnv(project), resolveMode: opts.resolveMode }, opts.ssh ?? false);
  ctx.setCaps(caps.llb);
  const noCache = opts.noCache === true || (Array.isArray(opts.noCache) && opts.noCache.includes(target.name));
  const marshalFor = (state: State, platform: string) => (noCache ? ignoringCache(ctx.marshal(state, platform)) : ctx.marshal(state, platform));
  ctx.setGateway(async () => gw);
  try {
    const result = await runDriver({
      gateway: async () => gw,
      storage: new NoStagesStorage(),
      images,
      platforms: platformsOf,
      parallel: 4,
      marshal: marshalFor,
      hooks: {
        conveyor: (img, platform, built) => {
          if (img.kind !== 'dockerfile') return stapelConveyor(ctx, img, platform, built);
          if (!context?.local) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: Dockerfile images need the build context as a local source`, { pos: img.pos });
          const local = context.local;
          const withArgs = { ...img, args: { ...(opts.buildArgs ?? {}), ...img.args } };
          return dockerfileConveyor(ctx, withArgs, platform, built, { dev: false, contextFacts: (i) => frontendDockerfileFacts(gw, context.ref, i, local) });
        },
        stageLine: (o) => opts.log(`stage ${o.image || '~'}/${o.stage} [${o.platform}] ${o.digest.slice(0, 12)} ${o.how} in ${o.ms} ms`),
      },
    });
    const outs = result.images.filter((o) => o.image.name === target.name);
    const solved: { platform: string; ref: GatewayRef; config: OciImageConfig }[] = [];
    const withLabels = (c: OciImageConfig): OciImageConfig => (opts.labels && Object.keys(opts.labels).length ? { ...c, config: { ...(c.config ?? {}), Labels: { ...(c.config?.Labels ?? {}), ...opts.labels } } } : c);
    for (const o of outs) solved.push({ platform: o.platform, ref: await gw.solve(marshalFor(o.last.state, o.platform)), config: withLabels(o.last.imageConfig) });
    if (solved.length === 1) return { refs: solved[0].ref, imageConfig: solved[0].config };
    return { refs: Object.fromEntries(solved.map((s) => [s.platform, s.ref])), imageConfig: Object.fromEntries(solved.map((s) => [s.platform, s.config])) };
  } catch (e) {
    throw clientSessionError(e, images);
  } finally {
    ctx.close();
  }
}
