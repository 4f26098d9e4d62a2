/**
 * Helpers for the Dockerfile oracle (not a test file): build a Dockerfile directory with our
 * compiler and with `docker build` (the daemon's own dockerfile.v0) on the same dockerd, then read
 * each image's config (from `docker save`) and its flattened file tree (container export).
 */
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { OciImageConfig } from '../../src/build/gateway';
import { readTar, type TarReadEntry } from '../../src/buildkit/tar';
import { compileDockerfile, positionBuildError, type CompileResult } from '../../src/dockerfile';
import { local, marshal, parsePlatform, formatPlatform, type Platform } from '../../src/llb';
import { Session, type SecretSource } from '../../src/session';
import type { TestEnv } from './harness';

export interface CaseSpec {
  buildArgs?: Record<string, string>;
  target?: string;
  platform?: string;
  /** Secret id → file name in the case dir. */
  secrets?: Record<string, string>;
  /** false: syntax newer than the daemon's frontend; only our build runs, checked by `expect`. */
  oracle?: boolean;
  /** Paths in the result → expected `mode uid:gid content` (content for files). */
  expect?: Record<string, { mode?: string; owner?: string; content?: string }>;
  /** Built with `docker build` first (an image the case's FROM uses). */
  pre?: { dir: string; tag: string };
  /** Image config fields that are expected to differ, with the reason. */
  intended?: Record<string, string>;
  /** An error both builds must report (regexp source). */
  error?: string;
  /** How our error's formatted text must start (`case/Dockerfile:3:1: `). */
  errorAt?: string;
}

export function readCase(dir: string): CaseSpec {
  const f = path.join(dir, 'case.json');
  return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as CaseSpec) : {};
}

/** The OCI config of a local image, exactly as stored (from `docker save`). */
export async function savedConfig(env: TestEnv, name: string): Promise<OciImageConfig> {
  const res = await env.docker.call(`/images/${encodeURIComponent(name)}/get`);
  const entries = readTar(res.body);
  const manifest = JSON.parse(entries.find((e) => e.path === 'manifest.json')!.data.toString()) as { Config: string }[];
  const cfg = entries.find((e) => e.path === manifest[0].Config)!;
  return JSON.parse(cfg.data.toString()) as OciImageConfig;
}

/** A resolver over the daemon's local image store (the lead wires Gateway.resolveImageConfig). */
export function localResolver(env: TestEnv) {
  return async (ref: string, _platform: Platform) => {
    const name = ref.replace(/^docker\.io\/library\//, '');
    return { config: await savedConfig(env, name) };
  };
}

export interface TreeEntry {
  type: string;
  mode: string;
  owner: string;
  size: number;
  sha?: string;
  link?: string;
}

/** Flattened filesystem of an image (container export), keyed by path. */
export async function imageTree(env: TestEnv, name: string, platform?: string): Promise<Map<string, TreeEntry>> {
  const q = platform ? `?platform=${encodeURIComponent(platform)}` : '';
  const created = await env.docker.json<{ Id: string }>(`/containers/create${q}`, { method: 'POST', body: JSON.stringify({ Image: name, Cmd: ['/nonexistent'], Entrypoint: [] }) });
  try {
    const res = await env.docker.call(`/containers/${created.Id}/export`);
    const out = new Map<string, TreeEntry>();
    for (const e of readTar(res.body) as TarReadEntry[]) {
      const p = '/' + e.path.replace(/^\.?\//, '').replace(/\/$/, '');
      out.set(p, {
        type: e.type,
        mode: (e.mode & 0o7777).toString(8),
        owner: `${e.uid}:${e.gid}`,
        size: e.type === 'file' ? e.size : 0,
        sha: e.type === 'file' ? crypto.createHash('sha256').update(e.data).digest('hex').slice(0, 16) : undefined,
        link: e.type === 'symlink' || e.type === 'hardlink' ? e.linkname : undefined,
      });
    }
    return out;
  } finally {
    await env.docker.request(`/containers/${created.Id}?force=1`, { method: 'DELETE' });
  }
}

function readDockerignoreOf(dir: string): string | undefined {
  const f = path.join(dir, '.dockerignore');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined;
}

function secretSources(dir: string, spec: CaseSpec): SecretSource[] {
  return Object.entries(spec.secrets ?? {}).map(([id, file]) => ({ id, file: path.join(dir, file) }));
}

/** Build `dir` with our compiler and export it to the daemon's image store as `name`. */
export async function buildOurs(env: TestEnv, dir: string, name: string, spec: CaseSpec): Promise<CompileResult> {
  const client = await env.client();
  const session = new Session({ syncedDirs: { context: { dir } }, ssh: [], auth: false, ...(spec.secrets ? { secrets: secretSources(dir, spec) } : {}) });
  try {
    const res = await compileDockerfile(fs.readFileSync(path.join(dir, 'Dockerfile'), 'utf8'), {
      file: path.basename(dir) + '/Dockerfile',
      context: ({ excludePatterns }) => local('context', { sessionId: session.id, excludePatterns, sharedKeyHint: 'context' }),
      dockerignore: readDockerignoreOf(dir),
      resolveImage: localResolver(env),
      buildArgs: spec.buildArgs,
      target: spec.target,
      platform: spec.platform,
      buildPlatform: 'linux/amd64',
      caps: (await client.llbCaps()).llb,
    });
    const def = marshal(res.state, { platform: spec.platform ?? 'linux/amd64' });
    try {
      await client.solve({ definition: def, session, exporter: { type: 'moby', attrs: { name } }, imageConfig: res.imageConfig });
    } catch (e) {
      throw positionBuildError(e, res);
    }
    return res;
  } finally {
    await session.close();
  }
}

/** `docker build` of `dir` on the test daemon (Debian's docker CLI, BuildKit on). */
export async function buildTheirs(env: TestEnv, dir: string, name: string, spec: CaseSpec): Promise<void> {
  const args = ['build', '-q', '-t', name, '--progress=plain'];
  for (const [k, v] of Object.entries(spec.buildArgs ?? {})) args.push('--build-arg', `${k}=${v}`);
  if (spec.target) args.push('--target', spec.target);
  if (spec.platform) args.push('--platform', spec.platform);
  for (const [id, file] of Object.entries(spec.secrets ?? {})) args.push('--secret', `id=${id},src=${path.join(dir, file)}`);
  args.push(dir);
  args.splice(args.indexOf('--progress=plain'), 1);
  await run('/usr/bin/docker', args, { DOCKER_HOST: `unix://${env.dockerSocket}`, DOCKER_BUILDKIT: '1' });
}

function run(cmd: string, args: string[], extraEnv: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`))));
  });
}

/** The config fields compared between the two builds. */
export const CONFIG_FIELDS = ['User', 'Env', 'Entrypoint', 'Cmd', 'WorkingDir', 'Labels', 'ExposedPorts', 'Volumes', 'StopSignal', 'Healthcheck', 'Shell', 'OnBuild'] as const;

/** Field-by-field differences of two image configs (+ platform, author, history). */
export function configDiff(ours: OciImageConfig, theirs: OciImageConfig): Record<string, { ours: unknown; theirs: unknown }> {
  const out: Record<string, { ours: unknown; theirs: unknown }> = {};
  const norm = (v: unknown) => (v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && v !== null && Object.keys(v).length === 0) ? undefined : v);
  const cmp = (k: string, a: unknown, b: unknown) => {
    if (JSON.stringify(norm(a)) !== JSON.stringify(norm(b))) out[k] = { ours: a, theirs: b };
  };
  for (const f of CONFIG_FIELDS) cmp(f, ours.config?.[f], theirs.config?.[f]);
  cmp('architecture', ours.architecture, theirs.architecture);
  cmp('os', ours.os, theirs.os);
  cmp('variant', ours.variant, theirs.variant);
  cmp('author', ours.author, theirs.author);
  const hist = (c: OciImageConfig) => (c.history ?? []).map((h) => `${h.created_by ?? ''}${h.empty_layer ? ' (empty)' : ''}`);
  cmp('history', hist(ours), hist(theirs));
  cmp('layers', ours.rootfs?.diff_ids.length, theirs.rootfs?.diff_ids.length);
  return out;
}

/** Paths whose entry differs (or exists on one side only). */
export function treeDiff(ours: Map<string, TreeEntry>, theirs: Map<string, TreeEntry>): string[] {
  const out: string[] = [];
  const keys = new Set([...ours.keys(), ...theirs.keys()]);
  for (const k of [...keys].sort()) {
    const a = ours.get(k);
    const b = theirs.get(k);
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${k}: ours ${JSON.stringify(a)} theirs ${JSON.stringify(b)}`);
  }
  return out;
}

export { formatPlatform, parsePlatform };
