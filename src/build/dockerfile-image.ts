/**
 * Dockerfile images of werf.yaml on the build driver (werf's non-staged mode): one stage
 * `dockerfile` whose digest is werf's (src/dockerfile digest: resolved instructions + checksums of
 * the context files ADD/COPY read + addHost + cacheVersion), built by our own Dockerfile compiler
 * over a context served by the session — the git HEAD content of `context` (the work tree with
 * `--dev`) plus `contextAddFiles`, with `.dockerignore` as the local source's excludes. An
 * `imageSpec` follows as a config-only `imageSpec` stage, as for Stapel images.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { local, type Platform, type State } from '../llb';
import { parsePlatform } from '../llb/platform';
import { imageLabel, type DependencyImportType, type DockerfileImage, type Image, type Model, type StapelImage } from '../config';
import { effectiveImageSpec } from '../config/imagespec';
import { compileParsed, dockerfileStageDependencies, dockerfileStageDigest, parseDockerfile, readDockerignore, type Dockerfile, type DockerfileDigestOptions, type ResolvedBase } from '../dockerfile';
import { newPathMatcher } from '../git/pathmatch';
import { gitRun } from '../git/proc';
import { FILE_STATE_ERROR } from '../config/file-state';
import { GITERMINISM_PARAGRAPH, pathAllowed } from '../config/giterminism';
import { normalizeGitPath } from '../git/reader';
import { PatternMatcher } from '../session/patterns';
import { LABEL, stageContentDigest, stageDigest, type StageName } from '../stages';
import { imageSpecStage } from '../stages/image-spec';
import { ensureConfig, type ImageOutcome } from './driver';
import type { ImageConveyor, PlannedStage, UsedStage } from './conveyor';
import type { OciImageConfig } from './gateway';
import { gitTreeSource } from '../git/content';
import type { ArchiveEntry } from '../git/mapping';
import type { TreeSource, TreeSourceEntry } from '../session/tree-source';
import { TOOL_VERSION, type StapelBuildContext } from './stapel';

/** One file of the build context: path relative to the context dir, git mode, content id (blob oid or sha256). */
export interface ContextFile {
  path: string;
  mode: string;
  id: string;
}

/** werf's dependency values of a built image (its last stage in the stages storage). */
export interface DependencyValues {
  imageName: string;
  imageId: string;
  imageDigest: string;
}

/** `repo:tag` → [repo, tag] at the last `:` after the last `/` (werf's ImageRepo/ImageTag). */
export function splitImageName(name: string): { repo: string; tag: string } {
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  return colon > slash ? { repo: name.slice(0, colon), tag: name.slice(colon + 1) } : { repo: name, tag: '' };
}

export function dependencyValue(type: DependencyImportType, v: DependencyValues): string {
  switch (type) {
    case 'ImageName':
      return v.imageName;
    case 'ImageRepo':
      return splitImageName(v.imageName).repo;
    case 'ImageTag':
      return splitImageName(v.imageName).tag;
    case 'ImageID':
      return v.imageId;
    case 'ImageDigest':
      return v.imageDigest;
  }
}

/** `dependencies[].imports[].targetBuildArg` → value, for a Dockerfile image. */
export function dependencyBuildArgs(img: Pick<DockerfileImage, 'dependencies'>, values: (image: string) => DependencyValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of img.dependencies) {
    const v = values(d.image);
    for (const imp of d.imports) if (imp.targetBuildArg !== undefined) out[imp.targetBuildArg] = dependencyValue(imp.type, v);
  }
  return out;
}

/** `addHost` entries (`host:ip`, as `docker build --add-host`) → extra hosts of every RUN. */
export function parseAddHost(img: Pick<DockerfileImage, 'addHost' | 'pos'>): { host: string; ip: string }[] {
  return img.addHost.map((h) => {
    const i = h.indexOf(':');
    if (i <= 0 || i === h.length - 1) throw new StapelkitError('BAD_CONFIG', `addHost "${h}": expected HOST:IP`, { pos: img.pos });
    return { host: h.slice(0, i), ip: h.slice(i + 1) };
  });
}

/** werf's `network` (docker build --network): default/bridge → sandbox; host; none. */
export function networkMode(img: Pick<DockerfileImage, 'network' | 'pos'>): 'sandbox' | 'host' | 'none' | undefined {
  const n = img.network;
  if (n === undefined || n === '' || n === 'default' || n === 'bridge') return undefined;
  if (n === 'host' || n === 'none') return n;
  throw new StapelkitError('NOT_SUPPORTED', `network "${n}": only default, host and none are supported`, { pos: img.pos });
}

/** `.dockerignore` candidates in werf's order: `<dockerfile>.dockerignore`, then `.dockerignore` (context-relative). */
export function dockerignoreCandidates(dockerfile: string): string[] {
  return [`${dockerfile}.dockerignore`, '.dockerignore'];
}

/** The cleaned, context-relative glob of an ADD/COPY source (`''` = the whole context); undefined for URLs. */
function sourceGlob(src: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(src)) return undefined;
  const n = path.posix.normalize('/' + src).replace(/^\/+/, '').replace(/\/+$/, '');
  return n === '.' ? '' : n;
}

/**
 * Checksum of the context files the sources of one ADD/COPY match, after `.dockerignore` (werf: a
 * git ls-tree checksum restricted to the sources): sha256 over the sorted `path mode id` lines.
 * A file no source matches never changes it.
 */
export function contextChecksum(files: readonly ContextFile[], sources: readonly string[], ignore?: PatternMatcher): string {
  const globs = sources.map(sourceGlob).filter((g): g is string => g !== undefined);
  const all = globs.includes('');
  const m = newPathMatcher({ includeGlobs: globs.filter((g) => g !== '') });
  const h = crypto.createHash('sha256');
  const picked = files.filter((f) => (all || (globs.length > 0 && m.isPathMatched(f.path))) && !(ignore && ignore.matches(f.path)));
  picked.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of picked) h.update(`${f.path}\0${f.mode}\0${f.id}\n`);
  return h.digest('hex');
}

/** contextChecksum of no files. */
const EMPTY_CHECKSUM = crypto.createHash('sha256').digest('hex');

/** werf's id of a stage image (the tag): the parent stage id recorded by the next stage. */
function stageIdOf(u: UsedStage): string {
  return u.imageName ? u.imageName.slice(u.imageName.lastIndexOf(':') + 1) : `${u.digest}-${u.createdMs}`;
}

function sha256(b: Buffer | string): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** What a Dockerfile image's build reads of its context; `stapelkit build` makes it from git (or the work tree), the frontend from its `context` local. */
export interface DockerfileContextFacts {
  files: ContextFile[];
  dockerfileText: string;
  dockerignore?: { file: string; text: string };
  /** The context as LLB, with the compiler's excludes (.dockerignore's) applied. */
  state(excludePatterns: string[]): State;
  /** Called before the graph is solved: start serving what `state` reads (a session source). */
  serve(): Promise<void>;
  /** Context-relative files whose work-tree state differs from HEAD (giterminism refuses a COPY of them). */
  uncommitted?: Map<string, 'modified' | 'untracked'>;
}

export interface DockerfileConveyorOptions {
  /** `--dev`: the context comes from the work tree. */
  dev: boolean;
  /** `--loose-giterminism`: uncommitted Dockerfile, .dockerignore and context files are read from disk / not refused. */
  loose?: boolean;
  /** Where the context comes from instead of the project's git (the frontend's build context). */
  contextFacts?: (img: DockerfileImage) => Promise<DockerfileContextFacts>;
}

/** Paths (repo-relative) under `dir` that differ from HEAD in the work tree: modified, deleted, untracked (not ignored). */
async function uncommittedPaths(repoRoot: string, dir: string): Promise<Map<string, 'modified' | 'untracked'>> {
  const r = await gitRun(repoRoot, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--', dir || '.']);
  if (r.code !== 0) throw new StapelkitError('GIT_FAILED', `git status: ${r.stderr.trim().split('\n')[0]}`);
  const out = new Map<string, 'modified' | 'untracked'>();
  for (const rec of r.stdout.toString('utf8').split('\0')) {
    if (rec.length < 4) continue;
    out.set(rec.slice(3), rec.startsWith('??') ? 'untracked' : 'modified');
  }
  return out;
}

/** Walks a work-tree directory (without `.git`): files with git-like modes and content hashes. */
function walkDisk(root: string): ContextFile[] {
  const out: ContextFile[] = [];
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.name === '.git') continue;
      const abs = path.join(root, r);
      if (d.isDirectory()) walk(r);
      else if (d.isSymbolicLink()) out.push({ path: r, mode: '120000', id: sha256(fs.readlinkSync(abs)) });
      else if (d.isFile()) out.push({ path: r, mode: fs.statSync(abs).mode & 0o111 ? '100755' : '100644', id: sha256(fs.readFileSync(abs)) });
    }
  };
  walk('');
  return out;
}

/** The work-tree files of `contextAddFiles` (a file or a directory each), context-relative. */
function contextAddFiles(img: DockerfileImage, contextAbs: string): ContextFile[] {
  const out: ContextFile[] = [];
  for (const f of img.contextAddFiles) {
    const abs = path.join(contextAbs, f);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(abs);
    } catch {
      throw new StapelkitError('CONTEXT_ADD_FILE', `contextAddFile "${f}" was not found (the path must be relative to the context "${img.context || '.'}")`, { pos: img.pos });
    }
    if (st.isDirectory()) out.push(...walkDisk(abs).map((e) => ({ ...e, path: `${normalizeGitPath(f)}/${e.path}` })));
    else if (st.isSymbolicLink()) out.push({ path: normalizeGitPath(f), mode: '120000', id: sha256(fs.readlinkSync(abs)) });
    else out.push({ path: normalizeGitPath(f), mode: st.mode & 0o111 ? '100755' : '100644', id: sha256(fs.readFileSync(abs)) });
  }
  return out;
}

function mergeFiles(base: ContextFile[], extra: ContextFile[]): ContextFile[] {
  if (extra.length === 0) return base;
  const m = new Map(base.map((f) => [f.path, f]));
  for (const f of extra) m.set(f.path, f);
  return [...m.values()];
}

/** Context files, Dockerfile and .dockerignore of an image, from git HEAD (or the work tree with --dev). */
async function contextFacts(ctx: StapelBuildContext, img: DockerfileImage, o: DockerfileConveyorOptions): Promise<DockerfileContextFacts> {
  const project = ctx.project;
  const contextAbs = path.join(project.projectDir, img.context);
  const prefix = normalizeGitPath(path.relative(project.repoRoot, project.projectDir));
  const ctxRepo = normalizeGitPath([prefix, img.context].filter(Boolean).join('/'));
  const ctxLabel = img.context || '.';
  const dockerfilePath = [img.context, img.dockerfile].filter(Boolean).join('/');
  const added = contextAddFiles(img, contextAbs);

  if (o.dev) {
    if (!fs.existsSync(contextAbs) || !fs.statSync(contextAbs).isDirectory()) {
      throw new StapelkitError('DOCKERFILE_CONTEXT', `${imageLabel(img)}: context "${ctxLabel}" is not a directory of the project`, { pos: img.pos });
    }
    const read = (rel: string) => {
      try {
        return fs.readFileSync(path.join(contextAbs, rel), 'utf8');
      } catch {
        return undefined;
      }
    };
    const text = read(img.dockerfile);
    if (text === undefined) throw new StapelkitError('DOCKERFILE_MISSING', `${imageLabel(img)}: the Dockerfile "${dockerfilePath}" was not found in the work tree`, { pos: img.pos });
    const di = dockerignoreCandidates(img.dockerfile).map((f) => ({ file: f, text: read(f) })).find((c) => c.text !== undefined);
    const source = ctx.defineSource(`dockerfile-context-${sha256(contextAbs).slice(0, 16)}`, async () => ({ dir: contextAbs }));
    const extra = fs.existsSync(path.join(contextAbs, '.git')) ? ['.git'] : [];
    return { files: walkDisk(contextAbs), dockerfileText: text, dockerignore: di && { file: [img.context, di.file].filter(Boolean).join('/'), text: di.text! }, ...sessionContext(ctx, img, source, extra), uncommitted: new Map() };
  }

  const head = (await ctx.head()).hash;
  const tree = ctxRepo === '' ? { type: 'tree' } : await ctx.git.entry(head, ctxRepo);
  if (!tree || tree.type !== 'tree') {
    throw new StapelkitError('DOCKERFILE_CONTEXT', `${imageLabel(img)}: context "${ctxLabel}" is not a directory in the project git repository at ${head.slice(0, 12)}`, { pos: img.pos, hint: 'the context is read from the HEAD commit: commit it (or build with --dev)' });
  }
  const strip = ctxRepo === '' ? 0 : ctxRepo.length + 1;
  const entries = (await ctx.git.lsTree(head, { dir: ctxRepo, sizes: true })).filter((e) => e.type === 'blob').map((e) => ({ path: e.path.slice(strip), mode: e.mode, oid: e.oid, size: e.size ?? 0 }));
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const uncommitted = new Map<string, 'modified' | 'untracked'>();
  if (!o.loose) for (const [p, st] of await uncommittedPaths(project.repoRoot, ctxRepo)) uncommitted.set(p.slice(strip), st);
  for (const f of added) uncommitted.delete(f.path);
  const g = ctx.model.giterminism.config.config.dockerfile;
  const projectRel = (rel: string) => [img.context, rel].filter(Boolean).join('/');
  // werf: the Dockerfile and .dockerignore come from HEAD; an uncommitted one is refused unless giterminism allows reading it from disk.
  const blob = async (rel: string, allow: string[]) => {
    const st = uncommitted.get(rel);
    if (st !== undefined) {
      if (o.loose || pathAllowed(projectRel(rel), allow)) {
        try {
          return fs.readFileSync(path.join(contextAbs, rel), 'utf8');
        } catch {
          return undefined;
        }
      }
      throw new StapelkitError(FILE_STATE_ERROR, `${imageLabel(img)}: ${st === 'untracked' ? 'the untracked file' : 'the file'} "${projectRel(rel)}" must be committed`, { pos: img.pos, hint: GITERMINISM_PARAGRAPH });
    }
    const e = byPath.get(rel);
    return e ? (await ctx.git.readBlob(e.oid))?.toString('utf8') : undefined;
  };
  const text = await blob(img.dockerfile, g.allowUncommitted);
  if (text === undefined) {
    const onDisk = fs.existsSync(path.join(contextAbs, img.dockerfile));
    throw new StapelkitError('DOCKERFILE_MISSING', `${imageLabel(img)}: the Dockerfile "${dockerfilePath}" was not found in the project git repository at ${head.slice(0, 12)}`, {
      pos: img.pos,
      hint: onDisk ? 'the file exists in the work tree: commit it (or build with --dev)' : 'check `dockerfile:` (relative to `context:`)',
    });
  }
  let dockerignore: DockerfileContextFacts['dockerignore'];
  for (const f of dockerignoreCandidates(img.dockerfile)) {
    const t = await blob(f, g.allowUncommittedDockerignoreFiles);
    if (t !== undefined) {
      dockerignore = { file: [img.context, f].filter(Boolean).join('/'), text: t };
      break;
    }
  }
  const files = mergeFiles(
    entries.map((e) => ({ path: e.path, mode: e.mode, id: e.oid })),
    added,
  );
  const key = sha256(JSON.stringify([head, ctxRepo, added])).slice(0, 16);
  const source = ctx.defineSource(`dockerfile-context-${key}`, async () => {
    // Served from git objects (a tree source); symlink targets are their blobs.
    const links = entries.filter((e) => e.mode === '120000');
    const targets = links.length ? await ctx.git.readBlobs(links.map((e) => e.oid)) : new Map<string, Buffer>();
    const repoDir = ctx.project.repoRoot;
    const archive: ArchiveEntry[] = entries.map((e) => ({ ...e, repoDir, ...(e.mode === '120000' ? { linkTarget: targets.get(e.oid)?.toString() ?? '' } : {}) }));
    const git = gitTreeSource({ entries: archive, repos: new Map([[repoDir, ctx.git]]) });
    return { dir: '', source: added.length ? withWorkTreeFiles(git, added, contextAbs) : git };
  });
  return { files, dockerfileText: text, dockerignore, ...sessionContext(ctx, img, source, []), uncommitted };
}

/** The context served by the session source `source`; `extraExcludes` added to the compiler's. */
function sessionContext(ctx: StapelBuildContext, img: DockerfileImage, source: string, extraExcludes: string[]): Pick<DockerfileContextFacts, 'state' | 'serve'> {
  return {
    state: (excludePatterns) => local(source, { sharedKeyHint: source, customName: `[internal] ${imageLabel(img)} context`, excludePatterns: [...excludePatterns, ...extraExcludes] }),
    serve: () => ctx.serveSources([source]),
  };
}

/** `git` with the work-tree files `added` (context-relative, under `root`) over it: contextAddFiles. */
function withWorkTreeFiles(git: TreeSource, added: ContextFile[], root: string): TreeSource {
  const over = new Set(added.map((f) => f.path));
  const disk = new Map<string, string>();
  return {
    id: sha256(JSON.stringify([git.id, added])),
    dirMode: git.dirMode,
    mtimeNs: git.mtimeNs,
    async entries() {
      const base = (await git.entries()).filter((e) => !over.has(e.path));
      const extra: TreeSourceEntry[] = added.map((f) => {
        const abs = path.join(root, f.path);
        disk.set(f.path, abs);
        if (f.mode === '120000') return { path: f.path, type: 'symlink', mode: 0o777, linkname: fs.readlinkSync(abs) };
        return { path: f.path, type: 'file', mode: f.mode === '100755' ? 0o755 : 0o644, size: fs.statSync(abs).size };
      });
      return [...base, ...extra];
    },
    read: (e) => (disk.has(e.path) ? fs.promises.readFile(disk.get(e.path)!) : git.read(e)),
  };
}

/** A view of a Dockerfile image that src/stages' imageSpec rules take (they read name, final, imageSpec). */
function asStapel(img: DockerfileImage): StapelImage {
  return img as unknown as StapelImage;
}

/** The conveyor of one Dockerfile image for one platform: `dockerfile`, then `imageSpec` when there is one. */
export async function dockerfileConveyor(ctx: StapelBuildContext, image: Image, platform: string, built: ReadonlyMap<string, ImageOutcome>, o: DockerfileConveyorOptions): Promise<ImageConveyor> {
  if (image.kind !== 'dockerfile') throw new StapelkitError('INTERNAL', `${imageLabel(image)} is not a Dockerfile image`);
  const img = image;
  const model: Model = ctx.model;
  if (img.staged) {
    throw new StapelkitError('NOT_SUPPORTED', `${imageLabel(img)}: staged Dockerfile builds (\`staged: true\`, build.staged) are not supported: one \`dockerfile\` stage is built`, { pos: img.pos, hint: 'remove `staged: true` (werf supports it with buildah only)' });
  }
  const extraHosts = parseAddHost(img);
  const network = networkMode(img);
  const facts = o.contextFacts ? await o.contextFacts(img) : await contextFacts(ctx, img, o);
  const dockerfileFile = [img.context, img.dockerfile].filter(Boolean).join('/');
  const df: Dockerfile = parseDockerfile(facts.dockerfileText, dockerfileFile);
  const ignore = facts.dockerignore ? new PatternMatcher(readDockerignore(facts.dockerignore.text, facts.dockerignore.file)) : undefined;
  // Without a stages storage a dependency has no image name: a stable stand-in (project:digest)
  // that only this build's graph resolves, so FROM ${ImageName} still links it.
  const linkName = (dep: ImageOutcome) => dep.last.imageName || `${model.project}:${dep.last.digest}`;
  const depValues = (name: string): DependencyValues => {
    const dep = built.get(name);
    if (!dep) throw new StapelkitError('INTERNAL', `${imageLabel(img)}: dependency ${name} was not built first`);
    return { imageName: linkName(dep), imageId: dep.last.imageId ?? '', imageDigest: dep.last.manifestDigest ?? '' };
  };
  const dependencyArgs = dependencyBuildArgs(img, depValues);
  const checksums = new Map<string, string>();
  /** ADD/COPY text → checksum of the files it reads (for --explain). */
  const copyInputs = new Map<string, string>();
  const digestOpts: DockerfileDigestOptions = {
    target: img.target,
    buildArgs: img.args,
    dependencyArgs,
    addHost: img.addHost,
    imageCacheVersion: img.cacheVersion ?? model.meta.build.cacheVersion,
    platform,
    checksum: (sources, instruction) => {
      if (facts.uncommitted?.size) {
        const dirty = [...facts.uncommitted.keys()].filter((f) => contextChecksum([{ path: f, mode: '', id: '' }], sources, ignore) !== EMPTY_CHECKSUM);
        if (dirty.length) {
          const node = df.stages.flatMap((st) => st.commands).find((c) => c.node.original.trim() === instruction)?.node;
          const at = node ? { file: dockerfileFile, line: node.range.start.line, column: node.range.start.column } : img.pos;
          const list = dirty.slice(0, 5).map((f) => `"${[img.context, f].filter(Boolean).join('/')}"`).join(', ') + (dirty.length > 5 ? ` and ${dirty.length - 5} more` : '');
          throw new StapelkitError(FILE_STATE_ERROR, `${imageLabel(img)}: ${instruction}: the build context files ${list} must be committed`, { pos: at, hint: `${GITERMINISM_PARAGRAPH} (or build with --dev)` });
        }
      }
      const k = JSON.stringify(sources);
      let c = checksums.get(k);
      if (c === undefined) checksums.set(k, (c = contextChecksum(facts.files, sources, ignore)));
      copyInputs.set(instruction, c);
      return c;
    },
  };
  // The dependencies string for --explain; the digest from src/dockerfile's own formula.
  const deps = await dockerfileStageDependencies(df, digestOpts);
  const digest = await dockerfileStageDigest(df, digestOpts);
  const head = (await ctx.head()).hash;
  const labels: Record<string, string> = {
    [LABEL.werf]: model.project,
    [LABEL.version]: TOOL_VERSION,
    [LABEL.projectRepoCommit]: head,
    [LABEL.stageContentDigest]: stageContentDigest(platform, 'dockerfile' as StageName, digest, ''),
  };
  const spec = effectiveImageSpec(model, img);

  const dockerfileStage: PlannedStage = {
    name: 'dockerfile',
    digest,
    inputs: [
      { name: 'dependencies', value: deps },
      ...[...copyInputs].map(([k, v]) => ({ name: `files of ${k}`, value: v })),
      ...Object.entries({ ...img.args, ...dependencyArgs }).map(([k, v]) => ({ name: `build arg ${k}`, value: v })),
    ],
    pos: img.pos,
    gitParamshashes: [],
    configOnly: false,
    labels,
    build: async () => {
      const gw = await ctx.gateway();
      // Dependency images by the name the Dockerfile receives: linked as their graph, not pulled.
      const linked = new Map<string, ImageOutcome>();
      for (const d of img.dependencies) {
        const dep = built.get(d.image);
        if (dep) linked.set(linkName(dep), dep);
      }
      const resolveImage = async (ref: string, pf: Platform): Promise<ResolvedBase> => {
        const dep = linked.get(ref);
        if (dep) {
          await ensureConfig(dep.last, () => ctx.gateway());
          return { config: dep.last.imageConfig, state: dep.last.state };
        }
        const r = await gw.resolveImageConfig(ref, { platform: pf });
        return { config: r.config };
      };
      const r = await compileParsed(df, {
        file: dockerfileFile,
        context: ({ excludePatterns }) => facts.state(excludePatterns),
        ...(facts.dockerignore ? { dockerignore: facts.dockerignore.text, dockerignoreFile: facts.dockerignore.file } : {}),
        resolveImage,
        buildArgs: { ...img.args, ...dependencyArgs },
        ...(img.target !== undefined ? { target: img.target } : {}),
        platform: parsePlatform(platform),
        caps: (await gw.caps()).llb,
        extraHosts,
        ...(network ? { network } : {}),
        // werf.yaml's secrets and ssh are always served (stapelkit build checks them first; the
        // frontend's client must give them): a mount of theirs that finds nothing is an error.
        requiredSecrets: new Set(img.secrets.map((s) => s.id)),
        requiredSsh: new Set(dockerfileSshSpecs(img).map((s) => s.id)),
      });
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      await facts.serve();
      return { state: r.state, imageConfig: r.imageConfig, labels };
    },
  };

  const imageSpecStageFor = (prev: UsedStage): PlannedStage => {
    const sctx = { model, image: asStapel(img), facts: undefined as never, patches: [] };
    const sdeps = imageSpecStage.dependencies(sctx);
    const { digest: sdigest, parts } = stageDigest(platform, 'imageSpec', sdeps.value, { digest: prev.digest, nextStageDependencies: '' });
    const parentId = stageIdOf(prev);
    const drop = imageSpecStage.dropsLabel!(sctx);
    const kept = Object.fromEntries(Object.entries(prev.labels).filter(([k]) => !drop(k)));
    const slabels: Record<string, string> = { ...kept, [LABEL.parentStageId]: parentId, [LABEL.stageContentDigest]: stageContentDigest(platform, 'imageSpec', sdigest, '') };
    return {
      name: 'imageSpec',
      digest: sdigest,
      inputs: [...parts.filter((x) => x.name !== 'StageDependencies'), ...sdeps.parts],
      pos: spec?.pos ?? img.pos,
      gitParamshashes: [],
      configOnly: true,
      labels: slabels,
      build: (p) => {
        const base = p!;
        const cfg: OciImageConfig = { ...base.imageConfig, config: { ...(base.imageConfig.config ?? {}), Labels: { ...(base.imageConfig.config?.Labels ?? {}), ...slabels } } };
        return { state: base.state, imageConfig: imageSpecStage.imageConfig(sctx, cfg), labels: slabels };
      },
    };
  };

  let step = 0;
  return {
    async next(prev) {
      if (step === 0) {
        step = 1;
        return dockerfileStage;
      }
      if (step === 1 && spec && prev) {
        step = 2;
        return imageSpecStageFor(prev);
      }
      return undefined;
    },
  };
}

/** The specs of a Dockerfile image's `ssh:` (`default`, `default=/path/to/agent.sock`, comma-separated, like docker build --ssh). */
export function dockerfileSshSpecs(img: Pick<DockerfileImage, 'ssh'>): { spec: string; id: string; socket?: string }[] {
  if (!img.ssh) return [];
  return img.ssh
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((spec) => {
      const i = spec.indexOf('=');
      return i < 0 ? { spec, id: spec } : { spec, id: spec.slice(0, i) || 'default', socket: spec.slice(i + 1) };
    });
}

/** `ssh:` of the Dockerfile images as session agents (no socket given: SSH_AUTH_SOCK). */
export function dockerfileSshAgents(images: Image[], env: NodeJS.ProcessEnv): { id: string; socket: string }[] {
  const out: { id: string; socket: string }[] = [];
  for (const img of images) {
    if (img.kind !== 'dockerfile') continue;
    for (const s of dockerfileSshSpecs(img)) {
      const sock = s.socket ?? env.SSH_AUTH_SOCK ?? '';
      if (!sock) throw new StapelkitError('SSH_AGENT', `ssh "${s.spec}": SSH_AUTH_SOCK is not set`, { pos: img.pos });
      if (!out.some((a) => a.id === s.id)) out.push({ id: s.id, socket: sock });
    }
  }
  return out;
}

export type { State };
