/**
 * COPY and ADD (BuildKit dispatchCopy): sources from the context, a stage or an image; globs and
 * directory-contents semantics through the FileOp copy flags; `--chown`, `--chmod`; heredoc
 * sources; ADD unpacks local archives and fetches URLs through an http source. `--link` becomes
 * copy-into-scratch + merge where the daemon has MergeOp, else (BuildKit v0.8) a plain copy, which
 * gives the same files.
 */
import { Cap, copy, http, merge, mkfile, scratch, type CopyOptions, type FileAction, type State } from '../../llb';
import { instructionError, type CopyCmd } from '../instructions';
import { chompHeredocContent, parseHeredocWord } from '../parser/parser';
import { ShellError, ShellLex } from '../parser/shell';
import { argMap, cleanAbs, commitToHistory, displayCommand, expand, expandWithMap, prefixCommand, stepOptions } from './util';
import type { DispatchContext, DispatchState } from './types';


function isURL(s: string): boolean {
  return s.startsWith('http://') || s.startsWith('https://');
}

/** The destination as BuildKit computes it: absolute, relative to WORKDIR, keeping a trailing `/`. */
export function copyDest(d: DispatchState, raw: string): string {
  const dir = d.state.getDir() ?? '/';
  let dest = cleanAbs(raw.startsWith('/') ? raw : `${dir}/${raw}`);
  if (raw === '.' || raw === '' || raw.endsWith('/')) dest += dest.endsWith('/') ? '' : '/';
  return dest;
}

/** Variables in a heredoc body expand; quotes and escapes stay as written. */
function expandHeredoc(ctx: DispatchContext, d: DispatchState, c: CopyCmd, data: string): string {
  try {
    return new ShellLex(ctx.escape, { rawQuotes: true, rawEscapes: true }).processWord(data, d.state.env());
  } catch (e) {
    if (e instanceof ShellError) throw instructionError(ctx.file, c.node, `heredoc: ${e.message}`);
    throw e;
  }
}

export function dispatchCopy(ctx: DispatchContext, d: DispatchState, c: CopyCmd): void {
  const isAdd = c.kind === 'add';
  const what = isAdd ? 'ADD' : 'COPY';
  let source: State = ctx.context;
  if (c.from !== undefined) {
    const from = expandWithMap(ctx, c.from, argMap(ctx.metaArgs), c.node, c.flags.pos('from'));
    source = ctx.stageFor(from, c.node, c.flags.pos('from')).state;
  }
  const rawDest = expand(ctx, d, c.dest, c.node);
  const dest = copyDest(d, rawDest);
  const owner = c.chown !== undefined ? expand(ctx, d, c.chown, c.node, c.flags.pos('chown')) : undefined;
  let mode: number | undefined;
  if (c.chmod !== undefined) {
    const m = expand(ctx, d, c.chmod, c.node, c.flags.pos('chmod'));
    if (!/^[0-7]{1,4}$/.test(m)) throw instructionError(ctx.file, c.node, `invalid chmod parameter "${m}": an octal mode like 0755 is expected`, c.flags.pos('chmod'));
    mode = parseInt(m, 8);
  }
  const ownerOpt: Partial<CopyOptions> = owner ? { owner } : {};

  let a: FileAction | undefined;
  const add = (from: State, src: string, opts: CopyOptions) => {
    a = a ? a.copy(from, src, dest, opts) : copy(from, src, dest, opts);
  };
  let msg = what;
  const heredocs = new Map(c.heredocs.map((h) => [h.name, h]));
  for (const rawSrc of c.sources) {
    const hd = parseHeredocWord(rawSrc);
    if (hd && heredocs.has(hd.name)) {
      const doc = heredocs.get(hd.name)!;
      msg += ' <<' + doc.name;
      let data = doc.content;
      if (doc.chomp) data = chompHeredocContent(data);
      if (doc.expand) data = expandHeredoc(ctx, d, c, data);
      const st = scratch().dir('/').file(mkfile(doc.name, 0o664, data), { customName: '[internal] preparing inline document' });
      add(st, doc.name, { mode, createDestPath: true, ...ownerOpt });
      continue;
    }
    const src = expand(ctx, d, rawSrc, c.node);
    msg += ' ' + src;
    if (isURL(src)) {
      if (!isAdd) throw instructionError(ctx.file, c.node, "source can't be a URL for COPY");
      if (c.from !== undefined) throw instructionError(ctx.file, c.node, 'ADD URL sources cannot be combined with --from');
      let f = '__unnamed__';
      try {
        const base = new URL(src).pathname.split('/').filter(Boolean).pop();
        if (base) f = base;
      } catch {
        /* keep the default name */
      }
      const st = http(src, { filename: f, ...(c.checksum ? { checksum: c.checksum } : {}), customName: `[internal] download ${src}` });
      add(st, f, { mode, createDestPath: true, ...ownerOpt });
      continue;
    }
    add(source, cleanAbs(src), {
      mode,
      followSymlinks: true,
      dirCopyContents: true,
      attemptUnpack: isAdd && c.from === undefined,
      createDestPath: true,
      allowWildcard: true,
      allowEmptyWildcard: true,
      ...ownerOpt,
    });
  }
  msg += ' ' + rawDest;
  if (!a) throw instructionError(ctx.file, c.node, `${what} has no sources`);
  const name = prefixCommand(ctx, d, displayCommand(ctx, d, c.node));
  const opOpts = { ...stepOptions(ctx, d, c, name), platform: d.platform };
  const namedOwner = owner !== undefined && owner.split(':').some((p) => p !== '' && !/^\d+$/.test(p));
  const canMerge = !ctx.caps || ctx.caps.has(Cap.MergeOp);
  if (c.link && canMerge && mode === undefined && !namedOwner) {
    const layer = scratch().platform(d.platform).file(a, opOpts);
    d.state = d.state.withOutput(merge([d.state, layer], { customName: prefixCommandLink(name) }).output);
  } else {
    d.state = d.state.file(a, opOpts);
  }
  commitToHistory(d, msg, true, true);
}

function prefixCommandLink(name: string): string {
  const i = name.indexOf('] ');
  return i < 0 ? 'LINK ' + name : name.slice(0, i + 2) + 'LINK ' + name.slice(i + 2);
}
