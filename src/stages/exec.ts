/**
 * The one exec of a user stage: werf's shell builder script run as 0:0 in `/` with the image's env,
 * build mounts (tmp_dir → tmpfs, build_dir → a project-scoped cache mount, fromPath → a bind of a
 * session source), secrets at /run/secrets/<id>, the ssh agent at /.werf/tmp/ssh-auth-sock, and
 * WERF_COMMIT_* from a session secret. Nothing here depends on a value that is not a digest input
 * (the commit, secret values, session ids), so BuildKit reuses the exec exactly when werf would.
 */
import { mkfile, rm, scratch, type MountSpec, type OpOptions, type State } from '../llb';
import type { OciImageConfig } from '../build/gateway';
import { formatPos } from '../errors';
import { imageLabel, type Pos, type StapelImage } from '../config/model';
import { COMMIT_ENV_PATH, COMMIT_ENV_SECRET_ID, SCRIPT_DIR, SCRIPT_PATH, SSH_AUTH_SOCK_PATH, makeScript } from './script';
import { mergedMounts } from './labels';
import type { LlbInputs, StageName } from './types';

/** werf's slug of a mount point, enough to name a cache: `/var/cache/apt` → `var-cache-apt`. */
export function mountSlug(to: string): string {
  const s = to.replace(/^\/+/, '').replace(/[^A-Za-z0-9._-]+/g, '-');
  return s === '' ? 'root' : s;
}

export function buildDirCacheId(project: string, to: string): string {
  return `stapelkit/${project}/build_dir/${mountSlug(to)}`;
}

export function opName(image: StapelImage, stage: StageName, what?: string): string {
  return `${imageLabel(image)}, stage ${stage}${what ? `: ${what}` : ''}`;
}

export function opDescription(image: StapelImage, stage: StageName, pos: Pos | undefined): Record<string, string> {
  const d: Record<string, string> = { 'stapelkit.image': image.name, 'stapelkit.stage': stage };
  if (pos) d['stapelkit.pos'] = formatPos(pos).replace(/: $/, '');
  return d;
}

/** Op options of a stage's op: progress name, description, and the werf.yaml position as an LLB source location. */
export function opOptions(image: StapelImage, stage: StageName, what: string | undefined, pos: Pos | undefined, inputs: LlbInputs): OpOptions {
  const o: OpOptions = { customName: opName(image, stage, what), description: opDescription(image, stage, pos) };
  const loc = pos && inputs.location?.(pos);
  if (loc) o.location = loc;
  return o;
}

export interface UserExecOptions {
  image: StapelImage;
  project: string;
  stage: StageName;
  commands: readonly string[];
  prevLabels: Record<string, string> | undefined;
  config: OciImageConfig;
  inputs: LlbInputs;
  pos?: Pos;
}

/** Runs the stage's commands on `fs`; returns the root after the run. */
export function runUserCommands(fs: State, o: UserExecOptions): State {
  const delivery = o.inputs.commitEnv ?? { mode: 'secret' };
  const script = makeScript(o.commands, { sourceCommitEnv: delivery.mode === 'secret' });
  const scriptState = scratch().file(mkfile('/script.sh', 0o555, script), opOptions(o.image, o.stage, 'script', o.pos, o.inputs));

  const mounts: MountSpec[] = [{ target: SCRIPT_DIR, from: scriptState, readonly: true }];
  const set = mergedMounts(o.prevLabels, o.image.mounts);
  for (const to of set.tmpDir) mounts.push({ type: 'tmpfs', target: to });
  for (const to of set.buildDir) mounts.push({ type: 'cache', target: to, id: buildDirCacheId(o.project, to), sharing: 'shared' });
  for (const [from, pts] of set.custom) {
    const name = o.inputs.mountSourceName ? o.inputs.mountSourceName(from) : `mount:${from}`;
    for (const to of pts) mounts.push({ target: to, from: o.inputs.local(name), noOutput: true });
  }
  for (const s of o.image.secrets) mounts.push({ type: 'secret', id: s.id, target: `/run/secrets/${s.id}` });
  if (delivery.mode === 'secret') mounts.push({ type: 'secret', id: delivery.id ?? COMMIT_ENV_SECRET_ID, target: COMMIT_ENV_PATH, optional: true });
  if (o.inputs.ssh) mounts.push({ type: 'ssh', id: o.inputs.ssh.id ?? '', target: SSH_AUTH_SOCK_PATH });

  let st = fs.withEnv(o.config.config?.Env ?? []).user('0:0').dir('/');
  if (delivery.mode === 'env') {
    st = st.addEnv('WERF_COMMIT_HASH', delivery.hash).addEnv('WERF_COMMIT_TIME_HUMAN', delivery.timeHuman).addEnv('WERF_COMMIT_TIME_UNIX', delivery.timeUnix);
  }
  if (o.inputs.ssh) st = st.addEnv('SSH_AUTH_SOCK', SSH_AUTH_SOCK_PATH);
  if (o.image.network === 'host' || o.image.network === 'none') st = st.network(o.image.network);
  const root = st
    .run({
      args: ['sh', SCRIPT_PATH],
      mounts,
      ...opOptions(o.image, o.stage, undefined, o.pos, o.inputs),
    })
    .root();
  // BuildKit < v0.10 leaves mount points it created as empty stubs: drop the ones under werf's
  // /.werf (the directory itself stays, as in werf-built images).
  let clean = rm(SCRIPT_DIR, { allowNotFound: true }).rm(COMMIT_ENV_PATH, { allowNotFound: true });
  if (o.inputs.ssh) clean = clean.rm(SSH_AUTH_SOCK_PATH.slice(0, SSH_AUTH_SOCK_PATH.lastIndexOf('/')), { allowNotFound: true });
  return root.file(clean, opOptions(o.image, o.stage, 'clean mount stubs', o.pos, o.inputs));
}
