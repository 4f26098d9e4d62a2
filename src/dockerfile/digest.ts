/**
 * werf's digest of a Dockerfile image (§3.3 "dockerfile", werf pkg/build/stage/full_dockerfile.go):
 * per stage — addHost entries, the FROM name after meta-ARG expansion (a name, not a digest), then
 * per instruction `ARG k=v` (dependency arg > build arg > default; an ARG without default takes the
 * meta arg), `ENV k=v`, ADD/COPY text plus the checksum of the context files its sources match
 * (COPY --from: text only), ONBUILD's expression, other instructions' text expanded; stages merge
 * along `FROM <stage name>` (with its ONBUILD deps), `COPY --from=<index>`, `RUN --mount from=<index>`;
 * the target's list (+ cacheVersion) → H256. Pure: the caller supplies the file checksum, so a
 * change in a file no ADD/COPY reads does not change the digest.
 */
import * as crypto from 'node:crypto';
import { defaultPlatform, formatPlatform, normalizePlatform, parsePlatform, type Platform } from '../llb';
import { platformArgs } from './compile';
import { parseMount } from './compile/run';
import { instructionError, parseDockerfile, parseInstruction, type Dockerfile, type Instruction } from './instructions';
import { parse } from './parser/parser';
import { ShellError, ShellLex } from './parser/shell';

export interface DockerfileDigestOptions {
  target?: string;
  /** werf.yaml `args` (stringified). */
  buildArgs?: Record<string, string>;
  /** Values of `dependencies[].imports[].targetBuildArg` (they win over `args`). */
  dependencyArgs?: Record<string, string>;
  addHost?: string[];
  /** Image `cacheVersion` (or `build.cacheVersion`). */
  imageCacheVersion?: string;
  /** Target platform (default: the host's). */
  platform?: Platform | string;
  /**
   * Checksum of the context files the expanded sources of one ADD/COPY match (werf: git ls-tree
   * checksum of HEAD restricted to the sources and .dockerignore, plus contextAddFiles).
   */
  checksum: (sources: string[], instruction: string) => string | Promise<string>;
}

/** werf's util.Sha256Hash: hex SHA-256 over the args joined with ":::". */
export function sha256Hash(...args: string[]): string {
  return crypto.createHash('sha256').update(args.join(':::')).digest('hex');
}

/** werf's util.Sha3_224Hash. */
export function sha3_224Hash(...args: string[]): string {
  return crypto.createHash('sha3-224').update(args.join(':::')).digest('hex');
}

const lex = new ShellLex('\\');

/** The `GetDependencies` string of werf's `dockerfile` stage. */
export async function dockerfileStageDependencies(input: string | Dockerfile, opts: DockerfileDigestOptions): Promise<string> {
  const df = typeof input === 'string' ? parseDockerfile(input) : input;
  const file = df.file;
  const depArgs = opts.dependencyArgs ?? {};
  const buildArgs = opts.buildArgs ?? {};
  const has = (o: Record<string, string>, k: string) => Object.prototype.hasOwnProperty.call(o, k);
  const tp = opts.platform ? normalizePlatform(parsePlatform(opts.platform)) : defaultPlatform();
  const word = (v: string, env: Map<string, string>, ins?: Instruction) => {
    try {
      return lex.processWord(v, env);
    } catch (e) {
      if (e instanceof ShellError && ins) throw instructionError(file, ins.node, e.message);
      throw e;
    }
  };

  // Meta args: platform args, then global ARGs (dependency > build arg > expanded default).
  const meta = new Map<string, string>();
  for (const a of platformArgs(tp, defaultPlatform())) meta.set(a.key, a.value);
  const resolvedMeta = new Map<string, string>();
  for (const a of df.metaArgs) {
    for (const kv of a.args) {
      const key = word(kv.key, resolvedMeta, a);
      const value = has(depArgs, key) ? depArgs[key] : has(buildArgs, key) ? buildArgs[key] : word(kv.value ?? '', resolvedMeta, a);
      resolvedMeta.set(key, value);
    }
  }
  for (const [k, v] of resolvedMeta) meta.set(k, v);

  const stageDeps: string[][] = [];
  const onbuildDeps: string[][] = [];
  for (const stage of df.stages) {
    const args = new Map<string, string>();
    const envs = new Map<string, string>();
    const argsAndEnvs = () => new Map([...envs, ...args]); // args win over envs
    const deps: string[] = [...(opts.addHost ?? [])];
    const ob: string[] = [];
    const base = word(stage.from.image, meta, stage.from);
    if (base === '') throw instructionError(file, stage.from.node, 'invalid base image: the FROM name is empty after ARG expansion');
    deps.push(base);

    const instructionDeps = async (ins: Instruction, onbuild: boolean): Promise<{ deps: string[]; ob: string[] }> => {
      const out: string[] = [];
      const outOb: string[] = [];
      const resolve = (v: string) => word(v, onbuild ? new Map(envs) : argsAndEnvs(), ins);
      switch (ins.kind) {
        case 'arg':
          for (const kv of ins.args) {
            let key: string;
            let value: string;
            if (!onbuild) {
              key = word(kv.key, argsAndEnvs(), ins);
              const v = kv.value ?? '';
              value = has(depArgs, key) ? depArgs[key] : has(buildArgs, key) ? buildArgs[key] : v === '' ? meta.get(key) ?? '' : word(v, argsAndEnvs(), ins);
              args.set(key, value);
            } else {
              key = resolve(kv.key);
              value = resolve(kv.value ?? '');
            }
            out.push(`ARG ${key}=${value}`);
          }
          break;
        case 'env':
          for (const kv of ins.pairs) {
            const key = resolve(kv.key);
            const value = resolve(kv.value);
            if (!onbuild) envs.set(key, value);
            out.push(`ENV ${key}=${value}`);
          }
          break;
        case 'add':
        case 'copy': {
          const text = ins.node.original.trim();
          out.push(text);
          if (ins.kind === 'add' || ins.from === undefined) {
            const sources = ins.sources.map((s) => resolve(s));
            out.push(await opts.checksum(sources, text));
          }
          break;
        }
        case 'onbuild': {
          const sub = parse(ins.expression + '\n', { file }).nodes[0];
          const trigger = parseInstruction(sub, file, '\\');
          const r = await instructionDeps(trigger, true);
          out.push(ins.expression);
          outOb.push(...r.deps);
          break;
        }
        default:
          out.push(resolve(ins.node.original.trim()));
      }
      return { deps: out, ob: outOb };
    };
    for (const ins of stage.commands) {
      const r = await instructionDeps(ins, false);
      deps.push(...r.deps);
      ob.push(...r.ob);
    }
    stageDeps.push(deps);
    onbuildDeps.push(ob);
  }

  // Merge along FROM <stage name> (as written), COPY --from=<index>, RUN --mount from=<index>.
  const indexOf = (s: string | undefined) => (s !== undefined && /^-?\d+$/.test(s) ? Number(s) : undefined);
  df.stages.forEach((stage, ind) => {
    df.stages.forEach((rel, ri) => {
      if (ri !== ind && rel.name !== undefined && stage.from.image === rel.name) {
        stageDeps[ind].push(...stageDeps[ri], ...onbuildDeps[ri]);
      }
    });
    for (const ins of stage.commands) {
      const froms: (string | undefined)[] = [];
      if (ins.kind === 'copy') froms.push(ins.from);
      if (ins.kind === 'run') {
        for (const m of ins.mounts) {
          try {
            froms.push(parseMount(m, (v) => v).from);
          } catch {
            /* invalid mounts fail the build itself */
          }
        }
      }
      for (const f of froms) {
        const ri = indexOf(f);
        if (ri !== undefined && ri >= 0 && ri < stageDeps.length) stageDeps[ind].push(...stageDeps[ri]);
      }
    }
  });

  let targetIndex = df.stages.length - 1;
  if (opts.target !== undefined) {
    targetIndex = df.stages.findIndex((s) => s.name === opts.target!.toLowerCase());
    if (targetIndex < 0) throw instructionError(file, df.stages[df.stages.length - 1].from.node, `target stage "${opts.target}" not found`);
  }
  const list = [...stageDeps[targetIndex]];
  if (opts.imageCacheVersion) list.push(opts.imageCacheVersion);
  return sha256Hash(...list);
}

/** The stage digest werf stores the image under: H3([platform ≠ linux/amd64], "1.2", "dockerfile", deps). */
export async function dockerfileStageDigest(input: string | Dockerfile, opts: DockerfileDigestOptions): Promise<string> {
  const deps = await dockerfileStageDependencies(input, opts);
  const p = opts.platform ? formatPlatform(normalizePlatform(parsePlatform(opts.platform))) : undefined;
  const parts = p && p !== 'linux/amd64' ? [p] : [];
  return sha3_224Hash(...parts, '1.2', 'dockerfile', deps);
}
