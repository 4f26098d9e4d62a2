/**
 * RUN (BuildKit dispatchRun + runmount): shell and exec forms, heredocs (a lone `<<EOF` runs its
 * body; a `#!` body becomes a mounted script; anything else goes to the shell whole), `--mount`
 * bind/cache/tmpfs/secret/ssh with all their options, `--network`, `--security`.
 */
import { Cap, mkdir, mkfile, scratch, type MountSpec, type RunOptions } from '../../llb';
import { instructionError, type RunCmd } from '../instructions';
import { chompHeredocContent, parseHeredocWord, type Pos } from '../parser/parser';
import { argMap, cleanAbs, commitToHistory, displayCommand, envMap, expandWithMap, prefixCommand, stepOptions, withShell } from './util';
import type { DispatchContext, DispatchState } from './types';
import { ShellError } from '../parser/shell';

export interface ParsedMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  from?: string;
  source?: string;
  target?: string;
  readonly: boolean;
  id?: string;
  sharing?: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  required: boolean;
  env?: string;
}

class MountError extends Error {}

/** encoding/csv for one record: fields split at commas, double quotes group. */
function csvFields(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quoted) {
      if (ch === '"') {
        if (s[i + 1] === '"') {
          cur += '"';
          i++;
        } else quoted = false;
      } else cur += ch;
    } else if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) throw new MountError(`parse error: extraneous or missing " in quoted-field`);
  out.push(cur);
  return out;
}

function parseBool(key: string, v: string): boolean {
  const l = v.toLowerCase();
  if (['1', 't', 'true'].includes(l)) return true;
  if (['0', 'f', 'false'].includes(l)) return false;
  throw new MountError(`invalid value for ${key}: ${v}`);
}

/** units.RAMInBytes: `64m`, `1g`, `512k`, bytes. */
function ramInBytes(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?$/.exec(v);
  if (!m) throw new MountError(`invalid size: '${v}'`);
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.floor(Number(m[1]) * mult[m[2].toLowerCase()]);
}

/** parseMount: one `--mount` value (variables already expandable through `expand`). */
export function parseMount(value: string, expandValue: (v: string) => string): ParsedMount {
  const m: ParsedMount = { type: 'bind', readonly: false, required: false };
  let roAuto = true;
  for (const field of csvFields(value)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    if (eq < 0) {
      if (key === 'readonly' || key === 'ro') {
        m.readonly = true;
        roAuto = false;
        continue;
      }
      if (key === 'readwrite' || key === 'rw') {
        m.readonly = false;
        roAuto = false;
        continue;
      }
      if (key === 'required') {
        if (m.type !== 'secret' && m.type !== 'ssh') throw new MountError(`unexpected key 'required' for mount type '${m.type}'`);
        m.required = true;
        continue;
      }
      throw new MountError(`invalid field '${field}' must be a key=value pair`);
    }
    const v = expandValue(field.slice(eq + 1));
    switch (key) {
      case 'type': {
        const t = v.toLowerCase();
        if (!['bind', 'cache', 'tmpfs', 'secret', 'ssh'].includes(t)) throw new MountError(`unsupported mount type "${v}"`);
        m.type = t as ParsedMount['type'];
        break;
      }
      case 'from':
        m.from = v;
        break;
      case 'source':
      case 'src':
        m.source = v;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = v;
        break;
      case 'readonly':
      case 'ro':
        m.readonly = parseBool(key, v);
        roAuto = false;
        break;
      case 'readwrite':
      case 'rw':
        m.readonly = !parseBool(key, v);
        roAuto = false;
        break;
      case 'required':
        if (m.type !== 'secret' && m.type !== 'ssh') throw new MountError(`unexpected key 'required' for mount type '${m.type}'`);
        m.required = parseBool(key, v);
        break;
      case 'id':
        m.id = v;
        break;
      case 'sharing': {
        if (m.type !== 'cache') throw new MountError(`invalid cache sharing set for ${m.type} mount`);
        const s = v.toLowerCase();
        if (s !== 'shared' && s !== 'private' && s !== 'locked') throw new MountError(`unsupported sharing value "${v}"`);
        m.sharing = s;
        break;
      }
      case 'mode':
        if (!/^[0-7]+$/.test(v)) throw new MountError(`invalid mode '${v}' (octal expected)`);
        m.mode = parseInt(v, 8);
        break;
      case 'uid':
      case 'gid':
        if (!/^\d+$/.test(v)) throw new MountError(`invalid ${key} '${v}'`);
        m[key] = Number(v);
        break;
      case 'size':
        if (m.type !== 'tmpfs') throw new MountError(`unexpected key 'size' for mount type '${m.type}'`);
        m.size = ramInBytes(v);
        break;
      case 'env':
        if (m.type !== 'secret') throw new MountError(`unexpected key 'env' for mount type '${m.type}'`);
        m.env = v;
        break;
      default:
        throw new MountError(`unexpected key '${key}' in '${field}'`);
    }
  }
  const fileInfoAllowed = m.type === 'secret' || m.type === 'ssh' || m.type === 'cache';
  if (!fileInfoAllowed) {
    if (m.mode !== undefined) throw new MountError(`mode not allowed for "${m.type}" type mounts`);
    if (m.uid !== undefined) throw new MountError(`uid not allowed for "${m.type}" type mounts`);
    if (m.gid !== undefined) throw new MountError(`gid not allowed for "${m.type}" type mounts`);
  }
  if (roAuto) m.readonly = !(m.type === 'cache' || m.type === 'tmpfs');
  if (m.type === 'secret') {
    if (m.from !== undefined) throw new MountError('secret mount should not have a from');
    if (!m.source && !m.target && !m.id && !m.env) throw new MountError('invalid secret mount. one of source, target required');
    if (m.source && m.id) throw new MountError("both source and id can't be set");
  }
  if ((m.type === 'bind' || m.type === 'cache' || m.type === 'tmpfs') && !m.target) throw new MountError(`mount type ${m.type} requires a target (target=/path)`);
  return m;
}

function baseName(p: string): string {
  const t = p.replace(/\/+$/, '');
  return t.slice(t.lastIndexOf('/') + 1) || '/';
}


function summarizeHeredoc(doc: string): string {
  const lines = doc.trim().replace(/\r\n/g, '\n').split('\n');
  return lines[0] + (lines.length > 1 ? '...' : '');
}

export function mountSpecs(ctx: DispatchContext, d: DispatchState, c: RunCmd): MountSpec[] {
  const out: MountSpec[] = [];
  const metaEnv = argMap(ctx.metaArgs);
  const env = envMap(d.state.env());
  c.mounts.forEach((raw, i) => {
    const pos: Pos | undefined = c.flags.pos('mount');
    let m: ParsedMount;
    try {
      m = parseMount(raw, (v) => ctx.shlex.processWord(v, env));
    } catch (e) {
      if (e instanceof MountError || e instanceof ShellError) throw instructionError(ctx.file, c.node, `--mount (#${i + 1}): ${e.message}`, pos);
      throw e;
    }
    if (m.type === 'secret') {
      let id = m.source || m.id || '';
      if (!id) id = baseName(m.target!);
      const target = m.target || '/run/secrets/' + baseName(id);
      if (m.env && !m.target) throw instructionError(ctx.file, c.node, '--mount type=secret,env= needs BuildKit ≥ v0.14 (secret as env var); use a target file', pos);
      out.push({ type: 'secret', id, target, optional: !m.required && !ctx.opts.requiredSecrets?.has(id), uid: m.uid, gid: m.gid, mode: m.mode ?? 0o400 });
      return;
    }
    if (m.type === 'ssh') {
      out.push({ type: 'ssh', id: m.id ?? '', target: m.target, optional: !m.required && !ctx.opts.requiredSsh?.has(m.id || 'default'), uid: m.uid, gid: m.gid, mode: m.mode ?? 0o600 });
      return;
    }
    let target = m.target!;
    if (!target.startsWith('/')) target = cleanAbs((d.state.getDir() ?? '/') + '/' + target);
    else target = cleanAbs(target);
    if (target === '/') throw instructionError(ctx.file, c.node, `invalid mount target "${m.target}"`, pos);
    const fromState = m.from !== undefined ? ctx.stageFor(expandWithMap(ctx, m.from, metaEnv, c.node, pos), c.node, pos).state : ctx.context;
    const src = m.source !== undefined ? cleanAbs(m.source) : '/';
    if (m.type === 'tmpfs') {
      if (m.size !== undefined && ctx.caps && !ctx.caps.has(Cap.ExecMountTmpfsSize)) {
        throw instructionError(ctx.file, c.node, `--mount type=tmpfs,size= needs BuildKit cap ${Cap.ExecMountTmpfsSize}, which this daemon lacks (BuildKit v0.8 mounts tmpfs without a size limit; drop size=)`, pos);
      }
      out.push({ type: 'tmpfs', target, size: m.size });
      return;
    }
    if (m.type === 'cache') {
      const cacheId = m.id ? m.id : m.target!.startsWith('/') ? cleanAbs(m.target!) : m.target!.replace(/\/+$/, '');
      let from = m.from !== undefined ? fromState : undefined;
      let selector = src !== '/' ? src : undefined;
      if (selector === undefined && (m.uid !== undefined || m.gid !== undefined || m.mode !== undefined)) {
        from = scratch().file(mkdir('/cache', m.mode ?? 0o755, { owner: { user: m.uid ?? 0, group: m.gid ?? 0 } }), { customName: '[internal] setting cache mount permissions' });
        selector = '/cache';
      }
      out.push({ type: 'cache', target, id: `${ctx.opts.cacheMountNamespace ?? ''}/${cacheId}`, sharing: m.sharing ?? 'shared', from, selector });
      return;
    }
    // bind
    const noOutput = !m.readonly && (!ctx.caps || ctx.caps.has(Cap.ExecMountBindReadWriteNoOutput));
    if (!m.readonly && !noOutput) throw instructionError(ctx.file, c.node, `a writable bind mount needs BuildKit cap ${Cap.ExecMountBindReadWriteNoOutput}, which this daemon lacks`, pos);
    out.push({ type: 'bind', target, from: fromState, selector: src !== '/' ? src : undefined, readonly: m.readonly, noOutput });
  });
  return out;
}

export function dispatchRun(ctx: DispatchContext, d: DispatchState, c: RunCmd): void {
  let args: string[] = c.cmd.json ? [...c.cmd.args] : [c.cmd.shell];
  const runOpts: RunOptions = { args: [] };
  let suffix = '';
  const mounts = mountSpecs(ctx, d, c);
  if (c.heredocs.length > 0) {
    if (c.cmd.json) throw instructionError(ctx.file, c.node, 'heredocs are only supported in the shell form of RUN');
    const h = parseHeredocWord(args[0]);
    if (h && h.name === c.heredocs[0].name && args[0].trim() === args[0]) {
      const doc = c.heredocs[0];
      let data = doc.content;
      if (doc.chomp) data = chompHeredocContent(data);
      if (data.startsWith('#!')) {
        const script = scratch().dir('/').file(mkfile(doc.name, 0o755, data), { customName: '[internal] preparing inline document' });
        mounts.push({ type: 'bind', target: '/dev/pipes/', from: script, selector: '/', readonly: true });
        args = ['/dev/pipes/' + doc.name];
        c = { ...c, cmd: { json: true, args } };
      } else args = [data];
      suffix = ` (${summarizeHeredoc(doc.content)})`;
    } else {
      let full = args[0];
      for (const f of c.heredocs) full += '\n' + f.content + f.name;
      args = [full];
    }
  }
  if (!c.cmd.json) args = withShell(d, args);
  runOpts.args = args;
  runOpts.mounts = mounts;
  if (c.network !== undefined) {
    const n = c.network === 'default' ? 'sandbox' : c.network;
    if (n !== 'sandbox' && n !== 'none' && n !== 'host') throw instructionError(ctx.file, c.node, `unsupported network mode "${c.network}" (use default, none or host)`, c.flags.pos('network'));
    runOpts.network = n;
  } else if (ctx.opts.network && ctx.opts.network !== 'sandbox') runOpts.network = ctx.opts.network;
  if (c.security !== undefined) {
    if (c.security !== 'insecure' && c.security !== 'sandbox') throw instructionError(ctx.file, c.node, `unsupported security mode "${c.security}" (use sandbox or insecure)`, c.flags.pos('security'));
    runOpts.security = c.security;
  }
  if (ctx.opts.extraHosts?.length) runOpts.extraHosts = ctx.opts.extraHosts;
  const name = prefixCommand(ctx, d, displayCommand(ctx, d, c.node) + suffix);
  Object.assign(runOpts, stepOptions(ctx, d, c, name), { platform: d.platform });
  d.state = d.state.run(runOpts).root();
  commitToHistory(d, 'RUN ' + runCommandString(args, d.buildArgs, envMap(d.state.env())), true, true);
}

/** runCommandString: `|N K=V … argv` when the stage declared ARGs. */
function runCommandString(args: string[], buildArgs: { key: string; value?: string }[], env: Map<string, string>): string {
  const tmp = buildArgs.map((a) => `${a.key}=${env.has(a.key) ? env.get(a.key) : (a.value ?? '')}`);
  const pre = tmp.length ? [`|${tmp.length}`, ...tmp] : [];
  return [...pre, ...args].join(' ');
}

