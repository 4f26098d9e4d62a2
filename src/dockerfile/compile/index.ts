/**
 * Dockerfile → LLB State + OCI image config (BuildKit's dockerfile2llb): plan the stages the
 * target needs (FROM <stage>, COPY --from, RUN --mount from), resolve their base images through
 * the resolver passed in, then dispatch every instruction of those stages in dependency order.
 */
import type { OciImageConfig } from '../../build/gateway';
import { StapelkitError } from '../../errors';
import { defaultPlatform, formatPlatform, image, normalizeImageRef, normalizePlatform, parsePlatform, scratch, SourceMap, type Platform } from '../../llb';
import { instructionError, parseDockerfile, parseInstruction, type Dockerfile, type Instruction, type Stage } from '../instructions';
import { parse, type Node, type Pos } from '../parser/parser';
import { ShellLex } from '../parser/shell';
import { applyWorkdir, dispatchArg, dispatchCmd, dispatchEnv, dispatchExpose, dispatchHealthcheck, dispatchMaintainer, dispatchOnbuild, dispatchShell, dispatchStopSignal, dispatchUser, dispatchVolume, dispatchWorkdir } from './config';
import { dispatchCopy } from './copy';
import { readDockerignore } from './dockerignore';
import { dispatchRun, parseMount } from './run';
import { argMap, expandWithMap } from './util';
import type { CompileOptions, CompileResult, DispatchContext, DispatchState, ResolvedBase } from './types';

export type { CompileOptions, CompileResult, ImageResolver, ResolvedBase, StepInfo } from './types';
export { readDockerignore } from './dockerignore';

/** BUILDPLATFORM/BUILDOS/…/TARGETVARIANT as BuildKit's getPlatformArgs. */
export function platformArgs(target: Platform, build: Platform): { key: string; value: string }[] {
  return [
    { key: 'BUILDPLATFORM', value: formatPlatform(build) },
    { key: 'BUILDOS', value: build.os },
    { key: 'BUILDARCH', value: build.architecture },
    { key: 'BUILDVARIANT', value: build.variant ?? '' },
    { key: 'TARGETPLATFORM', value: formatPlatform(target) },
    { key: 'TARGETOS', value: target.os },
    { key: 'TARGETARCH', value: target.architecture },
    { key: 'TARGETVARIANT', value: target.variant ?? '' },
  ];
}

function emptyConfig(p: Platform): DispatchState['image'] {
  return { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}), config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/** Stage references a command makes (`--from`, mount `from=`), unexpanded, with positions. */
function stageRefs(ins: Instruction): { from: string; pos?: Pos }[] {
  if (ins.kind === 'copy' && ins.from !== undefined) return [{ from: ins.from, pos: ins.flags.pos('from') }];
  if (ins.kind === 'run') {
    const out: { from: string; pos?: Pos }[] = [];
    for (const m of ins.mounts) {
      try {
        const pm = parseMount(m, (v) => v);
        if (pm.from !== undefined) out.push({ from: pm.from, pos: ins.flags.pos('mount') });
      } catch {
        /* reported at dispatch */
      }
    }
    return out;
  }
  return [];
}

/** Compile a Dockerfile's text. */
export async function compileDockerfile(text: string, opts: CompileOptions): Promise<CompileResult> {
  const file = opts.file ?? 'Dockerfile';
  const df = parseDockerfile(text, file);
  return compileParsed(df, opts);
}

export async function compileParsed(df: Dockerfile, opts: CompileOptions): Promise<CompileResult> {
  const file = df.file;
  const buildPlatform = opts.buildPlatform ? normalizePlatform(parsePlatform(opts.buildPlatform)) : defaultPlatform();
  const targetPlatform = opts.platform ? normalizePlatform(parsePlatform(opts.platform)) : buildPlatform;
  const escape = df.parsed.escapeToken;
  const shlex = new ShellLex(escape);
  const buildArgs = opts.buildArgs ?? {};
  const usedBuildArgs = new Set<string>();

  // Global ARGs: each default expands with those before it; build args override.
  const metaArgs: { key: string; value?: string }[] = platformArgs(targetPlatform, buildPlatform);
  for (const a of df.metaArgs) {
    for (const kv of a.args) {
      let value = kv.value !== undefined ? expandWithMap(ctxLess(file, shlex), kv.value, argMap(metaArgs), a.node) : undefined;
      if (Object.prototype.hasOwnProperty.call(buildArgs, kv.key)) {
        value = buildArgs[kv.key];
        usedBuildArgs.add(kv.key);
      }
      metaArgs.push({ key: kv.key, value });
    }
  }
  const metaMap = () => argMap(metaArgs);

  let excludes: string[] = [];
  if (opts.dockerignore !== undefined) excludes = readDockerignore(opts.dockerignore, opts.dockerignoreFile ?? '.dockerignore');
  const context = typeof opts.context === 'function' ? opts.context({ excludePatterns: excludes }) : opts.context;

  const states: DispatchState[] = [];
  const byName = new Map<string, DispatchState>();
  const imageStages = new Map<string, DispatchState>();
  const steps: CompileResult['steps'] = [];
  const warnings = df.parsed.warnings.map((w) => `${file}:${w.range.start.line}: ${w.message}`);

  const newState = (stage: Stage, name: string): DispatchState => ({
    stage,
    name,
    state: scratch(),
    image: emptyConfig(targetPlatform),
    platform: targetPlatform,
    buildArgs: [],
    cmdSet: false,
    cmdIndex: 0,
    cmdTotal: 0,
    deps: new Set(),
    scratch: false,
    dispatched: false,
  });

  // 1. One dispatch state per stage; FROM <earlier stage> links the base.
  for (const stage of df.stages) {
    const d = newState(stage, stage.name ?? `stage-${stage.index}`);
    const from = stage.from;
    const ref = expandWithMap(ctxLess(file, shlex), from.image, metaMap(), from.node, from.node.restPos);
    if (ref === '') throw instructionError(file, from.node, 'base name (' + from.image + ') should not be blank', from.node.restPos);
    if (from.platform !== undefined) {
      const p = expandWithMap(ctxLess(file, shlex), from.platform, metaMap(), from.node, from.flags.pos('platform'));
      try {
        d.platform = normalizePlatform(parsePlatform(p));
      } catch (e) {
        throw instructionError(file, from.node, `failed to parse platform ${p}: ${(e as Error).message}`, from.flags.pos('platform'));
      }
    }
    const base = byName.get(ref.toLowerCase());
    if (base) {
      d.base = base;
      d.deps.add(base);
    } else if (ref === 'scratch') d.scratch = true;
    else d.baseRef = ref;
    states.push(d);
    if (stage.name) byName.set(stage.name, d);
  }

  const findStage = (from: string, node: Node, pos?: Pos, current?: DispatchState): DispatchState => {
    const named = byName.get(from.toLowerCase());
    if (named) return named;
    if (/^\d+$/.test(from)) {
      const i = Number(from);
      if (i >= states.length || (current && i >= current.stage.index)) {
        throw instructionError(file, node, `--from=${from}: there is no stage ${i} before this one (stages 0..${(current ? current.stage.index : states.length) - 1})`, pos);
      }
      return states[i];
    }
    let d = imageStages.get(from);
    if (!d) {
      d = newState({ index: -1, from: states[0].stage.from, commands: [] }, from);
      d.baseRef = from;
      d.imageOnly = true;
      imageStages.set(from, d);
    }
    return d;
  };

  // 2. Dependencies through --from / mount from; reachability from the target.
  for (const d of states) {
    for (const ins of d.stage.commands) {
      for (const r of stageRefs(ins)) {
        const from = expandWithMap(ctxLess(file, shlex), r.from, metaMap(), ins.node, r.pos);
        const dep = findStage(from, ins.node, r.pos, d);
        if (dep === d) throw instructionError(file, ins.node, `circular dependency detected on stage: ${d.name}`, r.pos);
        d.deps.add(dep);
      }
    }
  }
  let target = states[states.length - 1];
  if (opts.target !== undefined) {
    const t = byName.get(opts.target.toLowerCase());
    if (!t) throw new StapelkitError('DOCKERFILE_TARGET', `target stage "${opts.target}" could not be found in ${file}`, { pos: { file }, hint: `stages: ${[...byName.keys()].join(', ') || '(none named)'}` });
    target = t;
  }
  const order: DispatchState[] = [];
  const visiting = new Set<DispatchState>();
  const visit = (d: DispatchState) => {
    if (order.includes(d)) return;
    if (visiting.has(d)) throw instructionError(file, d.stage.from.node, `circular dependency detected on stage: ${d.name}`);
    visiting.add(d);
    for (const dep of d.deps) visit(dep);
    visiting.delete(d);
    order.push(d);
  };
  visit(target);

  // 3. Resolve base images (in parallel) of the reachable stages.
  const resolved = new Map<DispatchState, ResolvedBase>();
  await Promise.all(
    order
      .filter((d) => d.baseRef !== undefined)
      .map(async (d) => {
        try {
          resolved.set(d, await opts.resolveImage(d.baseRef!, d.platform));
        } catch (e) {
          const node = d.imageOnly ? findRefNode(order, d) ?? d.stage.from.node : d.stage.from.node;
          const what = d.imageOnly ? `"${d.baseRef}" is neither a build stage nor an image that resolves` : `base image "${d.baseRef}" could not be resolved`;
          throw instructionError(file, node, `${what}: ${(e as Error).message}`);
        }
      }),
  );

  const sourceMap = new SourceMap(file, df.text, undefined, 'Dockerfile');
  const ctx: DispatchContext = {
    sourceMap,
    opts,
    file,
    shlex,
    escape,
    context,
    targetPlatform,
    buildPlatform,
    caps: opts.caps,
    metaArgs,
    steps,
    usedBuildArgs,
    warnings,
    stageFor: (from, node, pos) => {
      const d = findStage(from, node, pos);
      if (!d.dispatched) throw instructionError(file, node, `stage "${from}" is used before it is built`, pos);
      return d;
    },
  };

  // 4. Dispatch.
  for (const d of order) {
    if (d.base) {
      d.state = d.base.state;
      d.platform = d.base.platform;
      d.image = clone(d.base.image);
    } else if (d.baseRef !== undefined) {
      const r = resolved.get(d)!;
      const ref = r.digest && !d.baseRef.includes('@') ? `${stripTag(d.baseRef)}@${r.digest}` : d.baseRef;
      const total = d.imageOnly ? 0 : countSteps(d.stage) + 1;
      d.cmdTotal = total;
      const name = total ? `[${d.name} ${String(1).padStart(1 + Math.floor(Math.log10(total)), ' ')}/${total}] FROM ${normalizeImageRef(ref)}` : `[internal] ${normalizeImageRef(ref)}`;
      if (total) d.cmdIndex = 1;
      const fr = d.stage.from.node.range;
      const location = d.imageOnly ? undefined : sourceMap.location({ start: { line: fr.start.line, character: fr.start.column }, end: { line: fr.end.line } });
      d.state = (r.state ?? image(ref, { platform: d.platform, customName: name, ...(location ? { location } : {}) })).platform(d.platform);
      if (!d.imageOnly) steps.push({ name, stage: d.name, range: d.stage.from.node.range, kind: 'from', file, text: d.stage.from.node.original.trim() });
      const cfg = clone(r.config ?? {});
      d.image = { ...cfg, config: cfg.config ?? {}, history: cfg.history ?? [] } as DispatchState['image'];
      d.image.architecture = d.platform.architecture;
      d.image.os = d.platform.os;
    } else {
      d.state = scratch().platform(d.platform);
      d.image = emptyConfig(d.platform);
    }
    if (!d.base && d.baseRef === undefined) d.cmdTotal = countSteps(d.stage);
    if (d.base) d.cmdTotal = countSteps(d.stage);
    // PATH is always set; the image's env, workdir and user become the state's.
    const env = d.image.config.Env ?? [];
    if (!env.some((kv) => kv.startsWith('PATH='))) d.image.config.Env = [...env, 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];
    if (!d.base) {
      for (const kv of d.image.config.Env ?? []) {
        const i = kv.indexOf('=');
        d.state = d.state.addEnv(i < 0 ? kv : kv.slice(0, i), i < 0 ? '' : kv.slice(i + 1));
      }
      if (d.image.config.WorkingDir) applyWorkdir(ctx, d, d.image.config.WorkingDir);
      if (d.image.config.User) d.state = d.state.user(d.image.config.User);
    }
    if (opts.network === 'none' || opts.network === 'host') d.state = d.state.network(opts.network);
    if (d.imageOnly) {
      d.dispatched = true;
      continue;
    }
    const triggers = d.image.config.OnBuild ?? [];
    d.image.config.OnBuild = null;
    if (triggers.length) dispatchTriggers(ctx, d, triggers);
    for (const ins of d.stage.commands) dispatch(ctx, d, ins);
    d.dispatched = true;
  }

  const img = clone(target.image);
  if (opts.labels && Object.keys(opts.labels).length) img.config.Labels = { ...(img.config.Labels ?? {}), ...opts.labels };
  const imageConfig = finalConfig(img, target.platform);
  const unusedBuildArgs = Object.keys(buildArgs).filter((k) => !usedBuildArgs.has(k) && !PREDEFINED_ARGS.has(k));
  return { state: target.state, imageConfig, platform: target.platform, steps, stages: order.filter((d) => !d.imageOnly).map((d) => d.name), unusedBuildArgs, warnings };
}

const PREDEFINED_ARGS = new Set(['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy']);

function stripTag(ref: string): string {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? ref.slice(0, colon) : ref;
}

function findRefNode(order: DispatchState[], d: DispatchState): Node | undefined {
  for (const s of order) for (const ins of s.stage.commands) if (stageRefs(ins).length && s.deps.has(d)) return ins.node;
  return undefined;
}

/** Steps that make an op and so get a `[n/N]` number: RUN, COPY, ADD, WORKDIR. */
function countSteps(stage: Stage): number {
  return stage.commands.filter((c) => c.kind === 'run' || c.kind === 'copy' || c.kind === 'add' || c.kind === 'workdir').length;
}

/** A ShellLex-only context for expansions that need no stage (FROM, global ARG). */
function ctxLess(file: string, shlex: ShellLex): DispatchContext {
  return { file, shlex } as DispatchContext;
}

function dispatchTriggers(ctx: DispatchContext, d: DispatchState, triggers: string[]): void {
  const text = triggers.join('\n') + '\n';
  const parsed = parse(text, { file: `${ctx.file} (ONBUILD of ${d.baseRef ?? d.name})` });
  for (const node of parsed.nodes) {
    const ins = parseInstruction(node, `${ctx.file} (ONBUILD of ${d.baseRef ?? d.name})`, parsed.escapeToken);
    // Triggers are not numbered; keep the FROM's position for messages.
    (ins as { node: Node }).node = { ...node, range: d.stage.from.node.range, posAt: d.stage.from.node.posAt };
    const saved = d.cmdTotal;
    d.cmdTotal = 0;
    dispatch(ctx, d, ins);
    d.cmdTotal = saved;
  }
}

function dispatch(ctx: DispatchContext, d: DispatchState, ins: Instruction): void {
  switch (ins.kind) {
    case 'env':
    case 'label':
      return dispatchEnv(ctx, d, ins);
    case 'arg':
      return dispatchArg(ctx, d, ins);
    case 'run':
      return dispatchRun(ctx, d, ins);
    case 'copy':
    case 'add':
      return dispatchCopy(ctx, d, ins);
    case 'workdir':
      return dispatchWorkdir(ctx, d, ins);
    case 'user':
      return dispatchUser(ctx, d, ins);
    case 'expose':
      return dispatchExpose(ctx, d, ins);
    case 'volume':
      return dispatchVolume(ctx, d, ins);
    case 'cmd':
    case 'entrypoint':
      return dispatchCmd(ctx, d, ins);
    case 'shell':
      return dispatchShell(ctx, d, ins);
    case 'healthcheck':
      return dispatchHealthcheck(ctx, d, ins);
    case 'stopsignal':
      return dispatchStopSignal(ctx, d, ins);
    case 'onbuild':
      return dispatchOnbuild(ctx, d, ins);
    case 'maintainer':
      return dispatchMaintainer(ctx, d, ins);
    case 'from':
      throw instructionError(ctx.file, ins.node, 'unexpected FROM inside a stage');
  }
}

function sortedKeys<T>(o: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

/** The image config handed to the exporter: BuildKit's JSON shape (empty fields omitted). */
function finalConfig(img: DispatchState['image'], p: Platform): OciImageConfig {
  const c = img.config;
  const config: NonNullable<OciImageConfig['config']> = {};
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v) && v.length === 0 && k !== 'Cmd' && k !== 'Entrypoint') continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    // Go marshals maps with sorted keys; the daemon stores the JSON as given.
    config[k] = k === 'Labels' || k === 'ExposedPorts' || k === 'Volumes' ? sortedKeys(v as Record<string, unknown>) : v;
  }
  const out: OciImageConfig = { ...img, architecture: p.architecture, os: p.os, config, rootfs: { type: 'layers', diff_ids: [] } };
  if (p.variant) out.variant = p.variant;
  else delete out.variant;
  return out;
}
