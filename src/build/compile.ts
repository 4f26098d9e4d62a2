/**
 * The pure half of `stapelkit compile`: the selected images' final States joined into one graph,
 * what that graph needs from whoever solves it (`--local`, `--secret`, `--ssh` for buildctl), and
 * the readable JSON dump. The I/O shell is compile-run.ts.
 */
import type * as protobuf from 'protobufjs';
import { copy, scratch, type Definition, type FileAction, type State } from '../llb';
import { messageType } from '../proto';
import { forEachWireField, wireString } from '../llb/wirescan';
import { dumpDefinition, type DumpedOp } from '../cli/commands/debug';

export interface CompiledResult {
  /** werf image name ('' for the unnamed image). */
  image: string;
  platform: string;
  state: State;
}

/** Directory of one result in the joined graph: `/<image>` or, with several platforms, `/<image>/<os>-<arch>[-<variant>]`. */
export function resultDir(r: Pick<CompiledResult, 'image' | 'platform'>, multiPlatform: boolean): string {
  const name = r.image === '' ? '~' : r.image;
  return multiPlatform ? `/${name}/${r.platform.replaceAll('/', '-')}` : `/${name}`;
}

/**
 * One root for everything selected. A single result is the graph itself (buildctl's image exporter
 * then gives exactly that image). Several: BuildKit solves only the first input of the terminal op
 * and v0.8 has no MergeOp, so one FileOp copies each result into its own directory of a scratch
 * (in name/platform order) — `--output type=local` gives one directory per image. Images linked by
 * fromImage/import/dependencies already share their ops inside the graph.
 */
export function joinResults(results: readonly CompiledResult[]): State {
  if (results.length === 0) return scratch();
  if (results.length === 1) return results[0].state;
  const multiPlatform = new Set(results.map((r) => r.platform)).size > 1;
  const sorted = [...results].sort((a, b) => (a.image === b.image ? cmp(a.platform, b.platform) : cmp(a.image, b.image)));
  let action: FileAction | undefined;
  for (const r of sorted) {
    const dest = resultDir(r, multiPlatform);
    action = action ? action.copy(r.state, '/', dest, { dirCopyContents: true, createDestPath: true }) : copy(r.state, '/', dest, { dirCopyContents: true, createDestPath: true });
  }
  return scratch().file(action!, { customName: `[stapelkit] ${sorted.length} images: ${sorted.map((r) => resultDir(r, multiPlatform).slice(1)).join(', ')}` });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface GraphNeeds {
  /** `local://NAME` sources, sorted. */
  locals: string[];
  /** Secret ids of exec secret mounts and secret env, sorted. */
  secrets: string[];
  /** SSH ids of exec ssh mounts, sorted. */
  ssh: string[];
}

const MOUNT_SECRET = 1;
const MOUNT_SSH = 2;

// pb field numbers read here (ops.proto): Op.exec 2, Op.source 3; SourceOp.identifier 1;
// ExecOp.mounts 2, ExecOp.secretenv 5; Mount.mountType 6, .secretOpt 21, .SSHOpt 22; *.ID 1.
const OP_EXEC = 2;
const OP_SOURCE = 3;
const EXEC_MOUNTS = 2;
const EXEC_SECRETENV = 5;
const MOUNT_TYPE = 6;
const MOUNT_SECRET_OPT = 21;
const MOUNT_SSH_OPT = 22;

/** What a solver of `def` must provide through its session (read off the op bytes, no schema needed). */
export function graphNeeds(def: Definition): GraphNeeds {
  const locals = new Set<string>();
  const secrets = new Set<string>();
  const ssh = new Set<string>();
  for (const o of def.ops) {
    if (o.kind !== 'source' && o.kind !== 'exec') continue;
    forEachWireField(o.bytes, (field, _wire, _v, bytes) => {
      if (!bytes) return;
      if (field === OP_SOURCE) {
        const id = wireString(bytes, 1);
        if (id?.startsWith('local://')) locals.add(id.slice('local://'.length));
      } else if (field === OP_EXEC) {
        forEachWireField(bytes, (ef, _ew, _ev, eb) => {
          if (!eb) return;
          if (ef === EXEC_MOUNTS) mountNeeds(eb, secrets, ssh);
          else if (ef === EXEC_SECRETENV) {
            const id = wireString(eb, 1);
            if (id) secrets.add(id);
          }
        });
      }
    });
  }
  const sorted = (s: Set<string>) => [...s].sort(cmp);
  return { locals: sorted(locals), secrets: sorted(secrets), ssh: sorted(ssh) };
}

function mountNeeds(mount: Uint8Array, secrets: Set<string>, ssh: Set<string>): void {
  let type = 0;
  let secretId: string | undefined;
  let sshId: string | undefined;
  // A repeated sub-message field merges on decode: its last ID wins.
  forEachWireField(mount, (field, wire, varint, bytes) => {
    if (field === MOUNT_TYPE && wire === 0) type = varint;
    else if (field === MOUNT_SECRET_OPT && bytes) secretId = wireString(bytes, 1) ?? secretId;
    else if (field === MOUNT_SSH_OPT && bytes) sshId = wireString(bytes, 1) ?? sshId;
  });
  if (type === MOUNT_SECRET && secretId) secrets.add(secretId);
  if (type === MOUNT_SSH) ssh.add(sshId || 'default');
}

/** A shell word: as is when safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

export interface SolveFlagInputs {
  needs: GraphNeeds;
  /** Directory of each local. */
  localDir: (name: string) => string;
  /** buildctl's `--secret` value for an id (`id=X,src=FILE` or `id=X,env=VAR`), or undefined when unknown. */
  secret: (id: string) => string | undefined;
  /** buildctl's `--ssh` value for an id (`default`, `default=/sock`). */
  ssh: (id: string) => string;
}

/** The `buildctl build` flags the graph needs, one flag and value per entry, in a stable order. */
export function buildctlFlags(i: SolveFlagInputs): { flags: string[][]; unknownSecrets: string[] } {
  const flags: string[][] = [];
  const unknownSecrets: string[] = [];
  for (const n of i.needs.locals) flags.push(['--local', `${n}=${i.localDir(n)}`]);
  for (const id of i.needs.secrets) {
    const v = i.secret(id);
    if (v === undefined) unknownSecrets.push(id);
    else flags.push(['--secret', v]);
  }
  for (const id of i.needs.ssh) flags.push(['--ssh', i.ssh(id)]);
  return { flags, unknownSecrets };
}

export function formatBuildctlCommand(flags: string[][], definitionFile = 'definition.pb'): string {
  const lines = ['buildctl build'];
  for (const [f, v] of flags) lines.push(`${f} ${shellWord(v)}`);
  lines.push(`< ${shellWord(definitionFile)}`);
  return lines.map((l, k) => (k === 0 ? l : `    ${l}`)).join(' \\\n');
}

const SOURCE_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: Number, bytes: String, defaults: false, arrays: false, objects: false };

export interface CompileDump {
  /** Ops in `def` order: digest, kind, the decoded op (inputs, mounts, sources, file actions) and its OpMetadata. */
  ops: (DumpedOp & { Name?: string; Locations?: { file: string; ranges: unknown[] }[] })[];
  /** The files of the source map (werf.yaml, partials, Dockerfiles), without their text. */
  sources: { filename: string; language?: string; bytes: number }[];
  needs: GraphNeeds;
}

/** `--format json`: everything in the Definition, decoded, plus what the graph needs; stable key order. */
export function compileDump(def: Definition): CompileDump {
  const ops = dumpDefinition(def.toBytes());
  const names = new Map(def.ops.map((o) => [o.digest, o.name]));
  const src = def.source ? (messageType('pb.Source').toObject(messageType('pb.Source').fromObject(sourceObject(def)), SOURCE_OPTIONS) as Record<string, any>) : undefined;
  const infos: { filename: string; language?: string; data?: string }[] = src?.infos ?? [];
  return {
    ops: ops.map((o) => {
      const locs = src?.locations?.[o.Digest]?.locations as { sourceIndex?: number; ranges?: unknown[] }[] | undefined;
      return {
        ...o,
        ...(names.get(o.Digest) ? { Name: names.get(o.Digest) } : {}),
        ...(locs ? { Locations: locs.map((l) => ({ file: infos[l.sourceIndex ?? 0]?.filename ?? '', ranges: l.ranges ?? [] })) } : {}),
      };
    }),
    sources: infos.map((i) => ({ filename: i.filename, ...(i.language ? { language: i.language } : {}), bytes: i.data ? Buffer.from(i.data, 'base64').length : 0 })),
    needs: graphNeeds(def),
  };
}

function sourceObject(def: Definition): Record<string, unknown> {
  return (def.toObject().Source ?? {}) as Record<string, unknown>;
}

export function formatCompileJson(def: Definition): string {
  return JSON.stringify(compileDump(def), null, 2) + '\n';
}
