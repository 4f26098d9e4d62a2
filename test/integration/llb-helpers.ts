/**
 * Helpers for the llb-*.test.ts files (not a test file): solve a State on the test daemon and look
 * at what BuildKit actually produced — as a tar export through the session's FileSend, or by
 * running commands inside busybox with the result mounted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTar, type TarReadEntry } from '../../src/buildkit/tar';
import { Session } from '../../src/session';
import { image, marshal, scratch, type State } from '../../src/llb';
import type { TestEnv } from './harness';

/** A State, or a function building one from the id of the session that serves `localDirs`. */
export type StateSpec = State | ((sessionId: string) => State);

/**
 * Solve `state` and return its filesystem as tar entries keyed by path (no leading `./`, no
 * trailing `/`). `localDirs` (name → host dir) are served to `local(name, {sessionId})` sources.
 */
export async function exportTar(env: TestEnv, state: StateSpec, localDirs: Record<string, string> = {}): Promise<Map<string, TarReadEntry>> {
  const client = await env.client();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-llb-'));
  const file = path.join(dir, 'out.tar');
  const syncedDirs = Object.fromEntries(Object.entries(localDirs).map(([k, d]) => [k, { dir: d }]));
  const session = new Session({ exportTarget: { kind: 'tar', file }, syncedDirs, ssh: [], auth: false });
  try {
    const st = typeof state === 'function' ? state(session.id) : state;
    await client.solve({ definition: marshal(st, { platform: 'linux/amd64' }), session, exporter: { type: 'tar' } });
    // The FileSend stream may finish writing the file just after Solve returns.
    const end = Date.now() + 5000;
    while (session.stats.exports.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const entries = readTar(fs.readFileSync(file));
    const out = new Map<string, TarReadEntry>();
    for (const e of entries) out.set(e.path.replace(/^\.?\//, '').replace(/\/$/, ''), e);
    return out;
  } finally {
    await session.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Solve `state` without exporting; resolves to the error message, or undefined when it succeeded. */
export async function solveError(env: TestEnv, state: StateSpec, localDirs: Record<string, string> = {}): Promise<string | undefined> {
  const client = await env.client();
  const syncedDirs = Object.fromEntries(Object.entries(localDirs).map(([k, d]) => [k, { dir: d }]));
  const session = new Session({ syncedDirs, ssh: [], auth: false });
  try {
    const st = typeof state === 'function' ? state(session.id) : state;
    await client.solve({ definition: marshal(st, { platform: 'linux/amd64' }), session });
    return undefined;
  } catch (e) {
    return e instanceof Error ? `${e.message}${(e as { hint?: string }).hint ? ` (${(e as { hint?: string }).hint})` : ''}` : String(e);
  } finally {
    await session.close();
  }
}

/** Removes every directory hostDir() made (call in suite.after). */
export function removeHostDirs(): void {
  for (const d of hostDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** A host directory holding `files` (path → contents, or `{data, mode}`, or `{symlink}`, or `{dir}`). */
const hostDirs: string[] = [];

export function hostDir(files: Record<string, string | { data: string; mode?: number } | { symlink: string } | { dir: true; mode?: number }>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-llb-src-'));
  hostDirs.push(root);
  for (const [p, spec] of Object.entries(files)) {
    const full = path.join(root, p);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    if (typeof spec === 'string') fs.writeFileSync(full, spec);
    else if ('symlink' in spec) fs.symlinkSync(spec.symlink, full);
    else if ('dir' in spec) {
      fs.mkdirSync(full, { recursive: true });
      if (spec.mode !== undefined) fs.chmodSync(full, spec.mode);
    } else {
      fs.writeFileSync(full, spec.data);
      if (spec.mode !== undefined) fs.chmodSync(full, spec.mode);
    }
  }
  return root;
}

/**
 * Mount `state` read-only at /in of a busybox container and run `script` (cwd /in); what the script
 * prints to stdout is returned. A non-zero exit fails the solve (and so the test).
 */
export async function inspect(env: TestEnv, state: StateSpec, script: string, localDirs: Record<string, string> = {}): Promise<string> {
  const build = (sessionId: string) => image(env.images.amd64).run({
    shell: `set -e\n{\n${script}\n} > /out/report`,
    cwd: '/in',
    mounts: [
      { target: '/in', from: typeof state === 'function' ? state(sessionId) : state, readonly: true },
      { target: '/out', from: scratch() },
    ],
  }).getMount('/out');
  const files = await exportTar(env, build, localDirs);
  const report = files.get('report');
  if (!report) throw new Error(`inspect: no report in the export (got ${[...files.keys()].join(', ')})`);
  return report.data.toString('utf8');
}

/** `stat` lines `<path> <uid>:<gid> <octal mode> <type>` for each path (missing paths: `<path> missing`). */
export async function statPaths(env: TestEnv, state: StateSpec, paths: string[], localDirs: Record<string, string> = {}): Promise<Record<string, string>> {
  const q = (p: string) => `'${p.replace(/'/g, `'\\''`)}'`;
  const script = paths.map((p) => `if [ -e ${q(p)} ] || [ -L ${q(p)} ]; then stat -c '%n %u:%g %a %F' ${q(p)}; else echo ${q(p)} missing; fi`).join('\n');
  const text = await inspect(env, state, script, localDirs);
  const out: Record<string, string> = {};
  for (const line of text.split('\n').filter(Boolean)) {
    const sp = line.indexOf(' ');
    out[line.slice(0, sp)] = line.slice(sp + 1);
  }
  return out;
}

/** Entry by path or a readable failure listing what the export holds. */
export function entry(files: Map<string, TarReadEntry>, p: string): TarReadEntry {
  const e = files.get(p);
  if (!e) throw new Error(`expected ${p} in the result; it holds: ${[...files.keys()].sort().join(', ')}`);
  return e;
}
