/**
 * Tiny hand-built LLB for harness self-tests (independent of src/llb): an image source and shell
 * execs, encoded with protobufjs. Self-consistent digests are all the daemon needs.
 */
import * as crypto from 'node:crypto';
import { encodeMessage, messageType } from '../../../src/proto';

export interface TinyOp {
  bytes: Buffer;
  digest: string;
}

const opType = () => messageType('pb.Op');
const digestOf = (b: Buffer) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export function tinyImage(ref: string, arch = 'amd64'): TinyOp {
  const bytes = encodeMessage(opType(), { source: { identifier: `docker-image://${ref.includes('/') && ref.split('/')[0].includes('.') ? ref : `docker.io/${ref}`}` }, platform: { Architecture: arch, OS: 'linux' }, constraints: {} });
  return { bytes, digest: digestOf(bytes) };
}

export interface TinyMount {
  dest: string;
  cache?: string;
  tmpfs?: boolean;
}

export function tinyExec(root: TinyOp, script: string, opts: { arch?: string; mounts?: TinyMount[]; env?: string[] } = {}): TinyOp {
  const mounts: Record<string, unknown>[] = [{ input: 0, dest: '/', output: 0 }];
  for (const m of [...(opts.mounts ?? [])].sort((a, b) => (a.dest < b.dest ? -1 : 1))) {
    if (m.cache) mounts.push({ input: -1, dest: m.dest, output: -1, mountType: 3, cacheOpt: { ID: m.cache } });
    else if (m.tmpfs) mounts.push({ input: -1, dest: m.dest, output: -1, mountType: 4 });
  }
  const bytes = encodeMessage(opType(), {
    inputs: [{ digest: root.digest }],
    exec: { meta: { args: ['/bin/sh', '-c', script], env: opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], cwd: '/' }, mounts },
    platform: { Architecture: opts.arch ?? 'amd64', OS: 'linux' },
    constraints: {},
  });
  return { bytes, digest: digestOf(bytes) };
}

/** Definition bytes for `ops` (in dependency order) ending in `last`; `ignoreCache` digests get meta.ignorecache. */
export function tinyDefinition(ops: TinyOp[], last: TinyOp, opts: { ignoreCache?: TinyOp[]; caps?: Record<string, string[]> } = {}): Buffer {
  const terminal = encodeMessage(opType(), { inputs: [{ digest: last.digest }] });
  const metadata: Record<string, unknown> = {};
  for (const op of ops) {
    const m: Record<string, unknown> = {};
    if (opts.ignoreCache?.some((o) => o.digest === op.digest)) m.ignore_cache = true;
    const caps = opts.caps?.[op.digest];
    if (caps) m.caps = Object.fromEntries(caps.map((c) => [c, true]));
    metadata[op.digest] = m;
  }
  return encodeMessage(messageType('pb.Definition'), { def: [...ops.map((o) => o.bytes), terminal], metadata });
}
