/**
 * Stage imageSpec (werf pkg/build/stage/image_spec.go): a config-only edit of the previous stage's
 * config. The global build.imageSpec is merged in for final images (config effectiveImageSpec).
 */
import { effectiveImageSpec } from '../config/imagespec';
import type { ImageSpec } from '../config/model';
import { StapelkitError } from '../errors';
import { goBool, goSortStrings, mapToSortedArgs, sha256Hash } from './hash';
import { ESSENTIAL_LABELS } from './labels';
import { compileGoRegexp, type GoRegexp } from '../template/regexp';
import { SSH_AUTH_SOCK_PATH } from './script';
import { cloneConfig, expandWord, portKey } from './image-config';
import type { DigestPart, StageContext, StageImpl } from './types';

function spec(ctx: StageContext): ImageSpec {
  const s = effectiveImageSpec(ctx.model, ctx.image);
  if (!s) throw new StapelkitError('STAGE_PLAN', `image ${JSON.stringify(ctx.image.name)} has no imageSpec`);
  return s;
}

/** Go's fmt.Sprint of werf's *HealthConfig ({Test []string; Interval, Timeout, StartPeriod, Retries int}). */
export function goHealthcheckString(h: ImageSpec['config']['healthcheck']): string {
  if (!h) return '<nil>';
  return `&{[${h.test.join(' ')}] ${h.interval ?? 0} ${h.timeout ?? 0} ${h.startPeriod ?? 0} ${h.retries ?? 0}}`;
}

/**
 * werf's compileRemovePatterns + matchKey: exact names, or `/regex/` as the Go regexp
 * `^regex$` — spliced in without a group, as werf does (`/a|b/` is `^a|b$`).
 */
export function removeMatcher(patterns: readonly string[]): (key: string) => boolean {
  const exact = new Set<string>();
  const res: GoRegexp[] = [];
  for (const p of patterns) {
    if (p.length >= 2 && p.startsWith('/') && p.endsWith('/')) {
      try {
        res.push(compileGoRegexp(`^${p.slice(1, -1)}$`, false));
      } catch (e) {
        throw new StapelkitError('BAD_IMAGESPEC', `imageSpec: invalid regular expression ${p}: ${(e as Error).message}`, { cause: e });
      }
    } else exact.add(p);
  }
  return (k) => exact.has(k) || res.some((r) => r.test(k));
}

export const imageSpecStage: StageImpl = {
  name: 'imageSpec',
  gitBearing: false,
  configOnly: true,
  exists: (image, model) => effectiveImageSpec(model, image) !== undefined,
  isEmpty: () => false,
  dependencies(ctx) {
    const s = spec(ctx);
    const c = s.config;
    const parts: DigestPart[] = [];
    const add = (name: string, ...values: string[]) => values.forEach((value) => parts.push({ name, value }));
    add('author', s.author ?? '');
    add('clearHistory', goBool(s.clearHistory));
    add('cmd', (c.cmd ?? []).join(' '));
    add('entrypoint', (c.entrypoint ?? []).join(' '));
    add('env', ...mapToSortedArgs(c.env));
    add('expose', ...goSortStrings(c.expose));
    add('healthcheck', goHealthcheckString(c.healthcheck));
    add('labels', ...mapToSortedArgs(c.labels));
    add('stopSignal', c.stopSignal ?? '');
    add('user', c.user ?? '');
    add('volumes', ...goSortStrings(c.volumes));
    add('workingDir', c.workingDir ?? '');
    add('removeLabels', ...goSortStrings(c.removeLabels));
    add('removeVolumes', ...goSortStrings(c.removeVolumes));
    add('removeEnv', ...goSortStrings(c.removeEnv));
    add('keepEssentialWerfLabels', goBool(c.keepEssentialWerfLabels));
    add('clearCmd', goBool(c.clearCmd));
    add('clearEntrypoint', goBool(c.clearEntrypoint));
    add('clearUser', goBool(c.clearUser));
    add('clearWorkingDir', goBool(c.clearWorkingDir));
    return { value: sha256Hash(...parts.map((p) => p.value)), parts };
  },
  llb: (_ctx, prev) => prev,
  dropsLabel(ctx) {
    const drop = removeMatcher(spec(ctx).config.removeLabels);
    return (k) => drop(k) && !ESSENTIAL_LABELS.includes(k);
  },
  imageConfig(ctx, prevConfig) {
    const s = spec(ctx);
    const sc = s.config;
    const out = cloneConfig(prevConfig);
    const c = (out.config ??= {});

    // labels: removals (never the essential werf labels), then additions with %project% / %image%.
    const labels: Record<string, string> = { ...(c.Labels ?? {}) };
    const dropLabel = imageSpecStage.dropsLabel!(ctx);
    for (const k of Object.keys(labels)) if (dropLabel(k)) delete labels[k];
    const tpl = (v: string) => v.replaceAll('%project%', ctx.model.project).replaceAll('%image%', ctx.image.name);
    for (const [k, v] of Object.entries(sc.labels)) labels[tpl(k)] = tpl(v);
    c.Labels = labels;

    // env: removals (+ werf's commit vars and its ssh socket), then additions expanded against the original env.
    const original = c.Env ?? [];
    const dropEnv = removeMatcher([...sc.removeEnv, 'WERF_COMMIT_HASH', 'WERF_COMMIT_TIME_HUMAN', 'WERF_COMMIT_TIME_UNIX']);
    const envMap = new Map<string, string>();
    for (const e of original) {
      const i = e.indexOf('=');
      if (i > 0) envMap.set(e.slice(0, i), e.slice(i + 1));
    }
    for (const k of [...envMap.keys()]) if (dropEnv(k)) envMap.delete(k);
    if (envMap.get('SSH_AUTH_SOCK') === SSH_AUTH_SOCK_PATH) envMap.delete('SSH_AUTH_SOCK');
    for (const [k, v] of Object.entries(sc.env)) envMap.set(k, expandWord(v, original));
    // Go iterates a map here; keep the base order and append new keys sorted, for stable bytes.
    const env: string[] = [];
    const seen = new Set<string>();
    for (const e of original) {
      const k = e.slice(0, Math.max(0, e.indexOf('=')));
      if (envMap.has(k) && !seen.has(k)) {
        env.push(`${k}=${envMap.get(k)}`);
        seen.add(k);
      }
    }
    for (const k of goSortStrings([...envMap.keys()])) if (!seen.has(k)) env.push(`${k}=${envMap.get(k)}`);
    c.Env = env;

    const volumes: Record<string, object> = { ...(c.Volumes ?? {}) };
    for (const v of sc.removeVolumes) delete volumes[v];
    for (const v of sc.volumes) volumes[v] = {};
    c.Volumes = Object.keys(volumes).length ? volumes : undefined;
    if (sc.expose.length) c.ExposedPorts = Object.fromEntries(sc.expose.map((p) => [portKey(p), {}]));
    if (sc.healthcheck) {
      const sec = 1e9;
      c.Healthcheck = { Test: [...sc.healthcheck.test], Interval: (sc.healthcheck.interval ?? 0) * sec, Timeout: (sc.healthcheck.timeout ?? 0) * sec, StartPeriod: (sc.healthcheck.startPeriod ?? 0) * sec, Retries: sc.healthcheck.retries ?? 0 };
    }

    let clearCmd = sc.clearCmd;
    if (sc.entrypoint !== undefined) {
      c.Entrypoint = [...sc.entrypoint];
      if (sc.cmd === undefined) clearCmd = true; // Docker: a new ENTRYPOINT resets the inherited CMD
    }
    if (sc.cmd !== undefined) c.Cmd = [...sc.cmd];
    if (clearCmd) c.Cmd = null;
    if (sc.clearEntrypoint) c.Entrypoint = null;
    if (sc.user) c.User = sc.user;
    if (sc.clearUser) c.User = '';
    if (sc.workingDir) c.WorkingDir = sc.workingDir;
    if (sc.clearWorkingDir) c.WorkingDir = '';
    if (sc.stopSignal) c.StopSignal = sc.stopSignal;
    if (s.author !== undefined) out.author = s.author;
    if (s.clearHistory) out.history = [];
    return out;
  },
};
