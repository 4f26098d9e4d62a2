/** Stage dockerInstructions (werf stapel_docker_instructions.go): the `docker` directive, config only. */
import type { DockerDirective } from '../config/model';
import { mapToSortedArgs, sha256Hash } from './hash';
import { gitAfterPatch } from './git-stages';
import { cloneConfig, commandValue, parseHealthcheck, portKey, setEnv } from './image-config';
import type { DigestPart, StageImpl } from './types';

/** werf's prepareCommand: a list becomes `["a", "b"]` (no escaping), `[]` when empty. */
export function dockerCommandString(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  if (!Array.isArray(v)) return v;
  return v.length === 0 ? '[]' : `["${v.join('", "')}"]`;
}

/** CMD and ENTRYPOINT as werf's config holds them: ENTRYPOINT without CMD resets CMD to `[]`. */
export function dockerCommands(d: DockerDirective): { cmd: string; entrypoint: string } {
  const entrypoint = dockerCommandString(d.ENTRYPOINT);
  let cmd = dockerCommandString(d.CMD);
  if (entrypoint !== '' && cmd === '') cmd = '[]';
  return { cmd, entrypoint };
}

export const dockerInstructionsStage: StageImpl = {
  name: 'dockerInstructions',
  gitBearing: false,
  configOnly: true,
  exists: (image) => image.docker !== undefined && gitAfterPatch(image),
  isEmpty: () => false,
  dependencies(ctx) {
    const d = ctx.image.docker!;
    const { cmd, entrypoint } = dockerCommands(d);
    const parts: DigestPart[] = [];
    if (d.exactValues) parts.push({ name: 'exactValues', value: 'exact-values:::' });
    d.VOLUME.forEach((v, i) => parts.push({ name: `VOLUME[${i}]`, value: v }));
    d.EXPOSE.forEach((v, i) => parts.push({ name: `EXPOSE[${i}]`, value: v }));
    for (const v of mapToSortedArgs(d.ENV)) parts.push({ name: 'ENV', value: v });
    for (const v of mapToSortedArgs(d.LABEL)) parts.push({ name: 'LABEL', value: v });
    parts.push({ name: 'CMD', value: cmd }, { name: 'ENTRYPOINT', value: entrypoint }, { name: 'WORKDIR', value: d.WORKDIR ?? '' }, { name: 'USER', value: d.USER ?? '' }, { name: 'HEALTHCHECK', value: d.HEALTHCHECK ?? '' });
    return { value: sha256Hash(...parts.map((p) => p.value)), parts };
  },
  llb: (_ctx, prev) => prev,
  imageConfig(ctx, prevConfig) {
    const d = ctx.image.docker!;
    const out = cloneConfig(prevConfig);
    const c = (out.config ??= {});
    for (const v of d.VOLUME) c.Volumes = { ...(c.Volumes ?? {}), [v]: {} };
    for (const p of d.EXPOSE) c.ExposedPorts = { ...(c.ExposedPorts ?? {}), [portKey(p)]: {} };
    let env = c.Env ?? [];
    for (const [k, v] of Object.entries(d.ENV)) env = setEnv(env, k, v);
    if (Object.keys(d.ENV).length) c.Env = env;
    if (Object.keys(d.LABEL).length) c.Labels = { ...(c.Labels ?? {}), ...d.LABEL };
    const { cmd, entrypoint } = dockerCommands(d);
    if (cmd !== '') c.Cmd = commandValue(cmd);
    if (entrypoint !== '') c.Entrypoint = commandValue(entrypoint);
    if (d.WORKDIR) c.WorkingDir = d.WORKDIR;
    if (d.USER) c.User = d.USER;
    if (d.HEALTHCHECK) c.Healthcheck = parseHealthcheck(d.HEALTHCHECK);
    return out;
  },
};
