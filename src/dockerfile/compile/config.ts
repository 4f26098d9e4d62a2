/**
 * Instructions that change the image config and the state's settings, not its files (BuildKit
 * dispatchEnv/Label/Arg/User/Workdir/Expose/Volume/Cmd/Entrypoint/Shell/Healthcheck/StopSignal/
 * OnBuild/Maintainer). WORKDIR also makes the directory (a FileOp mkdir), as BuildKit does.
 */
import { mkdir } from '../../llb';
import { instructionError, type ArgCmd, type CmdCmd, type EnvCmd, type HealthcheckCmd, type ListCmd, type OnbuildCmd, type ShellCmd, type StringCmd } from '../instructions';
import { addImageEnv, commitToHistory, displayCommand, expand, goDuration, goList, goQuoteList, parseGoDuration, prefixCommand, stepOptions, withShell } from './util';
import type { DispatchContext, DispatchState } from './types';

export function dispatchEnv(ctx: DispatchContext, d: DispatchState, c: EnvCmd): void {
  // All pairs expand against the env before the instruction (Docker semantics).
  const pairs = c.pairs.map((p) => ({ key: expand(ctx, d, p.key, c.node), value: expand(ctx, d, p.value, c.node) }));
  if (c.kind === 'env') {
    let msg = 'ENV';
    for (const p of pairs) {
      if (p.key === '') throw instructionError(ctx.file, c.node, 'ENV names can not be blank');
      msg += ` ${p.key}=${p.value}`;
      d.state = d.state.addEnv(p.key, p.value);
      d.image.config.Env = addImageEnv(d.image.config.Env, p.key, p.value);
    }
    commitToHistory(d, msg, false, false);
    return;
  }
  let msg = 'LABEL';
  const labels = { ...(d.image.config.Labels ?? {}) };
  for (const p of pairs) {
    if (p.key === '') throw instructionError(ctx.file, c.node, 'LABEL names can not be blank');
    msg += ` ${p.key}=${p.value}`;
    labels[p.key] = p.value;
  }
  d.image.config.Labels = labels;
  commitToHistory(d, msg, false, false);
}

export function dispatchArg(ctx: DispatchContext, d: DispatchState, c: ArgCmd): void {
  const given = ctx.opts.buildArgs ?? {};
  for (const a of c.args) {
    let commit = 'ARG ' + a.key;
    let value = a.value !== undefined ? expand(ctx, d, a.value, c.node) : undefined;
    if (a.value !== undefined) commit += '=' + value;
    if (Object.prototype.hasOwnProperty.call(given, a.key)) {
      value = given[a.key];
      ctx.usedBuildArgs.add(a.key);
    } else if (value === undefined) {
      for (const m of ctx.metaArgs) if (m.key === a.key) value = m.value;
    }
    if (value !== undefined) d.state = d.state.addEnv(a.key, value);
    d.buildArgs.push({ key: a.key, value });
    commitToHistory(d, commit, false, false);
  }
}

export function dispatchUser(ctx: DispatchContext, d: DispatchState, c: StringCmd): void {
  const user = expand(ctx, d, c.value, c.node);
  d.state = d.state.user(user);
  d.image.config.User = user;
  commitToHistory(d, 'USER ' + user, false, false);
}

/** The workdir an image (or WORKDIR) sets, applied to state and config; mkdir when commit. */
export function applyWorkdir(ctx: DispatchContext, d: DispatchState, dir: string, commit?: StringCmd): void {
  d.state = d.state.dir(dir);
  let wd = dir;
  if (!dir.startsWith('/')) wd = joinAbs(d.image.config.WorkingDir ?? '/', dir);
  d.image.config.WorkingDir = wd;
  if (!commit) return;
  let withLayer = false;
  if (wd !== '/') {
    const user = d.image.config.User;
    const name = prefixCommand(ctx, d, displayCommand(ctx, d, commit.node));
    d.state = d.state.file(mkdir(wd, 0o755, { makeParents: true, ...(user ? { owner: user } : {}) }), { ...stepOptions(ctx, d, commit, name), platform: d.platform });
    withLayer = true;
  }
  commitToHistory(d, 'WORKDIR ' + wd, withLayer, false);
}

function joinAbs(base: string, rel: string): string {
  const parts: string[] = [];
  for (const p of `${base}/${rel}`.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

export function dispatchWorkdir(ctx: DispatchContext, d: DispatchState, c: StringCmd): void {
  const dir = expand(ctx, d, c.value, c.node);
  if (dir === '') throw instructionError(ctx.file, c.node, 'WORKDIR requires exactly one argument');
  applyWorkdir(ctx, d, dir, c);
}

const PORT_RE = /^(\d+)(?:-(\d+))?(?:\/([a-zA-Z]+))?$/;

/** nat.ParsePortSpecs for the forms EXPOSE takes: `80`, `80/udp`, `8000-8002/tcp`. */
function parsePorts(ctx: DispatchContext, c: ListCmd, ports: string[]): string[] {
  const out: string[] = [];
  for (const p of ports) {
    const m = PORT_RE.exec(p.includes(':') ? p.slice(p.lastIndexOf(':') + 1) : p);
    if (!m) throw instructionError(ctx.file, c.node, `invalid containerPort: ${p}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (hi < lo || hi > 65535) throw instructionError(ctx.file, c.node, `invalid range specified for port: ${p}`);
    for (let n = lo; n <= hi; n++) out.push(`${n}/${proto}`);
  }
  return out;
}

export function dispatchExpose(ctx: DispatchContext, d: DispatchState, c: ListCmd): void {
  const words: string[] = [];
  for (const v of c.values) words.push(...ctx.shlex.processWords(v, d.state.env()));
  const ports = parsePorts(ctx, c, words);
  const exposed = { ...(d.image.config.ExposedPorts ?? {}) } as Record<string, object>;
  for (const p of ports) exposed[p] = {};
  d.image.config.ExposedPorts = exposed;
  const set = [...new Set(ports)].sort();
  commitToHistory(d, `EXPOSE map[${set.map((p) => `${p}:{}`).join(' ')}]`, false, false);
}

export function dispatchVolume(ctx: DispatchContext, d: DispatchState, c: ListCmd): void {
  const vols = c.values.map((v) => expand(ctx, d, v, c.node));
  const volumes = { ...(d.image.config.Volumes ?? {}) } as Record<string, object>;
  for (const v of vols) {
    if (v.trim() === '') throw instructionError(ctx.file, c.node, 'VOLUME specified can not be an empty string');
    volumes[v] = {};
  }
  d.image.config.Volumes = volumes;
  commitToHistory(d, `VOLUME ${goList(vols)}`, false, false);
}

function commandArgs(d: DispatchState, c: CmdCmd): string[] {
  return c.cmd.json ? c.cmd.args : withShell(d, [c.cmd.shell]);
}

export function dispatchCmd(_ctx: DispatchContext, d: DispatchState, c: CmdCmd): void {
  const args = commandArgs(d, c);
  if (c.kind === 'cmd') {
    d.image.config.Cmd = args;
    d.cmdSet = true;
    commitToHistory(d, `CMD ${goQuoteList(args)}`, false, false);
  } else {
    d.image.config.Entrypoint = args;
    if (!d.cmdSet) d.image.config.Cmd = null;
    commitToHistory(d, `ENTRYPOINT ${goQuoteList(args)}`, false, false);
  }
}

export function dispatchShell(_ctx: DispatchContext, d: DispatchState, c: ShellCmd): void {
  d.image.config.Shell = [...c.shell];
  commitToHistory(d, `SHELL ${goList(c.shell)}`, false, false);
}

function durationFlag(ctx: DispatchContext, c: HealthcheckCmd, name: string, v: string | undefined): number {
  if (v === undefined || v === '') return 0;
  const ns = parseGoDuration(v);
  if (ns === undefined) throw instructionError(ctx.file, c.node, `time: invalid duration "${v}"`, c.flags.pos(name));
  if (ns <= 0) throw instructionError(ctx.file, c.node, `Interval "${name}" cannot be less or equal to 0`, c.flags.pos(name));
  if (ns < 1e6) throw instructionError(ctx.file, c.node, `Interval "${name}" cannot be less than 1ms`, c.flags.pos(name));
  return ns;
}

export function dispatchHealthcheck(ctx: DispatchContext, d: DispatchState, c: HealthcheckCmd): void {
  if (c.none) {
    d.image.config.Healthcheck = { Test: ['NONE'] };
    commitToHistory(d, `HEALTHCHECK &{["NONE"] "0s" "0s" "0s" '\\x00'}`, false, false);
    return;
  }
  const interval = durationFlag(ctx, c, 'interval', c.interval);
  const timeout = durationFlag(ctx, c, 'timeout', c.timeout);
  const startPeriod = durationFlag(ctx, c, 'start-period', c.startPeriod);
  let retries = 0;
  if (c.retries !== undefined && c.retries !== '') {
    if (!/^-?\d+$/.test(c.retries)) throw instructionError(ctx.file, c.node, `strconv.ParseInt: parsing "${c.retries}": invalid syntax`, c.flags.pos('retries'));
    retries = Number(c.retries);
    if (retries < 1) throw instructionError(ctx.file, c.node, '--retries cannot be less than 1', c.flags.pos('retries'));
  }
  const hc: NonNullable<DispatchState['image']['config']['Healthcheck']> = { Test: c.test };
  if (interval) hc.Interval = interval;
  if (timeout) hc.Timeout = timeout;
  if (startPeriod) hc.StartPeriod = startPeriod;
  if (retries) hc.Retries = retries;
  d.image.config.Healthcheck = hc;
  const r = retries < 0x20 ? `'\\x${retries.toString(16).padStart(2, '0')}'` : `'${String.fromCodePoint(retries)}'`;
  commitToHistory(d, `HEALTHCHECK &{${goQuoteList(c.test!)} "${goDuration(interval)}" "${goDuration(timeout)}" "${goDuration(startPeriod)}" ${r}}`, false, false);
}

export function dispatchStopSignal(ctx: DispatchContext, d: DispatchState, c: StringCmd): void {
  const sig = expand(ctx, d, c.value, c.node);
  if (!/^(SIG[A-Z0-9+-]+|\d+)$/.test(sig) && !/^[A-Z0-9]+$/.test(sig)) throw instructionError(ctx.file, c.node, `Invalid signal: ${sig}`);
  d.image.config.StopSignal = sig;
  commitToHistory(d, 'STOPSIGNAL ' + sig, false, false);
}

export function dispatchOnbuild(_ctx: DispatchContext, d: DispatchState, c: OnbuildCmd): void {
  // BuildKit v0.8 records the trigger in the config only (no history entry).
  d.image.config.OnBuild = [...(d.image.config.OnBuild ?? []), c.expression];
}

export function dispatchMaintainer(_ctx: DispatchContext, d: DispatchState, c: StringCmd): void {
  d.image.author = c.value;
  commitToHistory(d, 'MAINTAINER ' + c.value, false, false);
}
